import type { BackupSet, Collection } from '../../archive/collection.ts';
import { combineSignatures, type SignatureEntry } from '../../archive/signature-reader.ts';
import { indexStartsWith, type PathIndex } from '../../core/path-index.ts';
import type { TargetContext } from '../context.ts';
import { remoteDecoder } from '../remote-decoder.ts';

export interface RestoreTotals {
  /** entries a restore of `within` writes (directories and links included) */
  readonly files: number;
  /** bytes of the regular files among them */
  readonly bytes: number;
}

/**
 * What a restore of `within` from `sets` will write, from the signatures of those sets (the
 * cache's copies; no volume is read): the totals behind a restore's percentage and ETA. Null when
 * the sets have no signature chain; an unreadable signature fails the restore later, not here.
 */
export async function restoreTotals(
  ctx: TargetContext,
  collection: Collection,
  sets: readonly BackupSet[],
  within: PathIndex,
): Promise<RestoreTotals | null> {
  const first = sets[0];
  const last = sets[sets.length - 1];
  if (!first || !last) return null;
  const sigChain = collection.signatureChains.find((s) => s.full.startTime === first.startTime);
  if (!sigChain) return null;
  const files = [sigChain.full, ...sigChain.incs.filter((s) => s.endTime <= last.endTime)];
  const decode = remoteDecoder(ctx.prefixes, ctx.encryption);
  const streams: AsyncIterable<SignatureEntry>[] = [];
  let count = 0;
  let bytes = 0;
  try {
    for (const f of files) streams.push(await ctx.cache.signatureEntries(f.info.name, ctx.backend, decode, () => {}));
    for await (const e of combineSignatures(streams)) {
      if (!e.meta || !indexStartsWith(e.meta.index, within)) continue;
      count++;
      if (e.meta.type === 'reg') bytes += e.meta.size;
    }
  } catch {
    return null;
  }
  return { files: count, bytes };
}
