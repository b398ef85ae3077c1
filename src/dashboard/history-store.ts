/**
 * What the dashboard remembers across daemon restarts, in the daemon's state directory: the run
 * history, the points of the plots (stored bytes and monthly cost of each target over time), the
 * last report of each job, the verify runs with the sets they checked, and each kept run's log
 * excerpt. Bounded (the newest MAX_RUNS runs, MAX_VERIFIES verify runs and MAX_POINTS points; logs of runs that drop out are deleted) and written whole to a temporary file
 * that is renamed into place, so a crash leaves the old or the new file, never half of one.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

export const MAX_RUNS = 500;
export const MAX_POINTS = 5000;
/** Verify runs kept (the newest), over all targets. */
export const MAX_VERIFIES = 500;
export const HISTORY_FILE = 'dashboard-history.json';
export const LOG_DIR = 'dashboard-logs';

export interface Run {
  readonly id: string;
  readonly job: string;
  readonly period: string;
  /** the command as shown in reports (secrets redacted) */
  readonly command: string;
  /** ISO times */
  readonly start: string;
  readonly end: string | null;
  readonly durationSeconds: number | null;
  readonly exitCode: number | null;
  readonly result: 'OK' | 'ERROR' | 'INTERRUPTED' | 'RUNNING';
  /** `full`, `incremental` (from the backup's --json summary), or `other` */
  readonly kind: string;
  readonly uploadedBytes?: number;
}

export interface HistoryPoint {
  readonly time: string;
  /** target id */
  readonly target: string;
  readonly storedBytes: number;
  readonly monthlyCostUsd: number;
}

export interface StoredReport {
  readonly subject: string;
  readonly body: string;
  /** whether it was mailed (false: no mail configured, or success reports are off) */
  readonly sent: boolean;
  readonly at: string;
}

export type VerifyResult = 'ok' | 'differences' | 'failed';
export type VerifyMode = 'in-place' | 'compare-data';

/** The sets of one chain a verify checked: those of the chain starting at `chainStart` up to `upTo` (epoch seconds). */
export interface CoveredRange {
  readonly chainStart: number;
  readonly upTo: number;
}

/** A run of a `dup verify` job and the sets it checked (verify-records.ts). */
export interface VerifyRecord {
  readonly runId: string;
  readonly job: string;
  /** target id */
  readonly target: string;
  /** ISO start of the run */
  readonly time: string;
  readonly result: VerifyResult;
  readonly exitCode: number | null;
  readonly mode: VerifyMode;
  /** the newest set it checked (epoch seconds); null when it covered none */
  readonly setTime: number | null;
  /** a `--file-to-restore` path: only part of each set was checked */
  readonly path?: string;
  readonly covered: readonly CoveredRange[];
}

interface HistoryDocument {
  readonly version: 1;
  runs: Run[];
  points: HistoryPoint[];
  reports: Record<string, StoredReport>;
  /** absent in files written before verify runs were kept */
  verifies: VerifyRecord[];
}

/** Run ids are the daemon's UUIDs; anything else never reaches the file system. */
const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class HistoryStore {
  readonly file: string;
  readonly #logDir: string;
  readonly #maxRuns: number;
  readonly #maxPoints: number;
  #doc: HistoryDocument = { version: 1, runs: [], points: [], reports: {}, verifies: [] };
  #writing: Promise<void> = Promise.resolve();

  constructor(stateDir: string, limits: { readonly maxRuns?: number; readonly maxPoints?: number } = {}) {
    this.file = path.join(stateDir, HISTORY_FILE);
    this.#logDir = path.join(stateDir, LOG_DIR);
    this.#maxRuns = limits.maxRuns ?? MAX_RUNS;
    this.#maxPoints = limits.maxPoints ?? MAX_POINTS;
  }

  /** Reads what an earlier daemon kept; a missing or unreadable file starts empty. */
  async load(): Promise<void> {
    try {
      const raw = JSON.parse(await fsp.readFile(this.file, 'utf8')) as Partial<HistoryDocument>;
      if (raw.version !== 1) return;
      this.#doc = {
        version: 1,
        runs: Array.isArray(raw.runs) ? raw.runs.filter((r) => typeof r?.id === 'string' && RUN_ID.test(r.id)) : [],
        points: Array.isArray(raw.points) ? raw.points : [],
        reports: raw.reports && typeof raw.reports === 'object' ? raw.reports : {},
        verifies: Array.isArray(raw.verifies) ? raw.verifies.filter((v) => typeof v?.target === 'string' && Array.isArray(v.covered)) : [],
      };
    } catch {
      /* first start, or a file we cannot use: it is rewritten */
    }
  }

  /** Newest first. */
  runs(job?: string): Run[] {
    const all = job === undefined ? this.#doc.runs : this.#doc.runs.filter((r) => r.job === job);
    return [...all].reverse();
  }

  points(): readonly HistoryPoint[] {
    return this.#doc.points;
  }

  lastPoint(target: string): HistoryPoint | undefined {
    for (let i = this.#doc.points.length - 1; i >= 0; i--) if (this.#doc.points[i]!.target === target) return this.#doc.points[i];
    return undefined;
  }

  report(job: string): StoredReport | undefined {
    return this.#doc.reports[job];
  }

  /** Adds a run, or replaces the one with its id (a run that started is replaced when it ends). */
  async putRun(run: Run, log?: string): Promise<void> {
    if (!RUN_ID.test(run.id)) return;
    const i = this.#doc.runs.findIndex((r) => r.id === run.id);
    if (i >= 0) this.#doc.runs[i] = run;
    else this.#doc.runs.push(run);
    const dropped = this.#doc.runs.splice(0, Math.max(0, this.#doc.runs.length - this.#maxRuns));
    if (log !== undefined) {
      await fsp.mkdir(this.#logDir, { recursive: true });
      await atomicWrite(path.join(this.#logDir, `${run.id}.log`), log);
    }
    for (const r of dropped) await fsp.rm(path.join(this.#logDir, `${r.id}.log`), { force: true });
    await this.#save();
  }

  async addPoint(p: HistoryPoint): Promise<void> {
    this.#doc.points.push(p);
    this.#doc.points.splice(0, Math.max(0, this.#doc.points.length - this.#maxPoints));
    await this.#save();
  }

  /** Verify runs of a target, oldest first. */
  verifies(target: string): VerifyRecord[] {
    return this.#doc.verifies.filter((v) => v.target === target);
  }

  async addVerify(v: VerifyRecord): Promise<void> {
    this.#doc.verifies.push(v);
    this.#doc.verifies.splice(0, Math.max(0, this.#doc.verifies.length - MAX_VERIFIES));
    await this.#save();
  }

  async putReport(jobs: readonly string[], report: StoredReport): Promise<void> {
    for (const j of jobs) this.#doc.reports[j] = report;
    await this.#save();
  }

  /** The kept log excerpt of a finished run, or null. */
  async log(id: string): Promise<string | null> {
    if (!RUN_ID.test(id)) return null;
    try {
      return await fsp.readFile(path.join(this.#logDir, `${id}.log`), 'utf8');
    } catch {
      return null;
    }
  }

  #save(): Promise<void> {
    // serialized, so an older state never lands after a newer one
    const next = this.#writing.then(async () => {
      await fsp.mkdir(path.dirname(this.file), { recursive: true });
      await atomicWrite(this.file, `${JSON.stringify(this.#doc)}\n`);
    });
    this.#writing = next.catch(() => undefined);
    return next;
  }
}

async function atomicWrite(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, text);
  await fsp.rename(tmp, file);
}
