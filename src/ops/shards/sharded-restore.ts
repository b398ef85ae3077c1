/**
 * A restore of a sharded target: the chosen generation's shards restored side by side (`jobs` at
 * a time) into one destination, or only one shard's (a restore run as an Indexed Job, one worker
 * per shard). Directories shared by every shard (the plan's split directories) get their mtime
 * last, since another shard's files change it after the first shard set it.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { EntryMeta } from '../../core/entry.ts';
import { ExitCode, PermafrostError } from '../../core/errors.ts';
import { indexStartsWith, indexToBytes, type PathIndex } from '../../core/path-index.ts';
import { isEmptyOrMissingDir } from '../../fs/restore-writer.ts';
import { restore, type RestoreRequest, type RestoreResult } from '../restore/restore.ts';
import { chooseGeneration, shardTime } from './generation-choice.ts';
import { shardOf } from './plan.ts';
import type { ShardedTarget } from './sharded-target.ts';
import type { TargetContext } from '../context.ts';

export interface ShardedRestoreRequest extends Omit<RestoreRequest, 'time' | 'onEntry'> {
  readonly time?: number;
  /** shards restored at once */
  readonly jobs: number;
  /** restore only this shard (an Indexed Job's worker); the destination is shared, so it needs `force` */
  readonly index?: number;
  /** what a shard's restore reads through (restore --thaw: a backend that waits for thawed volumes) */
  readonly readThrough?: (shard: number, ctx: TargetContext) => TargetContext;
}

export interface ShardedRestoreResult extends RestoreResult {
  readonly generation: number;
  readonly shards: number[];
}

export async function shardedRestore(target: ShardedTarget, req: ShardedRestoreRequest): Promise<ShardedRestoreResult> {
  const { generation, plan } = await chooseGeneration(target, req.time);
  const n = generation.shards;
  const within = req.fileToRestore ?? [];
  const owner = shardOf(plan.plan, within);
  let shards = owner === 'shared' ? Array.from({ length: n }, (_, i) => i) : [owner];
  if (req.index !== undefined) {
    if (req.index >= n)
      throw new PermafrostError(
        ExitCode.usage,
        `shard index ${req.index} is out of range: generation ${generation.generation} has ${n} shards`,
      );
    if (!req.force && !req.dryRun)
      throw new PermafrostError(ExitCode.usage, 'a restore of one shard writes into a destination the other shards share: give --force');
    shards = shards.filter((s) => s === req.index);
    if (shards.length === 0) {
      target.reporter.notice(`Shard ${req.index} holds nothing of ${within.length === 0 ? 'the backup' : 'that path'}: nothing to restore`);
      return { files: 0, bytes: 0, volumesRead: 0, setTime: 0, generation: generation.generation, shards };
    }
  } else if (!req.dryRun && !req.force && !(await isEmptyOrMissingDir(Buffer.from(path.resolve(req.dest))))) {
    throw new PermafrostError(
      ExitCode.restoreDestExists,
      `restore destination ${JSON.stringify(req.dest)} exists and is not empty (use --force to restore into it)`,
    );
  }
  const times = await Promise.all(shards.map((s) => shardTime(target, generation, s, req.time)));
  target.reporter.notice(
    `Restoring generation ${generation.generation}: shard${shards.length === 1 ? '' : 's'} ${shards.join(', ')} of ${n}`,
  );

  const shared = new Map<string, EntryMeta>();
  const keepShared = (meta: EntryMeta) => {
    if (meta.type !== 'dir' || shardOf(plan.plan, meta.index) !== 'shared') return;
    const key = indexToBytes(meta.index).toString('latin1');
    if (!shared.has(key)) shared.set(key, meta);
  };
  // the shards would race to create the destination itself
  if (!req.dryRun && owner === 'shared' && shards.length > 1) await fsp.mkdir(path.resolve(req.dest), { recursive: true });
  const results = await inParallel(shards, req.jobs, async (s, k) => {
    const opened = target.openShard(s, n);
    const ctx = req.readThrough ? req.readThrough(s, opened) : opened;
    try {
      const { index: _i, jobs: _j, readThrough: _r, ...plain } = req;
      // one shard finds the others' files in the destination: checked once above, so force here
      return await restore(ctx, { ...plain, time: times[k]!, force: true, onEntry: keepShared });
    } finally {
      await ctx.backend.close();
    }
  });
  if (!req.dryRun && shards.length > 1) await setSharedMtimes(req.dest, within, [...shared.values()]);
  return {
    files: results.reduce((a, r) => a + r.files, 0) - Math.max(0, (shards.length - 1) * shared.size),
    bytes: results.reduce((a, r) => a + r.bytes, 0),
    volumesRead: results.reduce((a, r) => a + r.volumesRead, 0),
    setTime: Math.max(...results.map((r) => r.setTime)),
    generation: generation.generation,
    shards,
  };
}

/** Deepest first, so that setting a directory's mtime does not touch its parent's afterwards. */
async function setSharedMtimes(dest: string, within: PathIndex, dirs: EntryMeta[]): Promise<void> {
  const sorted = dirs.filter((d) => indexStartsWith(d.index, within)).sort((a, b) => b.index.length - a.index.length);
  for (const d of sorted) {
    const rel = indexToBytes(d.index.slice(within.length));
    const p = rel.length === 0 ? Buffer.from(path.resolve(dest)) : Buffer.concat([Buffer.from(`${path.resolve(dest)}/`), rel]);
    const when = new Date(d.mtime * 1000);
    await fsp.lutimes(p, when, when);
  }
}

/** Runs `work` over `items`, at most `jobs` at a time; results in the items' order. The first failure wins after all have stopped. */
export async function inParallel<T, R>(items: readonly T[], jobs: number, work: (item: T, k: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | null = null;
  const lane = async () => {
    while (failure === null && next < items.length) {
      const k = next++;
      try {
        results[k] = await work(items[k]!, k);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, lane));
  if (failure !== null) throw (failure as { error: unknown }).error;
  return results;
}
