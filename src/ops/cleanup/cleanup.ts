import { hasLeftovers } from '../../backend/backend.ts';
import { buildCollection } from '../../archive/collection.ts';
import type { TargetContext } from '../context.ts';
import { takeWriterLocks } from '../take-target-lock.ts';
import { checkChainKeys } from '../key-check.ts';

export interface CleanupResult {
  /** Remote files that are not part of any restorable set. */
  readonly extraneous: string[];
  readonly deleted: boolean;
}

/**
 * Finds what interrupted or foreign runs left behind (docs/duplicity-format.md §7.7): sets without a manifest,
 * increments that extend no chain, signatures without a complete set, partial uploads. Lists them; deletes them only
 * with `force`. Never touches a file of a complete chain.
 */
export async function cleanup(ctx: TargetContext, force: boolean): Promise<CleanupResult> {
  const locks = force ? await takeWriterLocks(ctx, 'cleanup --force') : null;
  try {
    const collection = buildCollection(await ctx.backend.list(), ctx.prefixes);
    const names = new Set<string>();
    for (const set of [...collection.incompleteSets, ...collection.orphanedSets]) {
      for (const v of set.volumes.values()) names.add(v.name);
      if (set.manifest) names.add(set.manifest.name);
    }
    for (const s of collection.orphanedSignatures) names.add(s.info.name);
    // with --force the target lock keeps other runs (and their uploads in flight) away
    if (hasLeftovers(ctx.backend)) for (const n of await ctx.backend.listLeftovers()) names.add(n);
    const extraneous = [...names].sort();
    if (force && extraneous.length > 0) {
      const newest = collection.chains[collection.chains.length - 1];
      if (newest) await checkChainKeys(ctx, newest, 'delete');
      await ctx.backend.delete(extraneous);
      const remaining = await ctx.backend.list();
      await ctx.cache.prune(
        remaining.map((o) => o.name),
        (local) => extraneous.some((n) => n.startsWith(local.replace(/\.gz$/, ''))),
      );
    }
    return { extraneous, deleted: force && extraneous.length > 0 };
  } finally {
    await locks?.release();
  }
}
