/**
 * The first three lines of duplicity's statistics block (statistics.py get_stats_string), as it
 * writes them: StartTime when the run began, EndTime when it ended, ElapsedTime = EndTime -
 * StartTime, seconds with two decimals (Python's `%.2f`) and dup_time's pretty forms.
 */
import { prettyTime } from '../ops/status/pretty-time.ts';

/** `StartTime 1733570000.12 (Mon Dec  7 10:33:20 2026)`, EndTime, ElapsedTime, from wall-clock milliseconds. */
export function statisticsTimeLines(startedAtMs: number, endedAtMs: number): string[] {
  const start = startedAtMs / 1000;
  const end = endedAtMs / 1000;
  const elapsed = end - start;
  return [
    `StartTime ${pyFixed2(start)} (${prettyTime(start)})`,
    `EndTime ${pyFixed2(end)} (${prettyTime(end)})`,
    `ElapsedTime ${pyFixed2(elapsed)} (${durationPretty(elapsed)})`,
  ];
}

/**
 * Python's `'%.2f' % x`. toFixed differs only on exact ties (x a multiple of 1/8 with an odd
 * numerator: .125, .375, ...), which Python rounds to even and toFixed away from zero.
 */
export function pyFixed2(x: number): string {
  const eighths = x * 8;
  if (Number.isInteger(eighths) && Math.abs(eighths) % 2 === 1) {
    const down = Math.floor(x * 100);
    return ((down % 2 === 0 ? down : down + 1) / 100).toFixed(2);
  }
  return x.toFixed(2);
}

/** dup_time.inttopretty for a float: `38.82 seconds`, `1 minute 2.50 seconds`, `2 hours`. */
export function durationPretty(seconds: number): string {
  const parts: string[] = [];
  const hours = Math.floor(seconds / 3600);
  let rest = seconds - hours * 3600;
  if (hours > 1) parts.push(`${hours} hours`);
  else if (hours === 1) parts.push('1 hour');
  const minutes = Math.floor(rest / 60);
  rest -= minutes * 60;
  if (minutes > 1) parts.push(`${minutes} minutes`);
  else if (minutes === 1) parts.push('1 minute');
  if (rest === 1) parts.push('1 second');
  else if (parts.length === 0 || rest > 1) parts.push(`${pyFixed2(rest)} seconds`);
  return parts.join(' ');
}
