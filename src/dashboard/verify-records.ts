/**
 * The verify status of a target's sets, from the daemon's own `dup verify ...` jobs: nothing is
 * read from a volume for it. When such a job starts, the target is listed (one listing, as the
 * Overview's reading) and the sets the verify is about to check are noted, with the rules of
 * `verify` itself: without `--compare-data` and `--time`, every set of every chain; with `--time
 * T` or `--compare-data`, the sets a restore at T (default: the latest backup) reads. The daemon
 * runs one job at a time, so no set appears during the verify; a set made later is not covered.
 * When the job ends, its exit code gives the result (0 ok, 1 differences, else failed) and the
 * record is kept in the history store. A verify limited by `--file-to-restore` checks only part
 * of each set: it is kept (and counted in the metric) but covers no set; an interrupted one is
 * not kept.
 */
import { allSets, buildCollection, type BackupSet } from '../archive/collection.ts';
import { parseTimeSpec } from '../codec/time-string.ts';
import { parseCommandLine } from '../command-line/parse-command-line.ts';
import { jobCommand } from '../daemon/job-command.ts';
import type { DaemonEvent } from '../daemon/daemon-events.ts';
import type { JobOutcome } from '../daemon/job-runner.ts';
import type { DaemonAccess } from './daemon-access.ts';
import type { CoveredRange, HistoryStore, VerifyMode, VerifyRecord, VerifyResult } from './history-store.ts';
import { selectSets } from '../ops/restore/restore.ts';
import type { TargetReader } from './target-reader.ts';
import { jobName, type DashboardTarget } from './targets.ts';

/** What a set's row gets: the newest verify that covered it. */
export interface SetVerify {
  readonly status: VerifyResult;
  readonly time: string;
  readonly mode: VerifyMode;
}

interface VerifyJob {
  readonly mode: VerifyMode;
  readonly time?: string;
  readonly timeSeparator?: string;
  readonly path?: string;
}

/** The verify a job's command runs, or null when it is not a plain `dup verify ...`. */
export async function verifyJobOf(what: string, env: Readonly<Record<string, string | undefined>>): Promise<VerifyJob | null> {
  const cmd = await jobCommand(what, env);
  if (cmd.kind !== 'permafrost' || cmd.verb !== 'verify') return null;
  const { options } = parseCommandLine(cmd.args, { env: env as NodeJS.ProcessEnv });
  return {
    mode: options.compareData ? 'compare-data' : 'in-place',
    ...(options.time !== undefined ? { time: options.time, timeSeparator: options.timeSeparator } : {}),
    ...(options.fileToRestore !== undefined ? { path: options.fileToRestore } : {}),
  };
}

/** The newest record covering the set ending at `setTime` of the chain starting at `chainStart`. */
export function verifyOfSet(records: readonly VerifyRecord[], chainStart: number, setTime: number): SetVerify | undefined {
  for (let i = records.length - 1; i >= 0; i--) {
    const r = records[i]!;
    if (r.covered.some((c) => c.chainStart === chainStart && setTime <= c.upTo)) return { status: r.result, time: r.time, mode: r.mode };
  }
  return undefined;
}

/** Per result, the start (epoch seconds) of the newest verify run of the target with that result. */
export function lastVerifyByResult(records: readonly VerifyRecord[]): Map<VerifyResult, number> {
  const out = new Map<VerifyResult, number>();
  for (const r of records) out.set(r.result, Math.max(out.get(r.result) ?? 0, Date.parse(r.time) / 1000));
  return out;
}

interface Pending {
  readonly target: DashboardTarget;
  readonly jobName: string;
  readonly job: VerifyJob;
  readonly at: number;
  readonly covered: Promise<CoveredRange[]>;
}

export class VerifyRecorder {
  readonly #daemon: DaemonAccess;
  readonly #targets: readonly DashboardTarget[];
  readonly #history: HistoryStore;
  readonly #reader: TargetReader;
  readonly #log: (line: string) => void;
  readonly #pending = new Map<string, Promise<Pending | null>>();
  readonly #verifyJobs = new Map<number, Promise<VerifyJob | null>>();
  #unsubscribe: (() => void) | null = null;

