/**
 * The terminal Reporter, behaving like duplicity's log.py: a message is shown when its level is at
 * or below --verbosity; errors go to stderr and everything else (warnings included) to stdout;
 * --log-file receives the same messages as machine-readable records.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { Reporter } from '../ops/reporter.ts';
import { UsageError } from '../command-line/usage-error.ts';
import { sourceMappedStack } from './source-mapped-stack.ts';

export type LevelName = 'ERROR' | 'WARNING' | 'NOTICE' | 'INFO' | 'DEBUG';

/** duplicity's numeric levels (log.py). */
export const Level = { error: 0, warning: 2, notice: 3, info: 5, debug: 9 } as const;

const LEVEL_OF_NAME: Record<LevelName, number> = { ERROR: 0, WARNING: 2, NOTICE: 3, INFO: 5, DEBUG: 9 };

/** duplicity's generic code for messages without a specific one (log.InfoCode.generic etc.). */
const GENERIC_CODE = 1;

/**
 * Record codes duplicity logs with force_print: the collection-status report (3) and each
 * list-current-files line (10) are the command's output, shown whatever the verbosity.
 */
const FORCED_CODES: ReadonlySet<number> = new Set([3, 10]);

export interface TextSink {
  write(chunk: string): unknown;
}

export interface ConsoleReporterOptions {
  /** 0–9, see CliOptions.verbosity */
  readonly verbosity: number;
  /** appended to; created if missing */
  readonly logFile?: string;
  /** --log-timestamp: prefix console lines with the time and level name */
  readonly logTimestamp?: boolean;
  /** given by the run's Output (src/cli/output.ts): stdout, or stderr with --json */
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  readonly now?: () => Date;
}

/**
 * One --log-file record, byte for byte as duplicity's MachineFormatter and FileHandler write it:
 * `LEVEL CODE[ extra]`, then each message line prefixed with `. `, then an empty line.
 */
export function formatLogRecord(level: LevelName, code: number, extra: string, message: string): string {
  let s = extra ? `${level} ${code} ${extra}` : `${level} ${code}`;
  if (message) s += `\n${message}`.replaceAll('\n', '\n. ');
  return `${s}\n\n`;
}

/** Python logging's asctime: `YYYY-MM-DD HH:MM:SS,mmm` in local time. */
function asctime(d: Date): string {
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return (
    `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ` +
    `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())},${String(d.getMilliseconds()).padStart(3, '0')}`
  );
}

const URL_PASSWORD = /(\b[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/:@\s]*:)[^@\s/]*@/g;

/**
 * Removes URL passwords (`scheme://user:password@host` → `user:***@`): a URL is typed by the user
 * and may reach a message whole. Passphrases are not looked for here: no message of ours holds
 * one, and text from outside that may (gpg's errors) is redacted where it comes in, so that a
 * passphrase such as "wrong" never cuts words out of our own messages (src/core/redact.ts).
 */
export function redact(text: string): string {
  return text.includes('://') ? text.replace(URL_PASSWORD, '$1***@') : text;
}

/** Bytes of low-level records kept before a write: per-file info lines can number millions. */
const LOG_BUFFER_BYTES = 64 * 1024;
const LOG_BUFFER_MS = 1000;

export class ConsoleReporter implements Reporter {
  readonly verbosity: number;
  private readonly stdout: TextSink;
  private readonly stderr: TextSink;
  private readonly logTimestamp: boolean;
  private readonly now: () => Date;
  private logFd: number | undefined;
  private pending: string[] = [];
  private pendingBytes = 0;
  private lastFlush = Date.now();

  constructor(options: ConsoleReporterOptions) {
    this.verbosity = options.verbosity;
    this.stdout = options.stdout;
    this.stderr = options.stderr;
    this.logTimestamp = options.logTimestamp ?? false;
    this.now = options.now ?? (() => new Date());
    if (options.logFile !== undefined) {
      try {
        this.logFd = openSync(options.logFile, 'a', 0o600);
      } catch (err) {
        const why = (err as NodeJS.ErrnoException).code ?? String(err);
        throw new UsageError(`cannot open log file ${options.logFile}: ${why}`);
      }
    }
  }

  error(message: string): void {
    this.emit('ERROR', GENERIC_CODE, '', message, false);
  }

  warning(message: string): void {
    this.emit('WARNING', GENERIC_CODE, '', message, false);
  }

  notice(message: string): void {
    this.emit('NOTICE', GENERIC_CODE, '', message, false);
  }

  info(message: string): void {
    this.emit('INFO', GENERIC_CODE, '', message, false);
  }

  debug(message: string): void {
    // a stack (a failed run's, exit.ts) points at src/ rather than the bundle; mapped only when shown
    if (LEVEL_OF_NAME.DEBUG <= this.verbosity) this.emit('DEBUG', GENERIC_CODE, '', sourceMappedStack(message), false);
  }

  record(level: 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR', code: number, extra: string, human: string): void {
    this.emit(level, code, extra, human, FORCED_CODES.has(code));
  }

  /** Writes log-file records still held in memory. */
  flush(): void {
    if (this.logFd === undefined || this.pending.length === 0) return;
    const text = this.pending.length === 1 ? this.pending[0]! : this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    this.lastFlush = Date.now();
    const bytes = Buffer.from(text, 'utf8');
    let off = 0;
    while (off < bytes.length) off += writeSync(this.logFd, bytes, off);
  }

  /** Flushes and closes the log file; the reporter still prints to the console afterwards. */
  close(): void {
    this.flush();
    if (this.logFd !== undefined) {
      closeSync(this.logFd);
      this.logFd = undefined;
    }
  }

  private emit(level: LevelName, code: number, extra: string, message: string, forced: boolean): void {
    const n = LEVEL_OF_NAME[level];
    if (!forced && n > this.verbosity) return;
    const text = redact(message);
    // duplicity's console handlers drop empty messages; its log-file handler keeps them.
    if (text) {
      const line = this.logTimestamp ? `${asctime(this.now())} ${level} ${text}\n` : `${text}\n`;
      (n <= 1 ? this.stderr : this.stdout).write(line);
    }
    if (this.logFd !== undefined) {
      const ext = extra && redact(extra);
      const rec = formatLogRecord(level, code, ext, text);
      this.pending.push(rec);
      this.pendingBytes += rec.length;
      if (n <= Level.notice || this.pendingBytes >= LOG_BUFFER_BYTES || Date.now() - this.lastFlush >= LOG_BUFFER_MS) {
        this.flush();
      }
    }
  }
}
