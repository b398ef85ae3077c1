/**
 * How a failed run ends: an exit code and one line for humans. Documented errors keep their code;
 * anything else is a bug (30, duplicity's "exception" code) and shows its stack only at debug.
 *
 * The one place that maps error TYPES to exit codes: the layers below throw their own typed
 * errors (a volume's SHA1 mismatch, a backend failure, an OpenPGP fault) and leave the code to
 * this table. Operations throw a PermafrostError with a code only when the code depends on where
 * the error happened (a plain parser or zlib error in a manifest, an OpenPGP fault in a key check,
 * a failed delta patch); those places say so.
 */
import { CorruptSignatureError } from '../archive/signature-reader.ts';
import { CorruptVolumeError, VolumeHashError } from '../archive/set-reader.ts';
import { DamagedCacheError, LockedError } from '../archive/metadata-cache.ts';
import { BackendError } from '../backend/backend.ts';
import { TargetUrlError } from '../backend/target-url.ts';
import { ExitCode, PermafrostError } from '../core/errors.ts';
import { OpenPgpError } from '../codec/openpgp/errors.ts';
import type { Reporter } from '../ops/reporter.ts';
import { UsageError } from '../command-line/usage-error.ts';

export interface ExitReport {
  readonly code: number;
  /** one line */
  readonly message: string;
  /** a pointer to help, shown after the message (usage errors) */
  readonly hint?: string;
  /** stack traces and extra lines, for debug verbosity only */
  readonly detail?: string;
}

function firstLine(text: string): { line: string; rest: string | undefined } {
  const i = text.indexOf('\n');
  return i < 0 ? { line: text, rest: undefined } : { line: text.slice(0, i), rest: text.slice(i + 1) };
}

function stackOf(err: unknown): string | undefined {
  if (!(err instanceof Error) || !err.stack) return undefined;
  const cause = err.cause instanceof Error ? stackOf(err.cause) : undefined;
  return cause ? `${err.stack}\nCaused by: ${cause}` : err.stack;
}

function report(code: number, text: string, err: unknown, hint?: string): ExitReport {
  const { line, rest } = firstLine(text);
  const detail = [rest, stackOf(err)].filter((s): s is string => !!s).join('\n');
  return { code, message: line, ...(hint !== undefined && { hint }), ...(detail && { detail }) };
}

export function exitReportFor(err: unknown): ExitReport {
  if (err instanceof UsageError) return report(ExitCode.usage, err.message, err, "Enter 'permafrost --help' for help.");
  if (err instanceof PermafrostError) return report(err.exitCode, err.message, err);
  if (err instanceof TargetUrlError) return report(ExitCode.badUrl, err.message, err);
  if (err instanceof BackendError) return report(err.code === 'exists' ? ExitCode.objectExists : ExitCode.backendError, err.message, err);
  if (err instanceof LockedError) return report(ExitCode.locked, err.message, err);
  if (err instanceof CorruptSignatureError) return report(ExitCode.corruptArchive, err.message, err);
  if (err instanceof VolumeHashError) return report(ExitCode.hashMismatch, err.message, err);
  if (err instanceof CorruptVolumeError) return report(ExitCode.corruptArchive, err.message, err);
  if (err instanceof DamagedCacheError) return report(ExitCode.localIo, err.message, err);
  if (err instanceof OpenPgpError) return report(cryptoExitCode(err), err.message, err);
  if (isSystemCallError(err)) return report(ExitCode.localIo, err.message, err);
  const text = err instanceof Error ? err.message || err.name : String(err);
  return report(ExitCode.internal, `internal error: ${text}`, err);
}

/** Key problems (none, or the wrong one) and integrity failures have their own codes. */
function cryptoExitCode(err: OpenPgpError): number {
  if (err.kind === 'no-key' || err.kind === 'bad-key') return ExitCode.decryptFailed;
  if (err.kind === 'integrity') return ExitCode.integrityFailed;
  return ExitCode.corruptArchive;
}

/**
 * A failed system call: the backend wraps its own, so this is a local path (a restore destination
 * under a file, a read-only --archive-dir, a full --tempdir), which the user can fix, not a bug.
 */
function isSystemCallError(err: unknown): err is NodeJS.ErrnoException {
  const e = err as NodeJS.ErrnoException;
  return err instanceof Error && typeof e.syscall === 'string' && typeof e.code === 'string' && /^E[A-Z0-9]+$/.test(e.code);
}

/**
 * Tells the user why the run ends and returns the exit code. The message is logged as duplicity
 * does a fatal error (`ERROR <code>` in --log-file); the stack goes to debug. `hint`, from the
 * command line, replaces the error type's own pointer.
 */
export function reportFatal(err: unknown, reporter: Reporter, hint?: string): number {
  const r = { ...exitReportFor(err), ...(hint !== undefined ? { hint } : {}) };
  if (reporter.record) reporter.record('ERROR', r.code, '', r.message);
  else reporter.error(r.message);
  // on stderr with the error, as duplicity prints its usage hint (docs/output.md)
  if (r.hint) reporter.error(r.hint);
  if (r.detail) reporter.debug(r.detail);
  return r.code;
}
