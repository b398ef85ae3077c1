/**
 * --progress: a bar on a terminal (stderr), or a plain line every --progress-rate seconds otherwise
 * (cron mails, docker logs), a notice like the other messages, so that it goes where duplicity's
 * goes (stdout, or stderr with --json: docs/output.md) and into --log-file. It wraps a Reporter:
 * operations keep calling `progress(state)`, messages keep flowing.
 *
 * On a terminal the bar is one line, redrawn in place (`\r`, the line, erase to its end) only when
 * its text changed and at most REDRAWS_PER_SECOND times a second; a message clears it, is printed,
 * and the bar comes back under it. The line is cut to the terminal's width (progress-line.ts).
 */
import type { ProgressState, Reporter } from '../ops/reporter.ts';
import { barLine, etaSeconds, fractionDone, plainLine } from './progress-line.ts';

export { etaSeconds, formatDuration, fractionDone, plainLine, barLine } from './progress-line.ts';

export interface ProgressStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface ProgressOptions {
  /** where the bar is drawn (default process.stderr), when it is a TTY; else plain lines are notices */
  readonly stream?: ProgressStream;
  /** seconds between plain lines when not on a TTY (duplicity's --progress-rate, default 3) */
  readonly intervalSeconds?: number;
  /** milliseconds clock, for tests */
  readonly now?: () => number;
  /**
   * Whether the inner reporter prints a message of this level (its verbosity): only those clear
   * the bar, so that per-file messages below the verbosity cost no redraw.
   */
  readonly shows?: (level: MessageLevel) => boolean;
}

export type MessageLevel = 'error' | 'warning' | 'notice' | 'info' | 'debug';

export interface ProgressReporter extends Reporter {
  progress(state: ProgressState): void;
  /** Ends the bar (or prints the last plain line); call it before exiting. Idempotent. */
  stop(): void;
}

/** Throughput is measured over this much recent history, so that it follows changes. */
const RATE_WINDOW_MS = 10_000;
/** A rate (and so an ETA) is shown once data has been measured for this long. */
const RATE_MIN_SPAN_MS = 1000;
/** Samples closer together than this replace each other: the window holds at most ~100. */
const SAMPLE_SPACING_MS = 100;
const REDRAWS_PER_SECOND = 4;
const ERASE_TO_END = '\u001b[K';
/** duplicity's log code for progress records (log.InfoCode.upload_progress) */
const PROGRESS_LOG_CODE = 16;

/** Bytes per second over the recent window, from (time, bytesDone) samples. */
export class RateMeter {
  private times: number[] = [];
  private bytes: number[] = [];

  add(timeMs: number, bytesDone: number): void {
    const n = this.times.length;
    if (n >= 2 && timeMs - this.times[n - 2]! < SAMPLE_SPACING_MS) {
      this.times[n - 1] = timeMs;
      this.bytes[n - 1] = bytesDone;
    } else {
      this.times.push(timeMs);
      this.bytes.push(bytesDone);
    }
    let drop = 0;
    while (this.times.length - drop > 2 && timeMs - this.times[drop + 1]! >= RATE_WINDOW_MS) drop++;
    if (drop > 0) {
      this.times.splice(0, drop);
      this.bytes.splice(0, drop);
    }
  }

  /** undefined until the samples span RATE_MIN_SPAN_MS */
  rate(): number | undefined {
    return this.#rateOver(RATE_MIN_SPAN_MS);
  }

  /** The rate however short the span (the last line of a short run), undefined without one. */
  finalRate(): number | undefined {
    return this.#rateOver(1);
  }

  #rateOver(minSpanMs: number): number | undefined {
    const n = this.times.length;
    if (n < 2) return undefined;
    const dt = this.times[n - 1]! - this.times[0]!;
    if (dt < minSpanMs) return undefined;
    return ((this.bytes[n - 1]! - this.bytes[0]!) * 1000) / dt;
  }
}

