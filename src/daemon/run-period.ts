/**
 * One run of a period: its jobs in ascending N under the run lock, each job's pings, the status
 * file, then the report. A failed job does not stop the later ones; a stopping daemon starts no
 * further job.
 */
import { randomUUID } from 'node:crypto';
import type { DaemonConfig } from './config.ts';
import { DEFAULT_SUBJECT } from './config.ts';
import type { DaemonEvents } from './daemon-events.ts';
import { startJob, type RunningJob } from './job-runner.ts';
import { sendMail } from './mailer.ts';
import { pingFinish, pingStart } from './pings.ts';
import { reportBody, reportSubject, runFailed, type JobReport, type RunReport } from './report.ts';
import { takeRunLock } from './run-lock.ts';
import type { DaemonState, StatusFile } from './status-file.ts';

export interface RunContext {
  readonly config: DaemonConfig;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly hostname: string;
  readonly status: StatusFile;
  /** the daemon's own log (one line each) */
  readonly log: (line: string) => void;
  readonly redact: (s: string) => string;
  readonly now: () => number;
  /** true once a stop was asked for: no further job starts */
  readonly stopping: () => boolean;
  /** the job now running (null when it ended), so that a stop can reach it */
  readonly onJob: (job: RunningJob | null) => void;
  /** what the status file says about the daemon between jobs */
  readonly daemonState: () => DaemonState;
  /** told of each job's start, output lines and end, and of each report (the dashboard listens) */
  readonly events?: DaemonEvents;
}

export type PeriodRun =
  | { readonly kind: 'nothing' }
  | { readonly kind: 'locked'; readonly report: RunReport }
  | { readonly kind: 'ran'; readonly report: RunReport };

export async function runPeriod(ctx: RunContext, period: string): Promise<PeriodRun> {
  const jobs = ctx.config.jobs.filter((j) => j.periods.includes(period));
  if (jobs.length === 0) {
    ctx.log(`${period}: nothing to do`);
    return { kind: 'nothing' };
  }
  const startedAt = ctx.now();
  const lock = await takeRunLock(ctx.config.lockFile, period, startedAt);
  if (!lock.taken) {
    const who = lock.holder
      ? `pid ${lock.holder.pid} on ${lock.holder.host}, ${lock.holder.period} run since ${lock.holder.since}`
      : 'a holder that is just starting';
    const notRun = `another run holds the lock ${ctx.config.lockFile} (${who})`;
    ctx.log(`${period}: not run: ${notRun}`);
    const report: RunReport = { hostname: ctx.hostname, period, startedAt, finishedAt: ctx.now(), jobs: [], skipped: [], notRun };
    await ctx.status.recordPeriod(period, {
      startedAt: iso(startedAt),
      finishedAt: iso(report.finishedAt),
      result: 'ERROR',
      jobs: jobs.map((j) => j.n),
      notRun,
    });
    await mailReport(ctx, report);
    return { kind: 'locked', report };
  }
  if (lock.tookOverFrom)
    ctx.log(
      `${period}: took over a stale lock of pid ${lock.tookOverFrom.pid} (${lock.tookOverFrom.period} run since ${lock.tookOverFrom.since})`,
    );
  const done: JobReport[] = [];
  const skipped: { n: number; command: string }[] = [];
  try {
    ctx.log(`${period}: running job${jobs.length === 1 ? '' : 's'} ${jobs.map((j) => j.n).join(', ')}`);
    for (const job of jobs) {
      if (ctx.stopping()) {
        skipped.push({ n: job.n, command: ctx.redact(job.what) });
        continue;
      }
      const urls = job.pingsFor(period);
      const runId = randomUUID();
      const notes = await pingStart(urls, runId);
      await ctx.status.setDaemon({ ...ctx.daemonState(), state: 'running', current: { period, job: job.n, since: iso(ctx.now()) } });
      const running = startJob(job, period, {
        env: ctx.env,
        excerptBytes: ctx.config.logExcerptBytes,
        redact: ctx.redact,
        now: ctx.now,
        onLine: (line) => {
          ctx.log(`[job ${job.n}] ${line}`);
          ctx.events?.emit({ type: 'log', runId, job: job.n, line });
        },
        onStart: (command) => ctx.events?.emit({ type: 'job-start', runId, job: job.n, period, command, at: ctx.now() }),
      });
      ctx.onJob(running);
      let outcome: Awaited<typeof running.done>;
      try {
        outcome = await running.done;
      } finally {
        ctx.onJob(null);
      }
      ctx.log(
        `${period}: job ${job.n} ${outcome.status}${outcome.exitCode !== null ? ` (exit ${outcome.exitCode})` : ''}${outcome.error ? `: ${outcome.error}` : ''} after ${(outcome.durationMs / 1000).toFixed(1)}s: ${outcome.command}`,
      );
      notes.push(...(await pingFinish(urls, runId, { hostname: ctx.hostname, outcome })));
      for (const note of notes.filter((n) => n.includes(' failed'))) ctx.log(`${period}: job ${job.n}: ${note}`);
      await ctx.status.recordJob(outcome);
      ctx.events?.emit({ type: 'job-end', runId, outcome });
      done.push({ outcome, notes });
    }
  } finally {
    await lock.release();
  }
  const report: RunReport = { hostname: ctx.hostname, period, startedAt, finishedAt: ctx.now(), jobs: done, skipped };
  await ctx.status.recordPeriod(period, {
    startedAt: iso(startedAt),
    finishedAt: iso(report.finishedAt),
    result: runFailed(report) ? 'ERROR' : 'OK',
    jobs: jobs.map((j) => j.n),
  });
  await mailReport(ctx, report);
  return { kind: 'ran', report };
}

async function mailReport(ctx: RunContext, report: RunReport): Promise<void> {
  const email = ctx.config.email;
  const wanted = email !== null && (ctx.config.reportSuccess || runFailed(report));
  const subject = reportSubject(email?.subject ?? DEFAULT_SUBJECT, report);
  const body = ctx.redact(reportBody(report));
  ctx.events?.emit({
    type: 'report',
    period: report.period,
    jobs: report.jobs.map((j) => j.outcome.n),
    subject,
    body,
    sent: wanted,
    at: ctx.now(),
  });
  if (!wanted || email === null) return;
  const error = await sendMail(email, subject, body, ctx.hostname);
  ctx.log(
    error === null
      ? `${report.period}: report sent to ${email.to.join(', ')}: ${subject}`
      : `${report.period}: cannot send the report: ${ctx.redact(error)}`,
  );
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