  constructor(o: {
    daemon: DaemonAccess;
    targets: readonly DashboardTarget[];
    history: HistoryStore;
    reader: TargetReader;
    log: (line: string) => void;
  }) {
    this.#daemon = o.daemon;
    this.#targets = o.targets;
    this.#history = o.history;
    this.#reader = o.reader;
    this.#log = o.log;
  }

  /**
   * Which jobs are verifies is read once, as the targets are: reading a command again at each run
   * would run the command substitutions of OPTIONS (`$(hostname -f)`) a second time.
   */
  start(): void {
    for (const job of this.#daemon.config.jobs)
      if (this.#targets.some((t) => t.jobs.includes(jobName(job.n))))
        this.#verifyJobs.set(
          job.n,
          verifyJobOf(job.what, this.#daemon.env).catch(() => null),
        );
    this.#unsubscribe = this.#daemon.events.on((e) => this.#onEvent(e));
  }

  stop(): void {
    this.#unsubscribe?.();
  }

  /** Verify runs of the target, oldest first. */
  records(t: DashboardTarget): VerifyRecord[] {
    return this.#history.verifies(t.id);
  }

  #onEvent(e: DaemonEvent): void {
    if (e.type === 'job-start') {
      const target = this.#targets.find((t) => t.jobs.includes(jobName(e.job)));
      const verifyJob = this.#verifyJobs.get(e.job);
      if (!target || !verifyJob) return;
      const pending = verifyJob
        .then((job) => (job ? { target, jobName: jobName(e.job), job, at: e.at, covered: this.#covered(target, job, e.at) } : null))
        .catch(() => null);
      this.#pending.set(e.runId, pending);
    } else if (e.type === 'job-end') {
      const pending = this.#pending.get(e.runId);
      this.#pending.delete(e.runId);
      if (pending) void this.#record(e.runId, pending, e.outcome);
    }
  }

  /** The sets the verify checks, read before it runs; none when the target cannot be read. */
  async #covered(t: DashboardTarget, job: VerifyJob, at: number): Promise<CoveredRange[]> {
    if (job.path !== undefined) return [];
    try {
      return await this.#reader.read(t, async (ctx) => {
        const collection = buildCollection(await ctx.backend.list(), ctx.prefixes);
        const time =
          job.time !== undefined
            ? parseTimeSpec(job.time, Math.floor(at / 1000), job.timeSeparator !== undefined ? { timeSeparator: job.timeSeparator } : {})
            : undefined;
        const sets: BackupSet[] =
          job.mode === 'in-place' && time === undefined ? allSets(collection) : selectSets(ctx, collection, time).sets;
        const ranges: CoveredRange[] = [];
        for (const chain of collection.chains) {
          const mine = [chain.full, ...chain.incs].filter((s) => sets.includes(s));
          if (mine.length > 0) ranges.push({ chainStart: chain.startTime, upTo: Math.max(...mine.map((s) => s.endTime)) });
        }
        return ranges;
      });
    } catch (err) {
      this.#log(`dashboard: cannot tell which sets the verify of ${t.url} checks: ${(err as Error).message}`);
      return [];
    }
  }

  async #record(runId: string, pending: Promise<Pending | null>, outcome: JobOutcome): Promise<void> {
    const { status, exitCode } = outcome;
    const p = await pending;
    if (!p || status === 'interrupted') return;
    const covered = await p.covered;
    const record: VerifyRecord = {
      runId,
      job: p.jobName,
      target: p.target.id,
      // the run's start as the run history has it (the job-start event comes a little later)
      time: new Date(outcome.startedAt).toISOString(),
      result: exitCode === 0 ? 'ok' : exitCode === 1 ? 'differences' : 'failed',
      exitCode,
      mode: p.job.mode,
      setTime: covered.length > 0 ? Math.max(...covered.map((c) => c.upTo)) : null,
      ...(p.job.path !== undefined ? { path: p.job.path } : {}),
      covered,
    };
    await this.#history.addVerify(record).catch((err: Error) => this.#log(`dashboard: cannot write ${this.#history.file}: ${err.message}`));
  }
}
