/**
 * Runs one job as a child process: permafrost's CLI (`bin/permafrost.js`) for `dup` commands,
 * /bin/sh for the rest. Secrets stay in the environment (PASSPHRASE, AWS_*), never in argv; the
 * SMTP password, which jobs do not need, is not passed on. The output goes to the daemon's log as
 * it comes (prefixed with the job number) and into a bounded excerpt for the report.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { JobSpec } from './config.ts';
import { jobCommand, SHELL_PRELUDE, wantsJsonSummary, type JobCommand } from './job-command.ts';
import { LogExcerpt } from './log-excerpt.ts';

/** bin/permafrost.js, two levels up from both src/daemon/ and dist/daemon/. */
export const PERMAFROST_BIN = fileURLToPath(new URL('../../bin/permafrost.js', import.meta.url));
/** What bin/permafrost.js's #! line gives Node (see there for why). */
const NODE_ARGS = ['--max-semi-space-size=2', '--heap-growing-percent=20'];
/** After the forwarded SIGTERM, how long a job has before it is killed. */
const KILL_AFTER_MS = 30_000;

export type JobStatus = 'ok' | 'failed' | 'interrupted';

export interface JobOutcome {
  readonly n: number;
  readonly period: string;
  /** the expanded command, secrets redacted */
  readonly command: string;
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly durationMs: number;
  readonly status: JobStatus;
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** why the job could not run at all (a quoting error in JOB_<N>_WHAT, a missing /bin/sh) */
  readonly error?: string;
  readonly log: string;
  readonly logBytes: number;
  /** the backup's --json summary (type, volumes, bytes, S3 requests...), when it printed one */
  readonly summary?: Readonly<Record<string, unknown>>;
}

export interface JobRunOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly excerptBytes: number;
  readonly redact: (s: string) => string;
  /** each output line, as it comes */
  readonly onLine?: (line: string) => void;
  /** the job's process starts, with its command as shown (redacted) */
  readonly onStart?: (command: string) => void;
  readonly now?: () => number;
}

export interface RunningJob {
  /** Forwards SIGTERM to the job's process group (and SIGKILL if it is still there 30 s later). */
  terminate(): void;
  readonly done: Promise<JobOutcome>;
}

export function startJob(job: JobSpec, period: string, options: JobRunOptions): RunningJob {
  const now = options.now ?? Date.now;
  const startedAt = now();
  let child: ChildProcess | null = null;
  let interrupted = false;
  let killTimer: NodeJS.Timeout | undefined;
  const signalGroup = (sig: NodeJS.Signals) => {
    if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, sig);
    } catch {
      child.kill(sig);
    }
  };
  const finish = (partial: Omit<JobOutcome, 'n' | 'period' | 'startedAt' | 'finishedAt' | 'durationMs'>): JobOutcome => {
    const finishedAt = now();
    return { n: job.n, period, startedAt, finishedAt, durationMs: finishedAt - startedAt, ...partial };
  };

  const done = (async (): Promise<JobOutcome> => {
    let cmd: JobCommand;
    try {
      cmd = await jobCommand(job.what, options.env);
    } catch (err) {
      const message = options.redact((err as Error).message);
      return finish({
        command: options.redact(job.what),
        status: 'failed',
        exitCode: null,
        signal: null,
        error: message,
        log: '',
        logBytes: 0,
      });
    }
    const command = options.redact(cmd.display);
    options.onStart?.(command);
    // permafrost's own output holds no secret (no message of its own has one; gpg's errors are
    // redacted inside it): redacting it again would cut a word-like passphrase out of its words
    const redactOutput = cmd.kind === 'permafrost' ? (s: string) => s : options.redact;
    if (interrupted) return finish({ command, status: 'interrupted', exitCode: null, signal: null, log: '', logBytes: 0 });
    const excerpt = new LogExcerpt(options.excerptBytes);
    const json = wantsJsonSummary(cmd);
    const [file, args] =
      cmd.kind === 'permafrost'
        ? [process.execPath, [...NODE_ARGS, PERMAFROST_BIN, ...(json ? ['--json'] : []), ...cmd.args]]
        : ['/bin/sh', ['-c', `${SHELL_PRELUDE}\n${cmd.script}`]];
    const env = childEnv(options.env, cmd);
    return new Promise<JobOutcome>((resolve) => {
      let stdoutTail = '';
      const c = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      child = c;
      const lines = lineSplitter((line) => options.onLine?.(redactOutput(line)));
      c.stdout!.on('data', (b: Buffer) => {
        excerpt.write(b);
        lines(b);
        if (json) stdoutTail = (stdoutTail + b.toString('utf8')).slice(-1_000_000);
      });
      c.stderr!.on('data', (b: Buffer) => {
        excerpt.write(b);
        lines(b);
      });
      c.on('error', (err) => {
        clearTimeout(killTimer);
        resolve(
          finish({
            command,
            status: 'failed',
            exitCode: null,
            signal: null,
            error: `cannot run ${file}: ${err.message}`,
            log: excerpt.text(redactOutput),
            logBytes: excerpt.totalBytes,
          }),
        );
      });
      c.on('close', (code, signal) => {
        clearTimeout(killTimer);
        lines(null);
        const summary = json ? lastJsonObject(stdoutTail) : undefined;
        resolve(
          finish({
            command,
            status: code === 0 ? 'ok' : interrupted ? 'interrupted' : 'failed',
            exitCode: code,
            signal,
            log: excerpt.text(redactOutput),
            logBytes: excerpt.totalBytes,
            ...(summary !== undefined ? { summary } : {}),
          }),
        );
      });
      if (interrupted) signalGroup('SIGTERM');
    });
  })();

  return {
    terminate() {
      if (interrupted) return;
      interrupted = true;
      signalGroup('SIGTERM');
      killTimer = setTimeout(() => signalGroup('SIGKILL'), KILL_AFTER_MS);
      killTimer.unref();
    },
    done,
  };
}

function childEnv(env: Readonly<Record<string, string | undefined>>, cmd: JobCommand): Record<string, string> {
  const out: Record<string, string> = {};
  // the SMTP password and the dashboard's token are the daemon's own: no job needs them
  for (const [k, v] of Object.entries(env)) if (v !== undefined && k !== 'SMTP_PASS' && k !== 'PERMAFROST_UI_TOKEN') out[k] = v;
  if (cmd.kind === 'shell') {
    out['PERMAFROST_NODE'] = process.execPath;
    out['PERMAFROST_BIN'] = PERMAFROST_BIN;
    out['PERMAFROST_DUP_OPTIONS'] = cmd.dupOptions.join('\n');
  }
  return out;
}

/** Calls `onLine` for each complete line; `null` flushes the rest. */
function lineSplitter(onLine: (line: string) => void): (chunk: Buffer | null) => void {
  let pending = '';
  return (chunk) => {
    if (chunk === null) {
      if (pending !== '') onLine(pending);
      pending = '';
      return;
    }
    pending += chunk.toString('utf8');
    const parts = pending.split('\n');
    pending = parts.pop()!;
    for (const line of parts) onLine(line.replace(/\r$/, ''));
  };
}

function lastJsonObject(text: string): Record<string, unknown> | undefined {
  const lines = text.trimEnd().split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (!line.startsWith('{')) continue;
    try {
      const value: unknown = JSON.parse(line);
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
    } catch {
      /* not the summary */
    }
  }
  return undefined;
}
