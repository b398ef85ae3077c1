/**
 * One worker's part of a sharded backup: decide the run from the catalogue (shard-run.ts), get
 * the generation's plan (the first worker makes and writes it, the others read it), back up this
 * shard's paths as an ordinary duplicity chain at `shard-<i>-of-<N>`, then record the shard in the
 * catalogue; the worker that records the last shard of a generation marks it complete.
 */
import { buildCollection } from '../../archive/collection.ts';
import { timeToString } from '../../codec/time-string.ts';
import { ExitCode, PermafrostError } from '../../core/errors.ts';
import type { Selection } from '../../fs/selection.ts';
import { backup, type BackupRequest, type BackupResult } from '../backup/backup.ts';
import { isComplete, readCatalogue, updateCatalogue, withGeneration, withShardDone, type GenerationRecord } from './catalogue.ts';
import { planName } from './layout.ts';
import { makePlan, membership } from './plan.ts';
import { DEFAULT_PLAN_CLAIM_TIMING, readOrCreatePlan, readPlan, type StoredPlan } from './plan-store.ts';
import { decideShardRun, type ShardRun } from './shard-run.ts';
import type { ShardedTarget } from './sharded-target.ts';
import { summarizeTree } from './tree-summary.ts';

export interface ShardedBackupRequest {
  readonly shards: number;
  readonly index: number;
  /** the ordinary backup request; `mode` and `fullIfOlderThan` are decided per generation here */
  readonly backup: BackupRequest;
}

export interface ShardedBackupResult {
  readonly generation: number;
  readonly index: number;
  readonly shards: number;
  readonly run: ShardRun['kind'];
  /** the shard's set; null when a full this worker had made before it was killed was recorded instead */
  readonly result: BackupResult | null;
  /** every shard of the generation has its full now */
  readonly complete: boolean;
  readonly planMadeHere: boolean;
  /** milliseconds spent on the plan (walk and write, or read) and on the catalogue */
  readonly planMs: number;
  readonly catalogueMs: number;
}

export async function shardedBackup(target: ShardedTarget, req: ShardedBackupRequest): Promise<ShardedBackupResult> {
  const { shards, index } = req;
  if (!Number.isInteger(index) || index < 0 || index >= shards)
    throw new PermafrostError(ExitCode.usage, `shard index ${index} is out of range for ${shards} shards (0 to ${shards - 1})`);
  const where = target.controlUrl;
  const dryRun = req.backup.dryRun;
  let catalogueMs = 0;
  const timed = async <T>(f: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      catalogueMs += performance.now() - t0;
    }
  };

  const { catalogue } = await timed(() => readCatalogue(target.control, where));
  const run = decideShardRun(catalogue, {
    mode: req.backup.mode,
    shards,
    index,
    ...(req.backup.fullIfOlderThan !== undefined ? { fullIfOlderThan: req.backup.fullIfOlderThan } : {}),
  });

  const t0 = performance.now();
  const stored = await planFor(target, run, shards, req.backup.source, req.backup.selection, dryRun);
  const planMs = performance.now() - t0;
  if (stored.plan.shards !== shards)
    throw new PermafrostError(ExitCode.usage, `generation ${run.generation}'s plan has ${stored.plan.shards} shards, not ${shards}`);

  let generation: GenerationRecord | undefined = catalogue.generations.find((g) => g.generation === run.generation);
  if (run.kind === 'full' && run.opens && !dryRun) {
    const record = { generation: run.generation, shards, plan: planName(run.generation), started: stored.created };
    const updated = await timed(() => updateCatalogue(target.control, where, (c) => withGeneration(c, record)));
    generation = updated.generations.find((g) => g.generation === run.generation);
    if (generation?.shards !== shards)
      throw new PermafrostError(ExitCode.usage, `generation ${run.generation} was opened with ${generation?.shards} shards, not ${shards}`);
    target.reporter.notice(`Shard ${index} of ${shards}: ${stored.madeHere ? 'opened' : 'joined'} generation ${run.generation} (full)`);
  } else {
    target.reporter.notice(`Shard ${index} of ${shards}: ${run.kind} in generation ${run.generation}`);
  }

  const ctx = target.openShard(index, shards);
  try {
    // a full this worker made before it was killed, not recorded yet: record it rather than redo it
    if (run.kind === 'full' && !run.opens && generation !== undefined && !dryRun) {
      const collection = buildCollection(await ctx.backend.list(), ctx.prefixes);
      const made = collection.chains.filter((c) => c.startTime >= generation!.started).at(-1);
      if (made) {
        target.reporter.notice(`Shard ${index}: its full of ${timeToString(made.startTime)} is at the target already; recording it`);
        const done = await timed(() => record(target, run.generation, index, made.startTime, made.endTime));
        return {
          generation: run.generation,
          index,
          shards,
          run: run.kind,
          result: null,
          complete: done,
          planMadeHere: stored.madeHere,
          planMs,
          catalogueMs,
        };
      }
    }
    const plan = stored.plan;
    const selection = req.backup.selection.restrictedTo((i) => membership(plan, index, i) === 'other');
    const { fullIfOlderThan: _ignored, ...rest } = req.backup;
    const result = await backup(ctx, { ...rest, mode: run.kind, selection });
    let complete = false;
    if (!dryRun) {
      const full = run.kind === 'full' ? result.endTime : (generation?.done[String(index)]?.full ?? result.startTime);
      complete = await timed(() => record(target, run.generation, index, full, result.endTime));
      if (complete && run.kind === 'full')
        target.reporter.notice(`Generation ${run.generation} is complete: all ${shards} shards have their full`);
    }
    return {
      generation: run.generation,
      index,
      shards,
      run: run.kind,
      result,
      complete,
      planMadeHere: stored.madeHere,
      planMs,
      catalogueMs,
    };
  } finally {
    await ctx.backend.close();
  }
}

async function planFor(
  target: ShardedTarget,
  run: ShardRun,
  shards: number,
  source: string,
  selection: Selection,
  dryRun: boolean,
): Promise<StoredPlan> {
  const where = target.controlUrl;
  const make = async () => {
    let unreadable = 0;
    const tree = await summarizeTree(source, selection, () => {
      unreadable++;
    });
    if (unreadable > 0) target.reporter.info(`Shard plan: ${unreadable} path(s) could not be read and count as empty`);
    return makePlan(tree, shards);
  };
  if (run.kind === 'full' && run.opens) {
    if (dryRun) {
      const existing = await readPlan(target.control, run.generation, where);
      return existing ?? { plan: await make(), generation: run.generation, created: target.now(), madeHere: true };
    }
    return readOrCreatePlan(target.control, run.generation, where, make, target.now(), DEFAULT_PLAN_CLAIM_TIMING, (m) =>
      target.reporter.notice(m),
    );
  }
  const existing = await readPlan(target.control, run.generation, where);
  if (!existing) throw new PermafrostError(ExitCode.corruptArchive, `the plan of generation ${run.generation} is missing at ${where}`);
  return existing;
}

/** Records shard `index`'s set; true when the generation is complete now. */
async function record(target: ShardedTarget, generation: number, index: number, full: number, last: number): Promise<boolean> {
  const now = target.now();
  const written = await updateCatalogue(target.control, target.controlUrl, (c) => withShardDone(c, generation, index, { full, last }, now));
  const g = written.generations.find((x) => x.generation === generation);
  return g !== undefined && isComplete(g);
}
