import { isArchivedClass, type RemoteObjectInfo } from '../../backend/backend.ts';
import { ROOT_INDEX, type PathIndex } from '../../core/path-index.ts';
import type { BackupSet } from '../../archive/collection.ts';
import type { TargetContext } from '../context.ts';
import { selectSets, volumesFor } from '../restore/restore.ts';
import { loadManifest } from '../set-manifest.ts';
import { syncedCollection } from '../sync-cache.ts';
import { setsNotTouching } from '../sets-touching.ts';

/** One volume a restore will read. */
export interface PlannedVolume {
  readonly name: string;
  readonly size: number;
  readonly storageClass: string;
  /** in GLACIER or DEEP_ARCHIVE: unreadable until restored */
  readonly archived: boolean;
}

export interface ThawPlan {
  /** the time the restore restores (the newest set it reads) */
  readonly setTime: number;
  /** the path restored; empty for the whole tree */
  readonly within: PathIndex;
  /** full and incremental sets read (increments that did not touch the path are not) */
  readonly sets: number;
  /** what the restore reads, in the order it reads the sets */
  readonly volumes: readonly PlannedVolume[];
  /** every volume of those sets: what a thaw of the whole chain would restore */
  readonly volumesInSets: number;
  readonly bytesInSets: number;
  /** the newest set read: its manifest proves the keys before anything is requested */
  readonly newestSet: BackupSet;
}

/**
 * Which volumes a restore of `within` as of `time` reads, from the listing and the manifests
 * alone (both in STANDARD storage): the chain's sets up to the time, without the increments whose
 * signature file shows they did not touch `within`, and in each set only the volumes whose path
 * ranges can hold `within` (docs/duplicity-format.md §3.9). Nothing archived is read.
 */
export async function planThaw(
  ctx: TargetContext,
  req: {
    readonly time?: number;
    readonly fileToRestore?: PathIndex /** the target's listing, when the caller has one */;
    readonly listing?: readonly RemoteObjectInfo[];
  },
): Promise<ThawPlan> {
  const collection = await syncedCollection(ctx, req.listing);
  const { sets } = selectSets(ctx, collection, req.time);
  const within = req.fileToRestore ?? ROOT_INDEX;
  const volumes: PlannedVolume[] = [];
  let volumesInSets = 0;
  let bytesInSets = 0;
  // the same sets as the restore reads: increments that did not touch the path are skipped
  const skip = await setsNotTouching(ctx, collection, sets, within);
  for (const set of sets) {
    for (const v of set.volumes.values()) {
      volumesInSets++;
      bytesInSets += v.size;
    }
    if (skip.has(set)) continue;
    for (const ref of volumesFor(set, await loadManifest(ctx, set), within)) {
      volumes.push(plannedVolume(set.volumes.get(ref.number)!));
    }
  }
  return {
    setTime: sets[sets.length - 1]!.endTime,
    within,
    sets: sets.length - skip.size,
    volumes,
    volumesInSets,
    bytesInSets,
    newestSet: sets[sets.length - 1]!,
  };
}

function plannedVolume(o: RemoteObjectInfo): PlannedVolume {
  const storageClass = o.storageClass ?? 'STANDARD';
  return { name: o.name, size: o.size, storageClass, archived: isArchivedClass(storageClass) };
}
