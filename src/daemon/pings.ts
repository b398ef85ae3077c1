/**
 * Per-job notifications: healthchecks.io-style pings (`/start` before the job, the check URL on
 * success, `/fail` on failure, each with a run id), Uptime Kuma pushes, and a JSON webhook. A ping
 * that fails never fails the job: it is noted in the report. Each job's own result decides its
 * ping (docker-duplicity used the run's cumulative failure flag, so one failure failed every
 * later job's check). URLs carry tokens: notes name only their host.
 */
import type { PingUrls } from './config.ts';
import type { JobOutcome } from './job-runner.ts';
import { jobStatusEntry } from './status-file.ts';

const TIMEOUT_MS = 10_000;
/** healthchecks.io keeps the first 100 kB of a ping body; the excerpt's end is what matters. */
const PING_BODY_BYTES = 10_000;

export async function pingStart(urls: PingUrls, runId: string): Promise<string[]> {
  if (urls.healthchecks === undefined) return [];
  return [await send('healthchecks start', `${trimSlash(urls.healthchecks)}/start?rid=${runId}`, { method: 'GET' })];
}

export interface JobEvent {
  readonly hostname: string;
  readonly outcome: JobOutcome;
}

export async function pingFinish(urls: PingUrls, runId: string, event: JobEvent): Promise<string[]> {
  const { outcome } = event;
  const ok = outcome.status === 'ok';
  const notes: Promise<string>[] = [];
  if (urls.healthchecks !== undefined) {
    const url = `${trimSlash(urls.healthchecks)}${ok ? '' : '/fail'}?rid=${runId}`;
    notes.push(
      send(`healthchecks ${ok ? 'success' : 'fail'}`, url, {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body: tail(outcome.error ?? outcome.log),
      }),
    );
  }
  if (urls.uptimeKuma !== undefined) {
    const u = new URL(urls.uptimeKuma);
    u.search = '';
    u.searchParams.set('status', ok ? 'up' : 'down');
    u.searchParams.set(
      'msg',
      ok ? 'OK' : `job ${outcome.n} ${outcome.status}${outcome.exitCode !== null ? ` (exit ${outcome.exitCode})` : ''}`,
    );
    u.searchParams.set('ping', String(outcome.durationMs));
    notes.push(send('uptime-kuma', u.toString(), { method: 'GET' }));
  }
  if (urls.webhook !== undefined) {
    notes.push(
      send('webhook', urls.webhook, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(webhookBody(event)),
      }),
    );
  }
  return Promise.all(notes);
}

/** The webhook's JSON: one job's result. */
export function webhookBody(event: JobEvent): Record<string, unknown> {
  const o = event.outcome;
  const { period, ...rest } = jobStatusEntry(o);
  return { event: 'job.finished', host: event.hostname, period, job: o.n, ...rest, log: tail(o.log) };
}

async function send(label: string, url: string, init: RequestInit): Promise<string> {
  const where = safeOrigin(url);
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
    await res.arrayBuffer().catch(() => undefined);
    return res.ok ? `${label} ping to ${where}: HTTP ${res.status}` : `${label} ping to ${where} failed: HTTP ${res.status}`;
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    return `${label} ping to ${where} failed: ${e.cause?.code ?? e.cause?.message ?? e.message}`;
  }
}

function safeOrigin(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(bad URL)';
  }
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

function tail(s: string): string {
  const b = Buffer.from(s, 'utf8');
  return b.length <= PING_BODY_BYTES ? s : `[...]\n${b.subarray(b.length - PING_BODY_BYTES).toString('utf8')}`;
}
