/**
 * --progress: a bar on a terminal, or a plain line every few seconds otherwise (cron mails, docker
 * logs). It wraps a Reporter: operations keep calling `progress(state)`, messages keep flowing.
 */
import cliProgress from 'cli-progress';
import { formatBytes } from '../core/format-bytes.ts';
import type { ProgressState, Reporter } from '../ops/reporter.ts';

export interface ProgressStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface ProgressOptions {
  /** where the bar is drawn (default process.stderr); a bar is drawn only when it is a TTY */
  readonly stream?: ProgressStream;
  /** seconds between plain lines when not on a TTY (duplicity's --progress-rate, default 3) */
  readonly intervalSeconds?: number;
  /** milliseconds clock, for tests */
  readonly now?: () => number;
}

export interface ProgressReporter extends Reporter {
  progress(state: ProgressState): void;
  /** Ends the bar (or prints the last plain line); call it before exiting. */
  stop(): void;
}

/** Throughput is measured over this much recent history, so that it follows changes. */
const RATE_WINDOW_MS = 10_000;

/** Bytes per second over the recent window, from (time, bytesDone) samples. */
export class RateMeter {
  private times: number[] = [];
  private bytes: number[] = [];

  add(timeMs: number, bytesDone: number): void {
    this.times.push(timeMs);
    this.bytes.push(bytesDone);
    let drop = 0;
    while (this.times.length - drop > 2 && timeMs - this.times[drop + 1]! >= RATE_WINDOW_MS) drop++;
    if (drop > 0) {
      this.times.splice(0, drop);
      this.bytes.splice(0, drop);
    }
  }

  /** undefined until two samples at least 0.5 s apart exist */
  rate(): number | undefined {
    const n = this.times.length;
    if (n < 2) return undefined;
    const dt = this.times[n - 1]! - this.times[0]!;
    if (dt < 500) return undefined;
    return ((this.bytes[n - 1]! - this.bytes[0]!) * 1000) / dt;
  }
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

/** Fraction done, by bytes when their total is known, else by files; undefined without totals. */
export function fractionDone(state: ProgressState): number | undefined {
  if (state.bytesTotal !== undefined && state.bytesTotal > 0) return Math.min(1, state.bytesDone / state.bytesTotal);
  if (state.filesTotal !== undefined && state.filesTotal > 0) return Math.min(1, state.filesDone / state.filesTotal);
  if (state.bytesTotal === 0 || state.filesTotal === 0) return 1;
  return undefined;
}

/** Seconds left, only when the byte total is known and data is moving. */
export function etaSeconds(state: ProgressState, bytesPerSecond: number | undefined): number | undefined {
  if (state.bytesTotal === undefined || bytesPerSecond === undefined || bytesPerSecond <= 0) return undefined;
  return Math.max(0, state.bytesTotal - state.bytesDone) / bytesPerSecond;
}

/** The text after the bar: counts, sizes, throughput, ETA. */
export function describeProgress(state: ProgressState, bytesPerSecond: number | undefined): string {
  const parts: string[] = [];
  parts.push(state.filesTotal !== undefined ? `${state.filesDone}/${state.filesTotal} files` : `${state.filesDone} files`);
  parts.push(
    state.bytesTotal !== undefined ? `${formatBytes(state.bytesDone)}/${formatBytes(state.bytesTotal)}` : formatBytes(state.bytesDone),
  );
  if (bytesPerSecond !== undefined) parts.push(`${formatBytes(Math.round(bytesPerSecond))}/s`);
  const eta = etaSeconds(state, bytesPerSecond);
  if (eta !== undefined) parts.push(`ETA ${formatDuration(eta)}`);
  return parts.join('  ');
}

/** Control characters in file names must not reach the terminal. */
function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

function plainLine(state: ProgressState, rate: number | undefined): string {
  const f = fractionDone(state);
  const pct = f === undefined ? '' : ` ${Math.floor(f * 100)}%`;
  return `Progress (${state.phase})${pct}: ${describeProgress(state, rate)}`;
}

/**
 * cli-progress re-renders from a timer that would keep the process alive if an operation failed
 * before stop(); an unref'd timer cannot.
 */
class UnrefBar extends cliProgress.SingleBar {
  override render(): void {
    super.render();
    (this as unknown as { timer: NodeJS.Timeout | null }).timer?.unref();
  }
}

export function withProgress(inner: Reporter, options: ProgressOptions = {}): ProgressReporter {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? Date.now;
  const intervalMs = Math.max(1, options.intervalSeconds ?? 3) * 1000;
  const meter = new RateMeter();
  let latest: ProgressState | undefined;
  let bar: UnrefBar | undefined;
  let lastLineAt: number | undefined;
  let latestPrinted = true;
  let stopped = false;

  const drawLine = (width: number): string => {
    if (!latest) return '';
    const f = fractionDone(latest);
    const head =
      f === undefined
        ? latest.phase
        : `${latest.phase} [${'='.repeat(Math.round(f * 30)).padEnd(30, '-')}] ${String(Math.floor(f * 100)).padStart(3)}%`;
    const line = `${head}  ${describeProgress(latest, meter.rate())}`;
    const path = latest.currentPath ? `  ${printable(latest.currentPath)}` : '';
    const room = Math.max(0, width - 1);
    return (line + path).length > room ? (line + path).slice(0, room) : line + path;
  };

  const clearBarLine = (): void => {
    if (bar) stream.write('\r\u001b[2K');
  };

  const forward =
    (fn: (m: string) => void) =>
    (message: string): void => {
      clearBarLine();
      fn(message);
    };

  const wrapped: ProgressReporter = {
    error: forward((m) => inner.error(m)),
    warning: forward((m) => inner.warning(m)),
    notice: forward((m) => inner.notice(m)),
    info: forward((m) => inner.info(m)),
    debug: forward((m) => inner.debug(m)),
    record(level, code, extra, human) {
      clearBarLine();
      inner.record?.(level, code, extra, human);
    },
    progress(state) {
      inner.progress?.(state);
      if (stopped) return;
      latest = state;
      const t = now();
      meter.add(t, state.bytesDone);
      if (stream.isTTY) {
        if (!bar) {
          bar = new UnrefBar({
            stream: stream as NodeJS.WritableStream,
            format: (_o, params) => drawLine(params.maxWidth),
            forceRedraw: true,
            // a crash before stop() must not leave the terminal without a cursor
            hideCursor: false,
            fps: 5,
          });
          bar.start(state.bytesTotal ?? 0, state.bytesDone);
        } else {
          bar.update(state.bytesDone);
        }
        return;
      }
      latestPrinted = false;
      if (lastLineAt === undefined) {
        lastLineAt = t;
        return;
      }
      if (t - lastLineAt >= intervalMs) {
        lastLineAt = t;
        latestPrinted = true;
        inner.notice(plainLine(state, meter.rate()));
      }
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (bar) {
        bar.stop();
        bar = undefined;
      } else if (latest && !latestPrinted) {
        inner.notice(plainLine(latest, meter.rate()));
      }
    },
  };
  return wrapped;
}
