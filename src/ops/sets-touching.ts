import { compareIndex, type PathIndex } from '../core/path-index.ts';
import type { BackupSet, Collection } from '../archive/collection.ts';
import type { TargetContext } from './context.ts';
import { remoteDecoder } from './remote-decoder.ts';

/**
 * The most an increment's only volume can weigh and still be read for emptiness: a volume with
 * nothing in it is a few dozen bytes gzipped, a few hundred encrypted. Bigger ones surely hold
 * something, and their (bigger) signature files are not fetched just to learn that.
 */
const EMPTY_VOLUME_MAX_BYTES = 64 * 1024;

/**
 * The incremental sets among `sets` that hold nothing at or under `within`: their signature file
 * (STANDARD, usually cached) lists every path the increment changed, added or deleted, so a
 * restore of `within` reads nothing from them, and a thaw need not restore their volumes. For the
 * whole tree that is an increment whose signature file lists nothing: a backup that found no
 * change still writes one empty volume, as duplicity does (0.8.22 fails a restore when a volume
 * its manifest lists is missing), and restoring it from Glacier would buy nothing. Without a
 * signature file for a set, the set is not skipped.
 */
export async function setsNotTouching(
  ctx: TargetContext,
  collection: Collection,
  sets: readonly BackupSet[],
  within: PathIndex,
): Promise<Set<BackupSet>> {
  const skip = new Set<BackupSet>();
  const decode = remoteDecoder(ctx.prefixes, ctx.encryption);
  const wholeTree = within.length === 0;
  for (const set of sets) {
    if (set.type !== 'inc') continue;
    if (wholeTree && !mayBeEmpty(set)) continue;
    const sig = collection.signatureChains.flatMap((c) => c.incs).find((s) => s.startTime === set.startTime && s.endTime === set.endTime);
    if (!sig) continue;
    let touched = false;
    try {
      for await (const e of await ctx.cache.signatureEntries(sig.info.name, ctx.backend, decode, (m) => ctx.reporter.warning(m))) {
        if (isWithin(e.index, within)) {
          touched = true;
          break;
        }
        // entries are in path order: once past `within` and what lies under it, nothing more can match
        if (compareIndex(e.index, within) > 0) break;
      }
    } catch (err) {
      // the whole tree never needed the signature file: one that cannot be read only means the volume is read
      if (!wholeTree) throw err;
      ctx.reporter.debug(`${sig.info.name} not read (${(err as Error).message}): the set's volume is read`);
      touched = true;
    }
    if (!touched) skip.add(set);
  }
  return skip;
}

/** One volume, small enough to hold nothing. */
function mayBeEmpty(set: BackupSet): boolean {
  if (set.volumes.size !== 1) return false;
  const [only] = set.volumes.values();
  return only!.size <= EMPTY_VOLUME_MAX_BYTES;
}

function isWithin(index: PathIndex, within: PathIndex): boolean {
  if (index.length < within.length) return false;
  for (let i = 0; i < within.length; i++) if (!index[i]!.equals(within[i]!)) return false;
  return true;
}
