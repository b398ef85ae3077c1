/**
 * What the dashboard knows, kept up to date from the daemon's events: the jobs and their runs
 * (live and from the history), the targets' stored bytes and monthly cost (read at start, after
 * each job that uses the target, and every REFRESH_MS), and the live events for `/api/events`.
 */
import type { DaemonEvent } from '../daemon/daemon-events.ts';
import type { JobOutcome } from '../daemon/job-runner.ts';
import { Schedule } from '../daemon/schedule.ts';
import type { DaemonAccess } from './daemon-access.ts';
import { EventHub, parseProgressLine } from './event-hub.ts';
import type { HistoryStore, Run } from './history-store.ts';
import type { TargetReader, TargetSummary } from './target-reader.ts';
import { jobName, withoutUrlCredentials, type DashboardTarget } from './targets.ts';

/** How often the targets are read again without a job (a listing per target). */
export const REFRESH_MS = 15 * 60_000;
/** A job is overdue when its due run has not started this long after it was due. */
export const OVERDUE_GRACE_MS = 60 * 60_000;
/** Lines of a running job's output kept for `/api/runs/:id/log`. */
const LIVE_LOG_LINES = 2000;

export interface JobView {
  readonly name: string;
  readonly command: string;
  /** the period names of JOB_<N>_WHEN */
  readonly schedule: string;
  readonly running: boolean;
  readonly lastRun: Run | null;
  readonly lastSuccess: string | null;
  readonly nextRun: string | null;
  readonly overdue: boolean;
  readonly failing: boolean;
}

interface LiveRun {
  readonly run: Run;
  readonly lines: string[];
}

export class DashboardModel {
  readonly hub = new EventHub();
  readonly targets: readonly DashboardTarget[];
  readonly #daemon: DaemonAccess;
  readonly #history: HistoryStore;
  readonly #reader: TargetReader;
  readonly #log: (line: string) => void;
  readonly #redact: (s: string) => string;
  readonly #summaries = new Map<string, TargetSummary>();
  readonly #live = new Map<string, LiveRun>();
  readonly #schedules = new Map<string, Schedule>();
  readonly #refreshing = new Map<string, Promise<void>>();
  readonly #startedAt = Date.now();
  readonly #onJobEnd: ((outcome: JobOutcome, target: DashboardTarget | undefined) => void)[] = [];
  #unsubscribe: (() => void) | null = null;
  #timer: NodeJS.Timeout | undefined;

  constructor(o: {
    daemon: DaemonAccess;
    targets: readonly DashboardTarget[];
    history: HistoryStore;
    reader: TargetReader;
    log: (line: string) => void;
    redact: (s: string) => string;
  }) {
    this.#daemon = o.daemon;
    this.targets = o.targets;
    this.#history = o.history;
    this.#reader = o.reader;
    this.#log = o.log;
    this.#redact = o.redact;
    for (const job of o.daemon.config.jobs) {
      const periods = o.daemon.config.periods.filter((p) => job.periods.includes(p.name));
      this.#schedules.set(jobName(job.n), new Schedule(periods));
    }
  }

  get history(): HistoryStore {
    return this.#history;
  }

  /** Starts listening to the daemon and reads every target once (in the background). */
  start(): void {
    this.#unsubscribe = this.#daemon.events.on((e) => this.#onDaemonEvent(e));
    void this.refreshAll();
    this.#timer = setInterval(() => void this.refreshAll(), REFRESH_MS);
    this.#timer.unref();
  }