export function withProgress(inner: Reporter, options: ProgressOptions = {}): ProgressReporter {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? Date.now;
  const tty = stream.isTTY === true;
  const intervalMs = Math.max(0.1, options.intervalSeconds ?? 3) * 1000;
  // one meter per phase: a restore through a thaw alternates between the two
  const meters = new Map<string, RateMeter>();
  let meter = new RateMeter();
  let latest: ProgressState | undefined;
  let stopped = false;
  // terminal: what is on the screen now ('' when nothing), and when it was drawn
  let shown = '';
  let drawnAt = Number.NEGATIVE_INFINITY;
  // plain lines: when the first state came and the last line was printed, and whether it is current
  let startedAt = 0;
  let lastLineAt: number | undefined;
  let latestPrinted = true;

  const columns = (): number => (stream.columns !== undefined && stream.columns > 0 ? stream.columns : 80);

  const draw = (t: number, rate = meter.rate()): void => {
    if (!latest) return;
    const text = barLine(latest, rate, columns());
    if (text === shown) return;
    stream.write(`\r${text}${ERASE_TO_END}`);
    shown = text;
    drawnAt = t;
  };

  const printLine = (t: number, rate = meter.rate()): void => {
    if (!latest) return;
    const text = plainLine(latest, rate);
    // as duplicity's log.TransferProgress: a NOTICE whose --log-file record carries the numbers
    if (inner.record) inner.record('NOTICE', PROGRESS_LOG_CODE, progressControlLine(latest, rate, t - startedAt), text);
    else inner.notice(text);
    lastLineAt = t;
    latestPrinted = true;
  };

  /** What is due at `t`: a redraw at most every 1/REDRAWS_PER_SECOND s, a plain line every interval. */
  const update = (t: number): void => {
    if (!latest) return;
    if (tty) {
      if (t - drawnAt >= 1000 / REDRAWS_PER_SECOND) draw(t);
    } else if (t - (lastLineAt ?? startedAt) >= intervalMs) {
      printLine(t);
    }
  };

  // Stalls (an upload, a thaw) must still show: the rate decays, and a plain line keeps coming.
  const timer = setInterval(
    () => {
      if (stopped || !latest) return;
      const t = now();
      meter.add(t, latest.bytesDone);
      update(t);
    },
    tty ? 1000 / REDRAWS_PER_SECOND : Math.min(intervalMs, 1000),
  );
  timer.unref();

  const clearBar = (): void => {
    if (shown === '') return;
    stream.write(`\r${ERASE_TO_END}`);
    shown = '';
  };

  const finish = (): void => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    if (!latest) return;
    const t = now();
    meter.add(t, latest.bytesDone);
    const rate = meter.rate() ?? meter.finalRate();
    if (tty) {
      draw(t, rate);
      stream.write('\n');
      shown = '';
    } else if (!latestPrinted) {
      printLine(t, rate);
    }
  };

  const shows = options.shows ?? (() => true);
  const forward =
    (level: MessageLevel, fn: (m: string) => void) =>
    (message: string): void => {
      if (shown === '' || !shows(level)) {
        fn(message);
        return;
      }
      clearBar();
      fn(message);
      if (!stopped) update(now());
    };

  return {
    error: forward('error', (m) => inner.error(m)),
    warning: forward('warning', (m) => inner.warning(m)),
    notice: forward('notice', (m) => inner.notice(m)),
    info: forward('info', (m) => inner.info(m)),
    debug: forward('debug', (m) => inner.debug(m)),
    record(level, code, extra, human) {
      const wasShown = shown !== '';
      clearBar();
      inner.record?.(level, code, extra, human);
      if (wasShown && !stopped) update(now());
    },
    progress(state) {
      inner.progress?.(state);
      if (stopped) return;
      const t = now();
      if (!latest) startedAt = t;
      if (latest?.phase !== state.phase) {
        const known = meters.get(state.phase);
        meter = known ?? new RateMeter();
        if (!known) meters.set(state.phase, meter);
      }
      latest = state;
      latestPrinted = false;
      meter.add(t, state.bytesDone);
      update(t);
    },
    progressDone() {
      finish();
      inner.progressDone?.();
    },
    stop: finish,
  };
}

/**
 * The numbers of duplicity's progress record (log.TransferProgress's control line): bytes done,
 * seconds elapsed, percent, seconds left, bytes per second, stalled (0 or 1); whole numbers, 0
 * where unknown.
 */
export function progressControlLine(state: ProgressState, bytesPerSecond: number | undefined, elapsedMs: number): string {
  const f = fractionDone(state);
  const eta = etaSeconds(state, bytesPerSecond);
  const stalled = bytesPerSecond === 0 && (f === undefined || f < 1) ? 1 : 0;
  const whole = (n: number | undefined): number => (n === undefined || !Number.isFinite(n) ? 0 : Math.floor(n));
  return [state.bytesDone, elapsedMs / 1000, f === undefined ? undefined : f * 100, eta, bytesPerSecond, stalled].map(whole).join(' ');
}
