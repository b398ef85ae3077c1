/**
 * The run report: one per period run, as docker-duplicity mails it (its subject template and its
 * per-job block: `Job N: \`command\``, Started, Finished, `Success: True|False`, the output), plus
 * what that image lacked: the duration and exit code, the backup's summary (files, bytes, S3
 * requests, bytes per storage class, a cost estimate) and a bounded log excerpt.
 */
import type { RequestSummary } from '../backend/request-accounting.ts';
import { formatRequestSummary } from '../backend/request-accounting.ts';
import { formatBytes } from '../core/format-bytes.ts';
import { estimateRunCost } from './cost-estimate.ts';
import { formatUsd } from '../pricing/usd.ts';
import type { JobOutcome } from './job-runner.ts';
import { formatSubject } from './subject.ts';

export interface JobReport {
  readonly outcome: JobOutcome;
  /** ping results, one line each */
  readonly notes: readonly string[];
}

export interface RunReport {
  readonly hostname: string;
  readonly period: string;
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly jobs: readonly JobReport[];
  /** jobs not started because the daemon was stopping */
  readonly skipped: readonly { readonly n: number; readonly command: string }[];
  /** why the run did not happen at all (another run held the lock) */
  readonly notRun?: string;
}

export function runFailed(r: RunReport): boolean {
  return r.notRun !== undefined || r.skipped.length > 0 || r.jobs.some((j) => j.outcome.status !== 'ok');
}

export function reportSubject(template: string, r: RunReport): string {
  return formatSubject(template, { hostname: r.hostname, periodicity: r.period, result: runFailed(r) ? 'ERROR' : 'OK' });
}

export function reportBody(r: RunReport): string {
  const lines: string[] = [];
  const counts = (['ok', 'failed', 'interrupted'] as const)
    .map((s) => [s, r.jobs.filter((j) => j.outcome.status === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`);
  if (r.skipped.length > 0) counts.push(`${r.skipped.length} not started`);
  lines.push(`permafrost daemon on ${r.hostname}: ${r.period} run, ${runFailed(r) ? 'ERROR' : 'OK'}`);
  lines.push(`Started: ${localTime(r.startedAt)}`, `Finished: ${localTime(r.finishedAt)} (${duration(r.finishedAt - r.startedAt)})`);
  if (r.notRun !== undefined) lines.push('', `Not run: ${r.notRun}`);
  else lines.push(`Jobs: ${counts.join(', ') || 'none'}`);
  for (const j of r.jobs) lines.push(...jobBlock(j));
  for (const s of r.skipped) {
    lines.push(
      '',
      '===================================',
      `Job ${s.n}: \`${s.command}\``,
      'Not started: the daemon was stopping (SIGTERM).',
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}

function jobBlock(j: JobReport): string[] {
  const o = j.outcome;
  const out = [
    '',
    '===================================',
    `Job ${o.n}: \`${o.command}\``,
    `Started: ${localTime(o.startedAt)}`,
    `Finished: ${localTime(o.finishedAt)}`,
    `Duration: ${duration(o.durationMs)}`,
    `Success: ${o.status === 'ok' ? 'True' : 'False'}`,
  ];
  if (o.status === 'interrupted')
    out.push(
      'Interrupted: the daemon was stopped (SIGTERM) during this job. An interrupted backup leaves an incomplete set that restores ignore; the next backup starts a new one, and `cleanup --force` removes the leftovers.',
    );
  if (o.exitCode !== null) out.push(`Exit code: ${o.exitCode}`);
  if (o.signal !== null) out.push(`Signal: ${o.signal}`);
  if (o.error !== undefined) out.push(`Error: ${o.error}`);
  if (o.summary !== undefined) out.push(...summaryLines(o.summary));
  out.push(...j.notes.map((n) => `Ping: ${n}`));
  out.push(
    '',
    o.logBytes > 0 ? `Output (${formatBytes(o.logBytes)}):` : 'Output: none',
    ...(o.log === '' ? [] : o.log.replace(/\n$/, '').split('\n')),
  );
  return out;
}

/** A backup's --json summary in a few lines. */
export function summaryLines(s: Readonly<Record<string, unknown>>): string[] {
  const n = (k: string) => (typeof s[k] === 'number' ? (s[k] as number) : undefined);
  const out: string[] = [];
  if (typeof s['type'] === 'string') {
    const files = [`${n('newFiles') ?? 0} new`, `${n('changedFiles') ?? 0} changed`, `${n('deletedFiles') ?? 0} deleted`].join(', ');
    out.push(
      `Backup: ${s['type'] === 'inc' ? 'incremental' : s['type']}, ${n('volumes') ?? 0} volume${n('volumes') === 1 ? '' : 's'}; files ${files}; read ${formatBytes(n('sourceBytes') ?? 0)}, uploaded ${formatBytes(n('uploadedBytes') ?? 0)}${(n('errors') ?? 0) > 0 ? `; ${n('errors')} unreadable` : ''}${(n('changedWhileRead') ?? 0) > 0 ? `; ${n('changedWhileRead')} changed while read` : ''}`,
    );
  }
  const requests = s['requests'] as RequestSummary | undefined;
  if (requests && typeof requests === 'object' && requests.requests && requests.uploaded) {
    out.push(formatRequestSummary(requests, formatBytes));
    const cost = estimateRunCost(requests);
    out.push(
      `Cost estimate (us-east-1 list prices): requests ${formatUsd(cost.requests)}; storage of this run's uploads ${formatUsd(cost.storagePerMonth)} a month`,
    );
  }
  return out;
}

/** `2026-11-28 02:00:03 +0100`: local time (TZ), as the image's naive datetimes, but with the offset. */
export function localTime(ms: number): string {
  const d = new Date(ms);
  const pad = (v: number, w = 2) => String(v).padStart(w, '0');
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${sign}${pad(Math.floor(Math.abs(off) / 60))}${pad(Math.abs(off) % 60)}`;
}

export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${(ms / 1000).toFixed(1)}s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h ${pad2(m)}m ${pad2(s % 60)}s` : `${m}m ${pad2(s % 60)}s`;
}

function pad2(v: number): string {
  return String(v).padStart(2, '0');
}
