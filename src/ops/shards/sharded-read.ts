/**
 * `list-current-files`, `collection-status` and `verify` of a sharded target, as of one backup:
 * the chosen generation's shards read at their times and merged (list: in duplicity's path
 * order, the shared directories once).
 */
import { compareIndex } from '../../core/path-index.ts';
import type { EntryMeta } from '../../core/entry.ts';
import type { PathIndex } from '../../core/path-index.ts';
import { listCurrentFiles } from '../list/list-files.ts';
import { verifyTarget, type TargetVerifyResult } from '../verify/verify-target.ts';
import { isComplete, readCatalogue, type GenerationRecord } from './catalogue.ts';
import { chooseGeneration, missingShards, pickGeneration, shardTime } from './generation-choice.ts';
import type { ShardedTarget } from './sharded-target.ts';
import type { TargetContext } from '../context.ts';
import type { Selection } from '../../fs/selection.ts';
import { verify } from '../verify/verify.ts';
import { membership, shardOf } from './plan.ts';
import { shardFolder } from './layout.ts';

export async function* shardedListCurrentFiles(target: ShardedTarget, time: number | undefined): AsyncGenerator<EntryMeta> {
  const { generation } = await chooseGeneration(target, time);
  const n = generation.shards;
  const contexts: TargetContext[] = [];
  try {
    const streams: AsyncIterator<EntryMeta>[] = [];
    for (let s = 0; s < n; s++) {
      const t = await shardTime(target, generation, s, time);
      const ctx = target.openShard(s, n);
      contexts.push(ctx);
      streams.push(listCurrentFiles(ctx, t)[Symbol.asyncIterator]());
    }
    const heads = await Promise.all(streams.map((it) => it.next()));
    for (;;) {
      let min: PathIndex | null = null;
      for (const h of heads) if (!h.done && (min === null || compareIndex(h.value.index, min) < 0)) min = h.value.index;
      if (min === null) return;
      let first: EntryMeta | null = null;
      for (let s = 0; s < n; s++) {
        const h = heads[s]!;
        if (h.done || compareIndex(h.value.index, min) !== 0) continue;
        first ??= h.value;
        heads[s] = await streams[s]!.next();
      }
      yield first!;
    }
  } finally {
    for (const ctx of contexts) await ctx.backend.close();
  }
}

export interface ShardedStatus {
  readonly sharded: true;
  /** the generation a restore without --time uses; null when none is complete */
  readonly current: number | null;
  readonly generations: readonly (GenerationRecord & { readonly missing: readonly number[]; readonly state: 'complete' | 'incomplete' })[];
}

export async function shardedStatus(target: ShardedTarget): Promise<ShardedStatus> {
  const { catalogue } = await readCatalogue(target.control, target.controlUrl);
  return {
    sharded: true,
    current: pickGeneration(catalogue, undefined)?.generation ?? null,
    generations: catalogue.generations.map((g) => ({ ...g, missing: missingShards(g), state: isComplete(g) ? 'complete' : 'incomplete' })),
  };
}

export interface ShardedVerifyResult {
  readonly generation: number;
  readonly shards: readonly (TargetVerifyResult & { readonly shard: number })[];
  /** every shard's problems as lines, each after its shard's folder: non-empty means exit 1, as on one target */
  readonly differences: string[];
}

/**
 * `verify` without downloads, shard by shard, each at its time in the chosen generation; with a
 * path, only the shard that holds it (every shard for a split directory).
 */
export async function shardedVerifyTarget(
  target: ShardedTarget,
  time: number | undefined,
  within?: PathIndex,
): Promise<ShardedVerifyResult> {
  const { generation, plan } = await chooseGeneration(target, time);
  const owner = within === undefined ? 'shared' : shardOf(plan.plan, within);
  const indexes = owner === 'shared' ? Array.from({ length: generation.shards }, (_, i) => i) : [owner];
  const shards: (TargetVerifyResult & { shard: number })[] = [];
  for (const s of indexes) {
    const t = await shardTime(target, generation, s, time);
    const ctx = target.openShard(s, generation.shards);
    try {
      shards.push({ ...(await verifyTarget(ctx, { time: t, ...(within !== undefined ? { fileToRestore: within } : {}) })), shard: s });
    } finally {
      await ctx.backend.close();
    }
  }
  const differences = shards.flatMap((r) => r.differences.map((d) => `${shardFolder(r.shard, generation.shards)}: ${d}`));
  return { generation: generation.generation, shards, differences };
}

export interface ShardedCompareResult {
  readonly generation: number;
  readonly filesChecked: number;
  readonly volumesRead: number;
  readonly differences: string[];
}

/**
 * `verify --compare-data` shard by shard: each shard's chain read at its time and compared with
 * its part of the source (the selection restricted to the shard's paths by the generation's plan).
 */
export async function shardedVerifyCompare(
  target: ShardedTarget,
  time: number | undefined,
  source: string,
  selection: Selection,
  within?: PathIndex,
): Promise<ShardedCompareResult> {
  const { generation, plan } = await chooseGeneration(target, time);
  const owner = within === undefined ? 'shared' : shardOf(plan.plan, within);
  const indexes = owner === 'shared' ? Array.from({ length: generation.shards }, (_, i) => i) : [owner];
  let filesChecked = 0;
  let volumesRead = 0;
  const differences: string[] = [];
  for (const s of indexes) {
    const t = await shardTime(target, generation, s, time);
    const ctx = target.openShard(s, generation.shards);
    try {
      const own = selection.restrictedTo((index) => membership(plan.plan, s, index) === 'other');
      const r = await verify(ctx, {
        time: t,
        compareData: true,
        source,
        selection: own,
        ...(within !== undefined ? { fileToRestore: within } : {}),
      });
      filesChecked += r.filesChecked;
      volumesRead += r.volumesRead;
      differences.push(...r.differences);
    } finally {
      await ctx.backend.close();
    }
  }
  return { generation: generation.generation, filesChecked, volumesRead, differences };
}
