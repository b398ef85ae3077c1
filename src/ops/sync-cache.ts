import type { RemoteObjectInfo } from '../backend/backend.ts';
import { parseRemoteName } from '../codec/remote-name.ts';
import { buildCollection, type Collection } from '../archive/collection.ts';
import type { TargetContext } from './context.ts';

/**
 * Brings the archive directory in line with the target: cached metadata whose remote file is
 * gone is dropped (the target is authoritative, as in duplicity). Missing files are fetched on
 * demand when an operation needs them, which is how a lost cache is rebuilt.
 */
export async function syncCache(ctx: TargetContext, listing: readonly RemoteObjectInfo[], _collection: Collection): Promise<void> {
  await ctx.cache.ensure();
  const removed = await ctx.cache.prune(
    listing.map((o) => o.name),
    (local) => {
      const parsed = parseRemoteName(local, ctx.prefixes);
      return parsed !== null && (parsed.manifest || parsed.kind === 'full-sig' || parsed.kind === 'new-sig') && !parsed.partial;
    },
  );
  for (const name of removed) ctx.reporter.info(`Deleting local ${name} (not authoritative at backend).`);
}

/**
 * What every reading operation starts with: the target's backup sets and chains (from `listing`,
 * or from a new listing when none is given), with the cache brought in line.
 */
export async function syncedCollection(ctx: TargetContext, listing?: readonly RemoteObjectInfo[]): Promise<Collection> {
  const objects = listing ?? (await ctx.backend.list());
  const collection = buildCollection(objects, ctx.prefixes);
  await syncCache(ctx, objects, collection);
  return collection;
}
