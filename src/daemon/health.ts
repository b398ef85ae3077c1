/**
 * The service's health, from its status file: what the image's HEALTHCHECK runs
 * (`permafrost daemon --health`). Unhealthy when there is no status file (the daemon never got to
 * write it: a state folder it cannot write), when the last run of a scheduled job did not end
 * `ok`, or when a job is overdue: a run of one of its periods fell due more than an hour ago and
 * has not started, while the daemon was idle.
 */
import * as fsp from 'node:fs/promises';
import type { DaemonConfig } from './config.ts';
import { Schedule } from './schedule.ts';
import type { StatusDocument } from './status-file.ts';

/** How late a run may start before its job counts as overdue (a run queued behind another waits for it). */
export const OVERDUE_AFTER_MS = 60 * 60 * 1000;

export interface Health {
  readonly healthy: boolean;
  /** one line each; empty when healthy */
  readonly problems: readonly string[];
}

/** The status file, or null when it is missing or not JSON. */
export async function readStatusDocument(file: string): Promise<StatusDocument | null> {
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8')) as StatusDocument;
  } catch {
    return null;
  }
}

export function assessHealth(config: DaemonConfig, statusFile: string, doc: StatusDocument | null, now: number): Health {
  if (doc === null) return { healthy: false, problems: [`no status file at ${statusFile}: the daemon has not written it (see its log)`] };
  const problems: string[] = [];
  const daemonSince = Date.parse(doc.daemon?.startedAt ?? '') || 0;
  const busy = doc.daemon?.state === 'running';
  for (const job of config.jobs) {
    const last = doc.jobs?.[String(job.n)];
    if (last !== undefined && last.status !== 'ok') {
      const how = last.exitCode !== null ? `exit ${last.exitCode}` : last.signal ? `signal ${last.signal}` : (last.error ?? 'no exit code');
      problems.push(`job ${job.n} ${last.status} (${how}) at ${last.finishedAt}`);
      continue;
    }
    const periods = config.periods.filter((p) => job.periods.includes(p.name));
    if (periods.length === 0 || busy) continue;
    const since = Math.max(daemonSince, Date.parse(last?.startedAt ?? '') || 0);
    if (since === 0) continue;
    const due = new Schedule(periods).next(since);
    if (due !== null && due.at + OVERDUE_AFTER_MS < now)
      problems.push(`job ${job.n} is overdue: its ${due.periods.join(', ')} run was due at ${new Date(due.at).toISOString()}`);
  }
  return { healthy: problems.length === 0, problems };
}
