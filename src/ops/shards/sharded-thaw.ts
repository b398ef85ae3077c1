/**
 * One thaw plan for a sharded target: the chosen generation's shards planned each as an ordinary
 * thaw (the volumes their restore reads), then summed into one plan and one price (quoted over
 * every shard's archived volumes together, with one `--days` for all), so that `thaw` and
 * `restore --thaw` of the whole target show and request what the whole restore needs.
 */
import { RESTORE_TIERS } from '../../pricing/pricing-table.ts';
import type { TargetContext } from '../context.ts';
import {
  ASSUMED_DOWNLOAD_BYTES_PER_SECOND,
  prepareThaw,
  quoteFor,
  type PreparedThaw,
  type ThawRequestOptions,
} from '../thaw/prepare-thaw.ts';
import { countStates } from '../thaw/thaw.ts';
import { chooseGeneration, shardTime } from './generation-choice.ts';
import { shardOf } from './plan.ts';
import type { ShardedTarget } from './sharded-target.ts';

export interface ShardThaw {
  readonly shard: number;
  /** the shard's target, open: requests and waits go through it; the caller closes it */
  readonly ctx: TargetContext;
  readonly prepared: PreparedThaw;
}

export interface ShardedThaw {
  readonly generation: number;
  /** the generation's shard count (the shards' folders are `shard-<i>-of-<count>`) */
  readonly shardCount: number;
  readonly shards: readonly ShardThaw[];
  /** the one plan and price of all shards together (its journal is shard 0's: not for writing) */
  readonly combined: PreparedThaw;
}

export async function prepareShardedThaw(target: ShardedTarget, req: Omit<ThawRequestOptions, 'listing'>): Promise<ShardedThaw> {
  const { generation, plan } = await chooseGeneration(target, req.time);
  const within = req.fileToRestore ?? [];
  const owner = shardOf(plan.plan, within);
  const indexes = owner === 'shared' ? Array.from({ length: generation.shards }, (_, i) => i) : [owner];
  const shards: ShardThaw[] = [];
  const opened: TargetContext[] = [];
  try {
    for (const s of indexes) {
      const time = await shardTime(target, generation, s, req.time);
      const ctx = target.openShard(s, generation.shards);
      opened.push(ctx);
      shards.push({ shard: s, ctx, prepared: await prepareThaw(ctx, { ...req, time }) });
    }
  } catch (err) {
    for (const ctx of opened) await ctx.backend.close();
    throw err;
  }
  // one --days for every shard: the longest any shard needs
  const days = req.days ?? Math.max(...shards.map((s) => s.prepared.days));
  const aligned = shards.map((s) => ({ ...s, prepared: { ...s.prepared, days } }));
  return {
    generation: generation.generation,
    shardCount: generation.shards,
    shards: aligned,
    combined: combine(
      aligned.map((s) => s.prepared),
      req,
      days,
    ),
  };
}

function combine(parts: readonly PreparedThaw[], req: Omit<ThawRequestOptions, 'listing'>, days: number): PreparedThaw {
  const first = parts[0]!;
  const volumes = parts.flatMap((p) => p.volumes);
  const archived = volumes.filter((v) => v.state === 'archived');
  const pending = volumes.filter((v) => v.volume.archived).reduce((n, v) => n + v.volume.size, 0);
  const waiting = archived.length > 0 || volumes.some((v) => v.state === 'in-progress');
  const waitHours = waiting ? quoteFor(req.pricing, volumes, req.tier, 1).typicalHours[1] : 0;
  const newest = parts.reduce((a, p) => (p.plan.setTime > a.plan.setTime ? p : a), first);
  return {
    plan: {
      setTime: newest.plan.setTime,
      within: first.plan.within,
      sets: parts.reduce((n, p) => n + p.plan.sets, 0),
      volumes: parts.flatMap((p) => p.plan.volumes),
      volumesInSets: parts.reduce((n, p) => n + p.plan.volumesInSets, 0),
      bytesInSets: parts.reduce((n, p) => n + p.plan.bytesInSets, 0),
      newestSet: newest.plan.newestSet,
    },
    volumes,
    journal: first.journal,
    tier: req.tier,
    days,
    toRequest: { objects: archived.length, bytes: archived.reduce((n, v) => n + v.volume.size, 0) },
    quotes: RESTORE_TIERS.map((tier) => quoteFor(req.pricing, archived, tier, days)),
    estimatedHours: waitHours + pending / ASSUMED_DOWNLOAD_BYTES_PER_SECOND / 3600,
    counts: countStates(volumes),
    pricing: req.pricing,
  };
}
