/**
 * An error as it crosses from a worker thread: its message and the fields that say which system
 * call failed (`code`, `syscall`, `errno`, `path`), which the CLI turns into an exit code (a full
 * disk or an unwritable directory is the user's to fix, exit 52; anything else is a bug).
 */
export interface WireError {
  readonly message: string;
  readonly code?: string;
  readonly syscall?: string;
  readonly errno?: number;
  readonly path?: string;
}

export function errorToWire(err: unknown): WireError {
  if (!(err instanceof Error)) return { message: String(err) };
  const e = err as NodeJS.ErrnoException;
  const wire: { -readonly [K in keyof WireError]: WireError[K] } = { message: e.message };
  if (typeof e.code === 'string') wire.code = e.code;
  if (typeof e.syscall === 'string') wire.syscall = e.syscall;
  if (typeof e.errno === 'number') wire.errno = e.errno;
  if (typeof e.path === 'string') wire.path = e.path;
  return wire;
}

export function errorFromWire(wire: WireError): Error {
  return Object.assign(new Error(wire.message), {
    ...(wire.code !== undefined && { code: wire.code }),
    ...(wire.syscall !== undefined && { syscall: wire.syscall }),
    ...(wire.errno !== undefined && { errno: wire.errno }),
    ...(wire.path !== undefined && { path: wire.path }),
  });
}
