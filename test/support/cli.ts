/**
 * One uniform API over the command-line tools that read and write duplicity's format: duplicity
 * 0.8.22, duplicity 3.x and permafrost. Each tool is a `BackupTool`; the options are named once
 * here and mapped to each CLI's syntax.
 *
 * duplicity 3.x (argparse CLI since 2.0) differs from 0.8.22 in the options used here only by
 * `--file-to-restore` → `--path-to-restore` (0.8.22 rejects the new name; 3.x rejects the old one
 * with "Option '--file-to-restore was changed in 2.0.0"). `--time`, `--current-time`,
 * `--no-compression`, `--no-encryption`, `--volsize`, `--archive-dir`, `--name`, `--force`,
 * `--compare-data` and `--allow-source-mismatch` keep their names. permafrost takes 0.8.22's syntax.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The command line, for messages. */
  readonly command: string;
}

export interface CommonOptions {
  readonly archiveDir: string;
  readonly name: string;
  /** gzip (default true); false adds --no-compression (plain .difftar/.sigtar). */
  readonly compression?: boolean;
  /** Symmetric gpg with this passphrase (in $PASSPHRASE) instead of --no-encryption. */
  readonly passphrase?: string;
  /** Extra arguments, placed before the positional ones. */
  readonly extraArgs?: readonly string[];
  /** Exit code to expect (default 0); another one throws with the output. 'any' never throws. */
  readonly expectCode?: number | 'any';
  /** Kill the process after this long (default 300 s). */
  readonly timeoutMs?: number;
}

export interface BackupOptions extends CommonOptions {
  /** --volsize, in MiB. */
  readonly volsize?: number;
  /** --current-time: the backup's time, epoch seconds. */
  readonly currentTime?: number;
  readonly allowSourceMismatch?: boolean;
}

export interface RestoreOptions extends CommonOptions {
  /** --time: epoch seconds or any duplicity time string. */
  readonly time?: number | string;
  /** A path relative to the backup root (0.8.22 --file-to-restore, 3.x --path-to-restore). */
  readonly fileToRestore?: string;
  readonly force?: boolean;
}

export interface StatusOptions extends CommonOptions {
  readonly time?: number | string;
}

export interface VerifyOptions extends CommonOptions {
  readonly time?: number | string;
  readonly fileToRestore?: string;
  readonly compareData?: boolean;
}

export interface CleanupOptions extends CommonOptions {
  readonly force?: boolean;
}

export interface BackupTool {
  /** e.g. 'duplicity 0.8.22', 'duplicity 3.x', 'permafrost'. */
  readonly label: string;
  full(source: string, url: string, opts: BackupOptions): Promise<RunResult>;
  incremental(source: string, url: string, opts: BackupOptions): Promise<RunResult>;
  restore(url: string, dest: string, opts: RestoreOptions): Promise<RunResult>;
  collectionStatus(url: string, opts: StatusOptions): Promise<RunResult>;
  listCurrentFiles(url: string, opts: StatusOptions): Promise<RunResult>;
  verify(url: string, source: string, opts: VerifyOptions): Promise<RunResult>;
  cleanup(url: string, opts: CleanupOptions): Promise<RunResult>;
}

/** Which command-line syntax a tool speaks. permafrost speaks 0.8.22's. */
export type Dialect = 'duplicity-0.8' | 'duplicity-3';

/** The argv (after the program) for one operation in a dialect. */
export function commandArgs(
  dialect: Dialect,
  verb: string,
  opts: CommonOptions & Partial<BackupOptions & RestoreOptions & VerifyOptions>,
  positional: readonly string[],
): string[] {
  const args = [verb, '--archive-dir', opts.archiveDir, '--name', opts.name];
  if (opts.passphrase === undefined) args.push('--no-encryption');
  if (opts.compression === false) args.push('--no-compression');
  if (opts.volsize !== undefined) args.push('--volsize', String(opts.volsize));
  if (opts.currentTime !== undefined) args.push('--current-time', String(opts.currentTime));
  if (opts.allowSourceMismatch) args.push('--allow-source-mismatch');
  if (opts.time !== undefined) args.push('--time', String(opts.time));
  if (opts.fileToRestore !== undefined)
    args.push(dialect === 'duplicity-3' ? '--path-to-restore' : '--file-to-restore', opts.fileToRestore);
  if (opts.force) args.push('--force');
  if (opts.compareData) args.push('--compare-data');
  args.push(...(opts.extraArgs ?? []), ...positional);
  return args;
}

/**
 * Runs `file args`, no stdin, output captured, in a reproducible environment: TZ=UTC, a UTF-8
 * locale, and $PASSPHRASE only when given.
 */
export function runCommand(
  file: string,
  args: readonly string[],
  opts: {
    readonly env?: Readonly<Record<string, string>>;
    readonly timeoutMs?: number;
    readonly expectCode?: number | 'any';
    readonly label?: string;
  } = {},
): Promise<RunResult> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    TZ: 'UTC',
    LC_ALL: 'C.UTF-8',
    LANG: 'C.UTF-8',
    PASSPHRASE: undefined,
    ...opts.env,
  };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const command = [file, ...args].map(shellQuote).join(' ');
  const timeoutMs = opts.timeoutMs ?? 300_000;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${command}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result: RunResult = {
        code: code ?? 128 + (signal ? constants.signals[signal] : 0),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        command,
      };
      const expect = opts.expectCode ?? 0;
      if (timedOut) reject(new Error(`${opts.label ?? file}: timed out after ${timeoutMs} ms\n${describe(result)}`));
      else if (expect !== 'any' && result.code !== expect) {
        reject(
          new Error(
            `${opts.label ?? file}: exit code ${result.code}${signal ? ` (${signal})` : ''}, expected ${expect}\n${describe(result)}`,
          ),
        );
      } else resolve(result);
    });
  });
}

/** A BackupTool that runs `file prefixArgs... <dialect's args>`. */
export function cliTool(label: string, file: string, prefixArgs: readonly string[], dialect: Dialect): BackupTool {
  const run = (verb: string, opts: CommonOptions, positional: readonly string[]): Promise<RunResult> =>
    runCommand(file, [...prefixArgs, ...commandArgs(dialect, verb, opts, positional)], {
      ...(opts.passphrase !== undefined ? { env: { PASSPHRASE: opts.passphrase } } : {}),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.expectCode !== undefined ? { expectCode: opts.expectCode } : {}),
      label: `${label} ${verb}`,
    });
  return {
    label,
    full: (source, url, opts) => run('full', opts, [source, url]),
    incremental: (source, url, opts) => run('incremental', opts, [source, url]),
    restore: (url, dest, opts) => run('restore', opts, [url, dest]),
    collectionStatus: (url, opts) => run('collection-status', opts, [url]),
    listCurrentFiles: (url, opts) => run('list-current-files', opts, [url]),
    verify: (url, source, opts) => run('verify', opts, [url, source]),
    cleanup: (url, opts) => run('cleanup', opts, [url]),
  };
}

/** file:///abs/path for a local directory. */
export function fileUrl(absPath: string): string {
  if (!absPath.startsWith('/')) throw new Error(`fileUrl needs an absolute path, got ${absPath}`);
  return `file://${absPath}`;
}

function describe(r: RunResult): string {
  return `$ ${r.command}\n--- stdout ---\n${tail(r.stdout)}\n--- stderr ---\n${tail(r.stderr)}`;
}

function tail(s: string, max = 6000): string {
  return s.length <= max ? s : `…${s.slice(s.length - max)}`;
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