  stop(): void {
    this.#unsubscribe?.();
    clearInterval(this.#timer);
  }

  /** Called after each job ends, with the target it used (metrics count its uploads). */
  onJobEnd(fn: (outcome: JobOutcome, target: DashboardTarget | undefined) => void): void {
    this.#onJobEnd.push(fn);
  }

  target(id: string): DashboardTarget | undefined {
    return this.targets.find((t) => t.id === id);
  }

  summaries(): TargetSummary[] {
    return this.targets.map(
      (t) => this.#summaries.get(t.id) ?? { id: t.id, url: t.url, jobs: t.jobs, storedBytes: {}, monthlyCostUsd: null, readAt: null },
    );
  }

  async refreshAll(): Promise<void> {
    for (const t of this.targets) await this.refresh(t);
  }

  /**
   * Reads one target's stored bytes and cost; a point for the plots when they changed or an hour
   * passed. Readings of one target run one after the other: two at once (the timer and a job's
   * end) could finish out of order and leave the older figure standing.
   */
  refresh(t: DashboardTarget): Promise<void> {
    const next = (this.#refreshing.get(t.id) ?? Promise.resolve()).then(() => this.#read(t));
    this.#refreshing.set(t.id, next);
    void next.finally(() => {
      if (this.#refreshing.get(t.id) === next) this.#refreshing.delete(t.id);
    });
    return next;
  }

  async #read(t: DashboardTarget): Promise<void> {
    try {
      const s = await this.#reader.summary(t);
      this.#summaries.set(t.id, s);
      const storedBytes = Object.values(s.storedBytes).reduce((a, b) => a + b, 0);
      const last = this.#history.lastPoint(t.id);
      const monthly = s.monthlyCostUsd ?? 0;
      if (!last || last.storedBytes !== storedBytes || Date.now() - Date.parse(last.time) >= 3600_000)
        await this.#history.addPoint({ time: s.readAt!, target: t.id, storedBytes, monthlyCostUsd: monthly });
    } catch (err) {
      const error = this.#redact((err as Error).message);
      this.#log(`dashboard: cannot read ${t.url}: ${error}`);
      const before = this.#summaries.get(t.id);
      this.#summaries.set(t.id, {
        ...(before ?? { id: t.id, url: t.url, jobs: t.jobs, storedBytes: {}, monthlyCostUsd: null, readAt: null }),
        error,
      });
    }
  }

