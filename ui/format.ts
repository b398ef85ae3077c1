/** Numbers, times and money for people; the byte counts are the CLI's own (src/core/format-bytes.ts). */
export { formatBytes } from '../src/core/format-bytes.ts';

/**
 * A time from the API: epoch seconds (the operations' --json), an ISO string, or duplicity's
 * `20261207T103151Z`. Null when absent or unreadable.
 */
export function toDate(v: number | string | null | undefined): Date | null {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v === 'number') return new Date(v * 1000);
  const dup = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(v);
  const ms = dup ? Date.UTC(+dup[1]!, +dup[2]! - 1, +dup[3]!, +dup[4]!, +dup[5]!, +dup[6]!) : Date.parse(v);
  return Number.isNaN(ms) ? null : new Date(ms);
}

/** Epoch seconds of an API time, or null. */
export function toSeconds(v: number | string | null | undefined): number | null {
  const d = toDate(v);
  return d ? Math.floor(d.getTime() / 1000) : null;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** `2026-12-07 10:31 UTC` (with `seconds`: `10:31:05`): the reports' zone, so the page and the e-mails agree. */
export function formatTime(v: number | string | null | undefined, seconds = false): string {
  const d = toDate(v);
  if (!d) return '—';
  const s = seconds ? `:${pad(d.getUTCSeconds())}` : '';
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}${s} UTC`;
}

export function formatDay(v: number | string | null | undefined): string {
  const d = toDate(v);
  return d ? `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}` : '—';
}

/** `41m 12s`, `3h 05m`, `2d 4h`, as the reports write durations. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  // short runs (a small job, a test) keep a tenth of a second, so that they can be told apart
  if (seconds < 10) return `${Math.max(0, seconds).toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** `in 3h 05m` / `5m 00s ago` relative to `now` (epoch ms). */
export function formatRelative(v: number | string | null | undefined, now: number): string {
  const d = toDate(v);
  if (!d) return '—';
  const diff = (d.getTime() - now) / 1000;
  return diff >= 0 ? `in ${formatDuration(diff)}` : `${formatDuration(-diff)} ago`;
}

/**
 * US dollars: cents for sums of a cent or more; two significant digits below (a small target's
 * monthly bill is a fraction of a cent, and "$0.00" would hide it).
 */
export function formatUsd(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (v === 0) return '$0';
  const a = Math.abs(v);
  const text = a >= 0.01 ? a.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }) : a.toPrecision(2);
  return `${v < 0 ? '-' : ''}$${text}`;
}

/** `2–5 h`, `12 h`: a wait in hours. */
export function formatHours(h: number | readonly [number, number] | null | undefined): string {
  if (h === null || h === undefined) return '—';
  if (typeof h === 'number') return h < 1 ? `${Math.round(h * 60)} min` : `${Number(h.toFixed(1))} h`;
  if (h[0] === h[1]) return formatHours(h[0]);
  if (h[0] === 0) return `up to ${formatHours(h[1])}`;
  const sameUnit = h[0] < 1 === h[1] < 1;
  return `${sameUnit ? formatHours(h[0]).replace(/ (h|min)$/, '') : formatHours(h[0])}–${formatHours(h[1])}`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
