/**
 * `/metrics`: Prometheus text format from prom-client, in a registry of this server's own (not
 * prom-client's global default one, so two servers in one process, or a test, stay apart). The
 * gauges are set from the dashboard's model when scraped; the counters grow with each job's
 * uploads and each request the jobs and the dashboard send to a target. Target labels are URLs
 * without credentials.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { REQUEST_TYPES, type RequestSummary, type RequestType } from '../backend/request-accounting.ts';
import type { JobOutcome } from '../daemon/job-runner.ts';
import { uploadedBytes, type DashboardModel } from './dashboard-model.ts';
import type { DashboardTarget } from './targets.ts';
import type { VerifyRecord } from './history-store.ts';
import { lastVerifyByResult } from './verify-records.ts';

/** target URL (without credentials) → state → volumes */
export type ThawCountsByTarget = () => ReadonlyMap<string, Readonly<Record<string, number>>>;

export class DashboardMetrics {
  readonly registry = new Registry();
  readonly #model: DashboardModel;
  readonly #thaws: ThawCountsByTarget;
  readonly #verifies: (t: DashboardTarget) => readonly VerifyRecord[];
  readonly #lastVerify: Gauge;
  readonly #lastSuccess: Gauge;
  readonly #lastRun: Gauge;
  readonly #lastExit: Gauge;
  readonly #lastDuration: Gauge;
  readonly #stored: Gauge;
  readonly #monthly: Gauge;
  readonly #thawVolumes: Gauge;
  readonly #uploaded: Counter;
  readonly #requests: Counter;

  constructor(model: DashboardModel, thaws: ThawCountsByTarget, verifies: (t: DashboardTarget) => readonly VerifyRecord[] = () => []) {
    this.#model = model;
    this.#thaws = thaws;
    this.#verifies = verifies;
    const registers = [this.registry];
    this.#lastSuccess = new Gauge({
      name: 'permafrost_job_last_success_timestamp_seconds',
      help: 'When the last successful run of the job started (Unix time).',
      labelNames: ['job'],
      registers,
    });
    this.#lastRun = new Gauge({
      name: 'permafrost_job_last_run_timestamp_seconds',
      help: 'When the last run of the job started (Unix time).',
      labelNames: ['job'],
      registers,
    });
    this.#lastExit = new Gauge({
      name: 'permafrost_job_last_exit_code',
      help: 'Exit code of the last run of the job (-1: no exit code, e.g. killed by a signal).',
      labelNames: ['job'],
      registers,
    });
    this.#lastDuration = new Gauge({
      name: 'permafrost_job_last_duration_seconds',
      help: 'How long the last run of the job took.',
      labelNames: ['job'],
      registers,
    });
    this.#stored = new Gauge({
      name: 'permafrost_target_stored_bytes',
      help: 'Bytes the target holds, by storage class (from its listing).',
      labelNames: ['target', 'storage_class'],
      registers,
    });
    this.#monthly = new Gauge({
      name: 'permafrost_target_monthly_cost_usd',
      help: 'Monthly storage cost of what the target holds, USD at list prices.',
      labelNames: ['target'],
      registers,
    });
    this.#thawVolumes = new Gauge({
      name: 'permafrost_thaw_volumes',
      help: 'Volumes of the thaws the dashboard follows, by state (requested, in-progress, ready, expiring, expired).',
      labelNames: ['target', 'state'],
      registers,
    });
    this.#lastVerify = new Gauge({
      name: 'permafrost_target_last_verify_timestamp_seconds',
      help: "When the newest of the daemon's verify runs of the target with this result (ok, differences, failed) started (Unix time).",
      labelNames: ['target', 'result'],
      registers,
    });
    this.#uploaded = new Counter({
      name: 'permafrost_uploaded_bytes_total',
      help: "Bytes the daemon's jobs uploaded to the target since the daemon started.",
      labelNames: ['target'],
      registers,
    });
    this.#requests = new Counter({
      name: 'permafrost_requests_total',
      help: "Requests sent to the target's object store by the daemon's jobs and the dashboard since the daemon started, by kind.",
      labelNames: ['target', 'kind'],
      registers,
    });
    for (const t of model.targets) this.#uploaded.inc({ target: t.url }, 0);
    model.onJobEnd((o, t) => this.jobEnded(o, t));
  }

  jobEnded(o: JobOutcome, t: DashboardTarget | undefined): void {
    if (!t) return;
    const bytes = uploadedBytes(o);
    if (bytes !== undefined) this.#uploaded.inc({ target: t.url }, bytes);
    const requests = o.summary?.['requests'] as RequestSummary | undefined;
    if (requests?.requests) this.countRequests(t, requests.requests);
  }

  countRequests(t: DashboardTarget, byKind: Readonly<Partial<Record<RequestType, number>>>): void {
    for (const kind of REQUEST_TYPES) {
      const n = byKind[kind];
      if (typeof n === 'number' && n > 0) this.#requests.inc({ target: t.url, kind }, n);
    }
  }

  /** The text a scrape gets. */
  async render(): Promise<string> {
    const seconds = (iso: string) => Date.parse(iso) / 1000;
    for (const g of [
      this.#lastSuccess,
      this.#lastRun,
      this.#lastExit,
      this.#lastDuration,
      this.#stored,
      this.#monthly,
      this.#thawVolumes,
      this.#lastVerify,
    ])
      g.reset();
    for (const j of this.#model.jobs()) {
      if (j.lastSuccess) this.#lastSuccess.set({ job: j.name }, seconds(j.lastSuccess));
      if (!j.lastRun) continue;
      this.#lastRun.set({ job: j.name }, seconds(j.lastRun.start));
      this.#lastExit.set({ job: j.name }, j.lastRun.exitCode ?? -1);
      if (j.lastRun.durationSeconds !== null) this.#lastDuration.set({ job: j.name }, j.lastRun.durationSeconds);
    }
    for (const s of this.#model.summaries()) {
      for (const [cls, bytes] of Object.entries(s.storedBytes)) this.#stored.set({ target: s.url, storage_class: cls }, bytes);
      if (s.monthlyCostUsd !== null) this.#monthly.set({ target: s.url }, s.monthlyCostUsd);
    }
    for (const t of this.#model.targets)
      for (const [result, at] of lastVerifyByResult(this.#verifies(t))) this.#lastVerify.set({ target: t.url, result }, at);
    for (const [target, states] of this.#thaws())
      for (const [state, n] of Object.entries(states)) this.#thawVolumes.set({ target, state }, n);
    return this.registry.metrics();
  }
}
