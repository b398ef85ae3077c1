/**
 * The retention verbs on a sharded target, by generation: `remove-older-than T` keeps the oldest
 * complete generation that ended at or after T (at least the newest complete one) and removes
 * every older generation, `remove-all-but-n-full N`
 * every generation older than the N-th newest complete one, `remove-all-inc-of-but-n-full N` only
 * the incrementals of those. The newest complete generation is never removed. In each shard the
 * ordinary retention runs with a cut at its chain of the oldest generation kept, so a shard never
 * loses a chain that a kept generation needs. Nothing is deleted before every shard's plan is
 * known and allowed (early deletion), and the catalogue drops a generation before its chains go,
 * so it never lists a half-deleted one.
 */
import { buildCollection } from '../../archive/collection.ts';
import type { Reporter } from '../reporter.ts';
import { retention, type RetentionOptions, type RetentionRequest, type RetentionResult } from '../retention/retention.ts';
import { isComplete, readCatalogue, updateCatalogue, type GenerationRecord } from './catalogue.ts';
import { planName } from './layout.ts';
import type { ShardedTarget } from './sharded-target.ts';

export interface ShardedRetentionResult {
  /** the oldest generation kept whole; null when there is no complete generation (nothing is removed) */
  readonly keptFrom: number | null;
  /** generations removed (with --force) or that would be (without) */
  readonly generations: readonly number[];
  readonly incrementalsOnly: boolean;
  readonly shards: readonly (RetentionResult & { readonly shard: number })[];
  readonly deleted: boolean;
}

/** Which generations go, and the oldest one kept; pure. */
export function generationsToRemove(
  generations: readonly GenerationRecord[],
  request: RetentionRequest,
): { keep: GenerationRecord | null; remove: GenerationRecord[] } {
  const complete = generations.filter(isComplete);
  const newest = complete.at(-1);
  if (!newest) return { keep: null, remove: [] };
  if (request.mode === 'remove-older-than') {
    const ended = (g: GenerationRecord) => Math.max(g.started, ...Object.values(g.done).map((d) => d.last));
    // the oldest complete generation that ended at or after the time, or the newest complete one;
    // everything older goes (incomplete generations older than a complete one are never used)
    const keep = complete.find((g) => g === newest || ended(g) >= request.time)!;
    return { keep, remove: generations.filter((g) => g.generation < keep.generation) };
  }
  if (complete.length <= request.count) return { keep: complete[0]!, remove: [] };
  const keep = complete[complete.length - request.count]!;
  return { keep, remove: generations.filter((g) => g.generation < keep.generation) };
}

export async function shardedRetention(
  target: ShardedTarget,
  request: RetentionRequest,
  options: RetentionOptions,
): Promise<ShardedRetentionResult> {
  const { catalogue } = await readCatalogue(target.control, target.controlUrl);
  const { keep, remove } = generationsToRemove(catalogue.generations, request);
  const incrementalsOnly = request.mode === 'remove-all-inc-of-but-n-full';
  if (keep === null) {
    target.reporter.notice('No complete generation at the sharded target: nothing is removed.');
    return { keptFrom: null, generations: [], incrementalsOnly, shards: [], deleted: false };
  }
  const names = remove.map((g) => g.generation);
  if (remove.length > 0)
    target.reporter.notice(
      `Generations ${incrementalsOnly ? 'whose incrementals go' : 'to remove'}: ${names.join(', ')}; the oldest kept is ${keep.generation}`,
    );
  const otherCounts = new Set(remove.filter((g) => g.shards !== keep.shards).map((g) => g.shards));
  for (const n of otherCounts)
    target.reporter.warning(
      `Generations with ${n} shards are not removed from their shard folders (shard-<i>-of-${n}): the kept generations have ${keep.shards}`,
    );

  const perShard = async (reporter: Reporter, opts: RetentionOptions) => {
    const results: (RetentionResult & { shard: number })[] = [];
    for (let s = 0; s < keep.shards; s++) {
      const opened = target.openShard(s, keep.shards);
      const ctx = { ...opened, reporter };
      try {
        const cut = keep.done[String(s)]!.full;
        let req: RetentionRequest = { mode: 'remove-older-than', time: cut };
        if (incrementalsOnly) {
          const chains = buildCollection(await ctx.backend.list(), ctx.prefixes).chains;
          req = { mode: 'remove-all-inc-of-but-n-full', count: Math.max(1, chains.filter((c) => c.startTime >= cut).length) };
        }
        results.push({ ...(await retention(ctx, req, opts)), shard: s });
      } finally {
        await opened.backend.close();
      }
    }
    return results;
  };

  if (!options.force || options.dryRun) {
    const shards = await perShard(target.reporter, options);
    return { keptFrom: keep.generation, generations: names, incrementalsOnly, shards, deleted: false };
  }
  // first every shard's plan, quietly, so that an early deletion refused in one shard deletes nothing anywhere
  const quiet: Reporter = { error: () => {}, warning: () => {}, notice: () => {}, info: () => {}, debug: () => {} };
  const planned = await perShard(quiet, { ...options, force: false });
  const early = planned.reduce((n, r) => n + r.earlyDeletion.objects.length, 0);
  if (early > 0 && !options.allowEarlyDeletion) {
    // the ordinary refusal, with its message, from the first shard that has such objects
    const first = planned.find((r) => r.earlyDeletion.objects.length > 0)!;
    const ctx = target.openShard(first.shard, keep.shards);
    try {
      await retention(ctx, { mode: 'remove-older-than', time: keep.done[String(first.shard)]!.full }, options);
    } finally {
      await ctx.backend.close();
    }
  }
  if (!incrementalsOnly && remove.length > 0) {
    const gone = new Set(names);
    await updateCatalogue(target.control, target.controlUrl, (c) => ({
      ...c,
      generations: c.generations.filter((g) => !gone.has(g.generation)),
    }));
  }
  const shards = await perShard(target.reporter, options);
  if (!incrementalsOnly)
    for (const g of names) {
      for (const name of [planName(g), `plan-${g}.claim`]) {
        const obj = await target.control.read(name);
        if (obj) await target.control.remove(name, obj.tag);
      }
    }
  return { keptFrom: keep.generation, generations: names, incrementalsOnly, shards, deleted: true };
}
