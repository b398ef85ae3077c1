/**
 * `cleanup` of a sharded target: the ordinary cleanup in every shard folder the catalogue knows
 * (each generation's shard count), each under its own target lock; what it finds is named with
 * its shard folder.
 */
import { cleanup } from '../cleanup/cleanup.ts';
import { readCatalogue } from './catalogue.ts';
import { shardFolder } from './layout.ts';
import type { ShardedTarget } from './sharded-target.ts';

export interface ShardedCleanupResult {
  /** `shard-<i>-of-<N>/<name>` */
  readonly extraneous: string[];
  readonly deleted: boolean;
}

export async function shardedCleanup(target: ShardedTarget, force: boolean): Promise<ShardedCleanupResult> {
  const { catalogue } = await readCatalogue(target.control, target.controlUrl);
  const counts = [...new Set(catalogue.generations.map((g) => g.shards))].sort((a, b) => a - b);
  const extraneous: string[] = [];
  let deleted = false;
  for (const n of counts) {
    for (let i = 0; i < n; i++) {
      const ctx = target.openShard(i, n);
      try {
        const r = await cleanup(ctx, force);
        extraneous.push(...r.extraneous.map((name) => `${shardFolder(i, n)}/${name}`));
        deleted ||= r.deleted;
      } finally {
        await ctx.backend.close();
      }
    }
  }
  return { extraneous, deleted };
}
