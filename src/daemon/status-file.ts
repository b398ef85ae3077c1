/**
 * A JSON file with the daemon's state and the last run of each job and period, for monitoring
 * (a file check, a sidecar, `cat` in the container). Written whole to a temporary file and renamed
 * into place, so a reader never sees half of it. It keeps what an earlier daemon wrote about jobs
 * that have not run since.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { JobOutcome } from './job-runner.ts';

export interface JobStatusEntry {
  readonly period: string;
  readonly command: string;
  readonly status: JobOutcome['status'];
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationMs: number;
  readonly error?: string;
  readonly summary?: Readonly<Record<string, unknown>>;
}

/** One job's result as the status file (and the webhook) show it. */
export function jobStatusEntry(o: JobOutcome): JobStatusEntry {
  return {
    period: o.period,
    command: o.command,
    status: o.status,
    exitCode: o.exitCode,
    signal: o.signal,
    startedAt: new Date(o.startedAt).toISOString(),
    finishedAt: new Date(o.finishedAt).toISOString(),
    durationMs: o.durationMs,
    ...(o.error !== undefined ? { error: o.error } : {}),
    ...(o.summary !== undefined ? { summary: o.summary } : {}),
  };
}

export interface PeriodStatusEntry {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly result: 'OK' | 'ERROR';
  readonly jobs: readonly number[];
  readonly notRun?: string;
}

export interface DaemonState {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
  readonly state: 'idle' | 'running' | 'stopping' | 'stopped';
  readonly current: { readonly period: string; readonly job: number | null; readonly since: string } | null;
  readonly nextRun: { readonly at: string; readonly periods: readonly string[] } | null;
}

export interface StatusDocument {
  readonly version: 1;
  readonly updatedAt: string;
  readonly daemon: DaemonState | null;
  readonly periods: Readonly<Record<string, PeriodStatusEntry>>;
  readonly jobs: Readonly<Record<string, JobStatusEntry>>;
}

export class StatusFile {
  readonly file: string;
  #doc: StatusDocument = { version: 1, updatedAt: new Date(0).toISOString(), daemon: null, periods: {}, jobs: {} };
  #writing: Promise<void> = Promise.resolve();

  constructor(file: string) {
    this.file = file;
  }

  /** Picks up the last runs recorded by an earlier daemon (a missing or unreadable file starts empty). */
  async load(): Promise<void> {
    try {
      const doc = JSON.parse(await fsp.readFile(this.file, 'utf8')) as Partial<StatusDocument>;
      this.#doc = { ...this.#doc, periods: doc.periods ?? {}, jobs: doc.jobs ?? {} };
    } catch {
      /* first start, or a file we cannot use: it is rewritten */
    }
  }

  get document(): StatusDocument {
    return this.#doc;
  }

  async setDaemon(state: DaemonState): Promise<void> {
    this.#doc = { ...this.#doc, daemon: state };
    await this.#write();
  }

  async recordJob(o: JobOutcome): Promise<void> {
    const entry = jobStatusEntry(o);
    this.#doc = { ...this.#doc, jobs: { ...this.#doc.jobs, [String(o.n)]: entry } };
    await this.#write();
  }

  async recordPeriod(period: string, entry: PeriodStatusEntry): Promise<void> {
    this.#doc = { ...this.#doc, periods: { ...this.#doc.periods, [period]: entry } };
    await this.#write();
  }

  #write(): Promise<void> {
    // Writes are serialized, so an older state never lands after a newer one.
    const next = this.#writing.then(async () => {
      this.#doc = { ...this.#doc, updatedAt: new Date().toISOString() };
      await fsp.mkdir(path.dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      await fsp.writeFile(tmp, `${JSON.stringify(this.#doc, null, 2)}\n`);
      await fsp.rename(tmp, this.file);
    });
    this.#writing = next.catch(() => undefined);
    return next;
  }
}
