/**
 * Which generation a read of a sharded target uses: the newest complete one, or with --time the
 * newest complete one whose every full is at or before that time; and for each shard, the time to
 * read it at, inside that generation's chain, so that a newer (incomplete) generation's full in
 * the same shard folder is never mixed in.
 */
import { buildCollection } from '../../archive/collection.ts';
import { timeToString } from '../../codec/time-string.ts';
import { ExitCode, PermafrostError } from '../../core/errors.ts';
import { isComplete, readCatalogue, type Catalogue, type GenerationRecord } from './catalogue.ts';
import { readPlan, type StoredPlan } from './plan-store.ts';
import type { ShardedTarget } from './sharded-target.ts';

export interface ChosenGeneration {
  readonly catalogue: Catalogue;
  readonly generation: GenerationRecord;
  readonly plan: StoredPlan;
}

/** The shards a generation lacks, by index. */
export function missingShards(g: GenerationRecord): number[] {
  return Array.from({ length: g.shards }, (_, i) => i).filter((i) => g.done[String(i)] === undefined);
}

export function pickGeneration(c: Catalogue, time: number | undefined): GenerationRecord | undefined {
  const fits = (g: GenerationRecord) => time === undefined || Object.values(g.done).every((d) => d.full <= time);
  return c.generations.filter((g) => isComplete(g) && fits(g)).at(-1);
}

export async function chooseGeneration(target: ShardedTarget, time: number | undefined): Promise<ChosenGeneration> {
  const { catalogue } = await readCatalogue(target.control, target.controlUrl);
  const generation = pickGeneration(catalogue, time);
  for (const g of catalogue.generations) {
    if (!isComplete(g) && (generation === undefined || g.generation > generation.generation))
      target.reporter.notice(`Generation ${g.generation} is incomplete (shards ${missingShards(g).join(', ')} have no full): not used`);
  }
  if (!generation) {
    const why =
      catalogue.generations.length === 0
        ? 'no generation'
        : time === undefined
          ? 'no complete generation'
          : `no complete generation at ${timeToString(time)}`;
    throw new PermafrostError(ExitCode.noChain, `${why} in the sharded target ${target.controlUrl.replace(/\/permafrost-shards$/, '')}`);
  }
  const plan = await readPlan(target.control, generation.generation, target.controlUrl);
  if (!plan)
    throw new PermafrostError(
      ExitCode.corruptArchive,
      `the plan of generation ${generation.generation} is missing at ${target.controlUrl}`,
    );
  return { catalogue, generation, plan };
}

/** The time to read shard `index` at: the end of its chain of the generation, or `time` when earlier. */
export async function shardTime(target: ShardedTarget, g: GenerationRecord, index: number, time: number | undefined): Promise<number> {
  const full = g.done[String(index)]!.full;
  const ctx = target.openShard(index, g.shards);
  try {
    const chain = buildCollection(await ctx.backend.list(), ctx.prefixes).chains.find((c) => c.startTime === full);
    if (!chain)
      throw new PermafrostError(
        ExitCode.corruptArchive,
        `shard ${index} of generation ${g.generation}: its full of ${timeToString(full)} is missing at ${ctx.backend.displayUrl}`,
      );
    return time === undefined ? chain.endTime : Math.min(time, chain.endTime);
  } finally {
    await ctx.backend.close();
  }
}