  jobs(now: number = Date.now()): JobView[] {
    const state = this.#daemon.state();
    const status = this.#daemon.statusDocument();
    return this.#daemon.config.jobs.map((job) => {
      const name = jobName(job.n);
      const runs = this.#history.runs(name).filter((r) => r.result !== 'RUNNING');
      const fromStatus = status.jobs[String(job.n)];
      const lastRun: Run | null =
        runs[0] ??
        (fromStatus
          ? {
              id: '',
              job: name,
              period: fromStatus.period,
              command: this.#redact(fromStatus.command),
              start: fromStatus.startedAt,
              end: fromStatus.finishedAt,
              durationSeconds: fromStatus.durationMs / 1000,
              exitCode: fromStatus.exitCode,
              result: fromStatus.status === 'ok' ? 'OK' : fromStatus.status === 'interrupted' ? 'INTERRUPTED' : 'ERROR',
              kind: kindOf(fromStatus.summary),
            }
          : null);
      const lastSuccess = runs.find((r) => r.result === 'OK')?.start ?? (fromStatus?.status === 'ok' ? fromStatus.startedAt : null);
      const running = [...this.#live.values()].some((l) => l.run.job === name) || state.current?.job === job.n;
      const schedule = this.#schedules.get(name)!;
      const next = schedule.next(now);
      // due: the first firing after the last run started (or after the dashboard started)
      const since = lastRun ? Date.parse(lastRun.start) : this.#startedAt;
      const due = schedule.next(since);
      const overdue = !running && due !== null && due.at + OVERDUE_GRACE_MS < now;
      return {
        name,
        command: this.#redact(job.what),
        schedule: job.periods.join(' '),
        running,
        lastRun,
        lastSuccess,
        nextRun: next ? new Date(next.at).toISOString() : null,
        overdue,
        failing: lastRun !== null && lastRun.result !== 'OK',
      };
    });
  }

  /** The job now running on the target, if any (its cache is being written). */
  busyWith(t: DashboardTarget): string | null {
    for (const l of this.#live.values()) if (t.jobs.includes(l.run.job)) return l.run.job;
    const current = this.#daemon.state().current?.job;
    return current !== null && current !== undefined && t.jobs.includes(jobName(current)) ? jobName(current) : null;
  }

  /** A run's log lines: live while it runs, then the kept excerpt. */
  async runLog(id: string): Promise<string[] | null> {
    const live = this.#live.get(id);
    if (live) return [...live.lines];
    const text = await this.#history.log(id);
    return text === null ? null : text.replace(/\n$/, '').split('\n');
  }

  /** Runs newest first, the running ones included. */
  runs(job?: string): Run[] {
    const live = [...this.#live.values()].map((l) => l.run).filter((r) => job === undefined || r.job === job);
    const ids = new Set(live.map((r) => r.id));
    return [...live.reverse(), ...this.#history.runs(job).filter((r) => !ids.has(r.id))];
  }

  #onDaemonEvent(e: DaemonEvent): void {
    switch (e.type) {
      case 'job-start': {
        const job = jobName(e.job);
        const run: Run = {
          id: e.runId,
          job,
          period: e.period,
          command: this.#redact(e.command),
          start: new Date(e.at).toISOString(),
          end: null,
          durationSeconds: null,
          exitCode: null,
          result: 'RUNNING',
          kind: 'other',
        };
        this.#live.set(e.runId, { run, lines: [] });
        this.hub.publish({ event: 'job-start', data: { job, runId: e.runId, period: e.period, command: run.command, start: run.start } });
        return;
      }
      case 'log': {
        const job = jobName(e.job);
        // the daemon redacted the line as its own log gets it; credentials in a URL go too
        const line = withoutUrlCredentials(e.line);
        const live = this.#live.get(e.runId);
        if (live) {
          live.lines.push(line);
          if (live.lines.length > LIVE_LOG_LINES) live.lines.splice(0, live.lines.length - LIVE_LOG_LINES);
        }
        const progress = parseProgressLine(line);
        if (progress) this.hub.publish({ event: 'progress', data: { job, runId: e.runId, ...progress } });
        else this.hub.publish({ event: 'log', data: { job, runId: e.runId, line } });
        return;
      }
      case 'job-end': {
        const o = e.outcome;
        const job = jobName(o.n);
        const run = { ...runOf(e.runId, o), command: this.#redact(o.command) };
        this.#live.delete(e.runId);
        const target = this.targets.find((t) => t.jobs.includes(job));
        void this.#history
          .putRun(run, withoutUrlCredentials(o.log))
          .catch((err: Error) => this.#log(`dashboard: cannot write ${this.#history.file}: ${err.message}`));
        for (const fn of this.#onJobEnd) fn(o, target);
        this.hub.publish({ event: 'job-end', data: { job, runId: e.runId, run } });
        if (target) void this.refresh(target);
        return;
      }
      case 'report': {
        void this.#history
          .putReport(e.jobs.map(jobName), {
            subject: e.subject,
            body: withoutUrlCredentials(e.body),
            sent: e.sent,
            at: new Date(e.at).toISOString(),
          })
          .catch((err: Error) => this.#log(`dashboard: cannot write ${this.#history.file}: ${err.message}`));
        return;
      }
      case 'state':
        return;
    }
  }
}

function runOf(id: string, o: JobOutcome): Run {
  const uploaded = uploadedBytes(o);
  return {
    id,
    job: jobName(o.n),
    period: o.period,
    command: o.command,
    start: new Date(o.startedAt).toISOString(),
    end: new Date(o.finishedAt).toISOString(),
    durationSeconds: o.durationMs / 1000,
    exitCode: o.exitCode,
    result: o.status === 'ok' ? 'OK' : o.status === 'interrupted' ? 'INTERRUPTED' : 'ERROR',
    kind: kindOf(o.summary),
    ...(typeof uploaded === 'number' ? { uploadedBytes: uploaded } : {}),
  };
}

/** The backup's --json summary names the set it wrote: `full` or `inc`. */
function kindOf(summary: Readonly<Record<string, unknown>> | undefined): string {
  const t = summary?.['type'];
  return t === 'full' ? 'full' : t === 'inc' ? 'incremental' : 'other';
}

/** Bytes the job uploaded: its backup summary's count (file:// and S3 alike), else its S3 request summary's. */
export function uploadedBytes(o: JobOutcome): number | undefined {
  const direct = o.summary?.['uploadedBytes'];
  if (typeof direct === 'number') return direct;
  const viaRequests = (o.summary?.['requests'] as { uploaded?: { bytes?: unknown } } | undefined)?.uploaded?.bytes;
  return typeof viaRequests === 'number' ? viaRequests : undefined;
}
