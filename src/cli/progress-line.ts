/**
 * The text of a progress line: a plain line for logs, or a bar line cut to a terminal's width.
 * Pure functions of a state and a measured rate, so that every layout is testable.
 */
import { formatBytes } from '../core/format-bytes.ts';
import type { ProgressState } from '../ops/reporter.ts';

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

/** Fraction done, by bytes when their total is known, else by items; undefined without totals. */
export function fractionDone(state: ProgressState): number | undefined {
  if (state.bytesTotal !== undefined && state.bytesTotal > 0) return Math.min(1, state.bytesDone / state.bytesTotal);
  if (state.filesTotal !== undefined && state.filesTotal > 0) return Math.min(1, state.filesDone / state.filesTotal);
  if (state.bytesTotal === 0 || state.filesTotal === 0) return 1;
  return undefined;
}

/** Seconds left, only when the byte total is known and data is moving. */
export function etaSeconds(state: ProgressState, bytesPerSecond: number | undefined): number | undefined {
  if (state.bytesTotal === undefined) return undefined;
  const left = Math.max(0, state.bytesTotal - state.bytesDone);
  if (left === 0) return 0;
  if (bytesPerSecond === undefined || bytesPerSecond <= 0) return undefined;
  return left / bytesPerSecond;
}

/** The parts of a line, each already formatted; absent ones are undefined. */
interface Fields {
  readonly percent: string | undefined;
  readonly items: string;
  readonly bytes: string | undefined;
  readonly rate: string | undefined;
  /** `ETA 3m05s`, `ETA -` while unknown, undefined when the state has no byte total */
  readonly eta: string | undefined;
}

/**
 * `padded`: numbers at fixed widths (bytes done 8, rate 10, ETA 10), so that a redrawn bar line
 * keeps its layout instead of jumping as the digits change.
 */
function fields(state: ProgressState, bytesPerSecond: number | undefined, padded = false): Fields {
  const pad = (s: string, n: number): string => (padded ? s.padStart(n) : s);
  const f = fractionDone(state);
  const label = state.itemLabel ?? 'files';
  const hasBytes = state.bytesTotal !== undefined || state.bytesDone > 0;
  const eta = etaSeconds(state, bytesPerSecond);
  return {
    percent: f === undefined ? undefined : `${Math.floor(f * 100)}%`,
    items: state.filesTotal !== undefined ? `${state.filesDone}/${state.filesTotal} ${label}` : `${state.filesDone} ${label}`,
    bytes: !hasBytes
      ? undefined
      : state.bytesTotal !== undefined
        ? `${pad(formatBytes(state.bytesDone), 8)}/${formatBytes(state.bytesTotal)}`
        : formatBytes(state.bytesDone),
    rate: !hasBytes
      ? undefined
      : bytesPerSecond !== undefined
        ? pad(`${formatBytes(Math.round(bytesPerSecond))}/s`, 10)
        : padded
          ? ' '.repeat(10)
          : undefined,
    eta: state.bytesTotal === undefined ? undefined : (eta === undefined ? 'ETA -' : `ETA ${formatDuration(eta)}`).padEnd(padded ? 10 : 0),
  };
}

const join = (parts: readonly (string | undefined)[]): string => parts.filter((p) => p !== undefined && p !== '').join('  ');

/** `Progress (full backup) 42%: 12/300 files  1.20 GiB/3.00 GiB  45.0 MiB/s  ETA 40s`: one line for logs. */
export function plainLine(state: ProgressState, bytesPerSecond: number | undefined): string {
  const x = fields(state, bytesPerSecond);
  return `Progress (${state.phase})${x.percent ? ` ${x.percent}` : ''}: ${join([x.items, x.bytes, x.rate, x.eta])}`;
}

const BAR_MAX = 40;
const BAR_MIN = 8;

/**
 * A bar line at most `width - 1` characters (the last column stays free, so that no terminal wraps):
 * `full backup [=====-----]  42%  1.20 GiB/3.00 GiB  45.0 MiB/s  ETA 40s  12/300 files`. When it
 * does not fit, the bar shrinks first, then the phase, the rate and the bar go, in that order; the
 * percentage, the bytes and the ETA stay. The item count comes last, where there is room for it.
 */
export function barLine(state: ProgressState, bytesPerSecond: number | undefined, width: number): string {
  const room = Math.max(10, width - 1);
  const x = fields(state, bytesPerSecond, true);
  const f = fractionDone(state);
  const pct = x.percent?.padStart(4);
  const withItems = (line: string): string => (line.length + 2 + x.items.length <= room ? `${line}  ${x.items}` : line.trimEnd());
  const layouts: { phase: boolean; bar: boolean; numbers: (string | undefined)[] }[] = [
    { phase: true, bar: true, numbers: [pct, x.bytes, x.rate, x.eta] },
    { phase: false, bar: true, numbers: [pct, x.bytes, x.rate, x.eta] },
    { phase: false, bar: true, numbers: [pct, x.bytes, x.eta] },
    { phase: false, bar: false, numbers: [pct, x.bytes, x.eta] },
    { phase: false, bar: false, numbers: [pct, x.eta] },
  ];
  for (const l of layouts) {
    const numbers = join(l.numbers);
    if (!l.bar || f === undefined) {
      const line = join([l.phase ? state.phase : undefined, numbers]);
      if (line.trimEnd().length <= room) return withItems(line);
      continue;
    }
    const head = l.phase ? `${state.phase} ` : '';
    // head, `[`, the bar, `] `, the numbers
    const barWidth = Math.min(BAR_MAX, room - head.length - numbers.length - 3);
    if (barWidth < BAR_MIN) continue;
    const filled = Math.round(f * barWidth);
    return withItems(`${head}[${'='.repeat(filled)}${'-'.repeat(barWidth - filled)}] ${numbers}`);
  }
  return join([pct, x.eta]).trim().slice(0, room);
}
