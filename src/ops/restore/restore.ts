import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { EntryMeta } from '../../core/entry.ts';
import { compareIndex, indexToDisplay, type PathIndex, ROOT_INDEX } from '../../core/path-index.ts';
import { volumesContaining, type Manifest } from '../../codec/manifest.ts';
import { timeToString } from '../../codec/time-string.ts';
import { DeltaPatcher } from '../../codec/rsync/patch.ts';
import { chainAtTime, setsAtTime, type BackupSet, type Collection } from '../../archive/collection.ts';
import { SetReader, type SetEntry, type VolumeRef } from '../../archive/set-reader.ts';
import { RestoreWriter, isEmptyOrMissingDir } from '../../fs/restore-writer.ts';
import { holdsKilledRestoreLeftovers, removeKilledRestoreLeftovers } from '../../fs/restore-leftovers.ts';
import { SparseFile } from '../../fs/sparse-writer.ts';
import type { TargetContext } from '../context.ts';
import { makeRunTempDir } from '../run-temp-dir.ts';
import { ExitCode, PermafrostError } from '../../core/errors.ts';
import { syncedCollection } from '../sync-cache.ts';
import { loadManifest, volumeHashRecheck } from '../set-manifest.ts';
import { setsNotTouching } from '../sets-touching.ts';
import { refuseTimeBeforeFirstBackup } from '../before-first-backup.ts';
import { ProgressTicker } from '../progress-ticker.ts';
import { restoreTotals, type RestoreTotals } from './restore-totals.ts';

export interface RestoreRequest {
  /** Restore the state at this time (default: now, i.e. the latest). */
  readonly time?: number;
  /** A path inside the backup; it is written *as* `dest`. */
  readonly fileToRestore?: PathIndex;
  readonly dest: string;
  readonly force: boolean;
  readonly dryRun: boolean;
  readonly numericOwner: boolean;
  readonly restoreOwnership: boolean;
  /** Sees every entry written (a sharded restore keeps the shared directories' attributes to set them last). */
  readonly onEntry?: (meta: EntryMeta) => void;
}

export interface RestoreResult {
  readonly files: number;
  readonly bytes: number;
  readonly volumesRead: number;
  readonly setTime: number;
}

/** The chain and sets for a time, from names alone. Errors name what is missing. */
export function selectSets(ctx: TargetContext, collection: Collection, time: number | undefined): { sets: BackupSet[]; time: number } {
  const latest = collection.chains[collection.chains.length - 1];
  if (!latest) throw new PermafrostError(ExitCode.noChain, `no backup chain found at ${ctx.backend.displayUrl}`);
  // No --time means the latest backup, not "now": a rescue system's clock may be behind the backups'.
  if (time === undefined) return { sets: setsAtTime(latest, latest.endTime), time: latest.endTime };
  const chain = chainAtTime(collection, time)!;
  refuseTimeBeforeFirstBackup(collection, chain, time);
  return { sets: setsAtTime(chain, time), time };
}

/** The volumes of a set that can hold `within`, in manifest order, checked against the listing. */
export function volumesFor(set: BackupSet, manifest: Manifest, within: PathIndex): VolumeRef[] {
  const infos = within.length === 0 ? manifest.volumes : volumesContaining(manifest, within);
  return infos.map((v) => {
    const remote = set.volumes.get(v.volume);
    if (!remote)
      throw new PermafrostError(
        ExitCode.corruptArchive,
        `volume ${v.volume} of the set ending ${timeToString(set.endTime)} is listed in its manifest but missing at the target`,
      );
    return {
      number: v.volume,
      name: remote.name,
      sha1: v.hashes.get('SHA1') ?? null,
      compressed: set.compressed,
      encrypted: set.encrypted,
    };
  });
}

/**
 * Restores the tree (or one path) as of a time (docs/duplicity-format.md §3.9): the sets' entry streams are merged by
 * path; for each path the newest snapshot or deletion is the base, and later deltas are patched
 * onto it. Memory stays flat: data streams through temp files, never whole into memory.
 */
export async function restore(ctx: TargetContext, req: RestoreRequest): Promise<RestoreResult> {
  const collection = await syncedCollection(ctx);
  const { sets } = selectSets(ctx, collection, req.time);
  const within = req.fileToRestore ?? ROOT_INDEX;
  const skipSets = await setsNotTouching(ctx, collection, sets, within);

  const dest = Buffer.from(path.resolve(req.dest));
  if (!req.dryRun && !req.force && !(await isEmptyOrMissingDir(dest))) {
    const killed = (await holdsKilledRestoreLeftovers(dest))
      ? ' and holds temporary files of a killed restore (--force restores into it and removes them)'
      : ' (use --force to restore into it)';
    throw new PermafrostError(
      ExitCode.restoreDestExists,
      `restore destination ${JSON.stringify(req.dest)} exists and is not empty${killed}`,
    );
  }
  if (!req.dryRun && req.force) {
    const removed = await removeKilledRestoreLeftovers(dest);
    if (removed > 0) ctx.reporter.notice(`Removed ${removed} temporary file(s) that a killed restore left in ${JSON.stringify(req.dest)}`);
  }
  return await readSets(
    ctx,
    sets,
    within,
    req.dryRun,
    async (next) => {
      const writer = new RestoreWriter(Buffer.from(path.resolve(req.dest)), {
        numericOwner: req.numericOwner,
        restoreOwnership: req.restoreOwnership,
        force: req.force,
      });
      try {
        const result = await next({
          write: async (meta, data) => {
            await writer.write(meta, data ?? undefined);
            req.onEntry?.(meta);
          },
        });
        await writer.finish();
        return result;
      } catch (err) {
        // directories already written keep the attributes they can get; files are all complete
        await writer.finish().catch(() => {});
        throw err;
      }
    },
    skipSets,
    { phase: 'restore', totals: ctx.reporter.progress && !req.dryRun ? await restoreTotals(ctx, collection, sets, within) : null },
    false,
  );
}

/** A regular file's data: the chunks as they stream in, or all of it at once (a file in one tar entry). */
export type EntryData = AsyncIterable<Buffer> | readonly Buffer[];

/** Receives the restored entries in path order. `data` is null for everything but regular files. */
export interface EntrySink {
  write(meta: EntryMeta, data: EntryData | null): Promise<void>;
}

/**
 * Opens the sets' volumes that can hold `within` and hands `run` a function that streams every
 * restored entry into a sink. Shared by restore and verify.
 */
export async function readSets(
  ctx: TargetContext,
  sets: BackupSet[],
  within: PathIndex,
  dryRun: boolean,
  run: (next: (sink: EntrySink) => Promise<RestoreResult>) => Promise<RestoreResult>,
  /** sets known to hold nothing under `within` (see setsNotTouching): none of their volumes is read */
  skipSets: ReadonlySet<BackupSet> = new Set(),
  /** how progress is shown: the phase's name, and what will be written when known */
  progress: { phase: string; totals: RestoreTotals | null } = { phase: 'restore', totals: null },
  /**
   * false: the manifests' file lists are neither parsed nor checked. A restore does not use them
   * (as duplicity's does not), and 100k entries held ~15 MiB of heap for the whole run.
   */
  manifestFileList = true,
): Promise<RestoreResult> {
  const readers: SetReader[] = [];
  const temp = await makeRunTempDir(ctx.tempRoot, 'restore');
  let volumesRead = 0;
  const setTime = sets[sets.length - 1]!.endTime;
  try {
    for (const set of sets) {
      if (skipSets.has(set)) continue;
      const manifest = await loadManifest(ctx, set, { fileList: manifestFileList });
      const vols = volumesFor(set, manifest, within);
      volumesRead += vols.length;
      if (dryRun) for (const v of vols) ctx.reporter.notice(`Required volume: ${v.name}`);
      readers.push(
        new SetReader(ctx.backend, vols, temp, within, {
          encryption: ctx.encryption,
          warn: (m) => ctx.reporter.warning(m),
          recheckHash: volumeHashRecheck(ctx, set, manifest),
        }),
      );
    }
    if (dryRun) return { files: 0, bytes: 0, volumesRead, setTime };
    return await run(async (finalSink) => {
      let files = 0;
      let bytes = 0;
      // bytes handed to the sink so far, counted as they stream (progress inside large files)
      let streamed = 0;
      const ticker = new ProgressTicker(ctx.reporter, () => ({
        phase: progress.phase,
        filesDone: files,
        bytesDone: streamed,
        ...(progress.totals ? { filesTotal: progress.totals.files, bytesTotal: progress.totals.bytes } : {}),
      }));
      const counting = async function* (data: EntryData) {
        for await (const chunk of data) {
          yield chunk;
          streamed += chunk.length;
          ticker.tick();
        }
      };
      const sink: EntrySink = ticker.active ? { write: (meta, data) => finalSink.write(meta, data && counting(data)) } : finalSink;
      ticker.send();
      for (;;) {
        // (one reader, a full backup's, is the common case: no Promise.all per entry)
        const heads = readers.length === 1 ? [await readers[0]!.peek()] : await Promise.all(readers.map((r) => r.peek()));
        let min: PathIndex | null = null;
        for (const h of heads) if (h && (min === null || compareIndex(h.index, min) < 0)) min = h.index;
        if (min === null) break;
        const here: { reader: SetReader; entry: SetEntry }[] = [];
        heads.forEach((h, i) => {
          if (h && compareIndex(h.index, min!) === 0) here.push({ reader: readers[i]!, entry: h });
        });
        const written = await restoreOne(here, sink, temp);
        if (written !== null) {
          files++;
          bytes += written;
          ticker.tick();
        }
      }
      ticker.done();
      if (files === 0 && within.length > 0) {
        throw new PermafrostError(ExitCode.noChain, `${indexToDisplay(within)} is not in the backup at ${timeToString(setTime)}`);
      }
      return { files, bytes, volumesRead, setTime };
    });
  } finally {
    for (const r of readers) await r.close();
    await fsp.rm(temp, { recursive: true, force: true });
  }
}

/**
 * One path across the sets (oldest first). Returns the bytes written, or null when nothing was
 * written (the path is deleted at that time).
 */
async function restoreOne(here: { reader: SetReader; entry: SetEntry }[], writer: EntrySink, temp: string): Promise<number | null> {
  let base = here.length - 1;
  while (base >= 0 && here[base]!.entry.kind === 'diff') base--;
  for (let i = 0; i < Math.max(base, 0); i++) await here[i]!.reader.skip();
  if (base < 0) {
    for (const h of here) await h.reader.skip();
    throw new PermafrostError(ExitCode.corruptArchive, `${indexToDisplay(here[0]!.entry.index)}: a delta without an earlier full copy`);
  }
  const baseEntry = here[base]!;
  if (baseEntry.entry.kind === 'deleted') {
    await baseEntry.reader.skip();
    for (let i = base + 1; i < here.length; i++) await here[i]!.reader.skip();
    return null;
  }
  const newest = here[here.length - 1]!.entry.meta!;
  const meta: EntryMeta = newest;
  if (baseEntry.entry.meta!.type !== 'reg') {
    await baseEntry.reader.skip();
    for (let i = base + 1; i < here.length; i++) await here[i]!.reader.skip();
    await writer.write(meta, null);
    return 0;
  }
  if (base === here.length - 1) {
    const whole = baseEntry.reader.wholeData();
    if (whole !== null) {
      await writer.write(meta, [whole]);
      return whole.length;
    }
    let n = 0;
    const counted = async function* (src: AsyncIterable<Buffer>) {
      for await (const c of src) {
        n += c.length;
        yield c;
      }
    };
    await writer.write(meta, counted(baseEntry.reader.data()));
    return n;
  }
  // a snapshot followed by deltas: patch through temp files, with holes for a sparse file's zeros
  const sparse = meta.sparse === true;
  let current = path.join(temp, `patch-${Math.random().toString(36).slice(2)}`);
  await writeStreamToFile(baseEntry.reader.data(), current, sparse);
  try {
    for (let i = base + 1; i < here.length; i++) {
      const next = path.join(temp, `patch-${Math.random().toString(36).slice(2)}`);
      await applyDelta(current, here[i]!.reader.data(), next, sparse);
      await fsp.rm(current, { force: true });
      current = next;
    }
    const size = (await fsp.stat(current)).size;
    await writer.write(meta, createReadStream(current, { highWaterMark: 1 << 20 }));
    return size;
  } finally {
    await fsp.rm(current, { force: true });
  }
}

async function writeStreamToFile(src: AsyncIterable<Buffer>, file: string, sparse: boolean): Promise<void> {
  if (sparse) {
    const out = new SparseFile(file);
    try {
      for await (const chunk of src) out.write(chunk);
    } catch (err) {
      out.destroy();
      throw err;
    }
    out.close();
    return;
  }
  const out = createWriteStream(file);
  for await (const chunk of src) if (!out.write(chunk)) await once(out, 'drain');
  out.end();
  await once(out, 'close');
}

async function applyDelta(basisFile: string, delta: AsyncIterable<Buffer>, outFile: string, sparse: boolean): Promise<void> {
  const basis = await fsp.open(basisFile, 'r');
  let sparseOut: SparseFile | null = null;
  let out: ReturnType<typeof createWriteStream> | null = null;
  try {
    if (sparse) sparseOut = new SparseFile(outFile);
    else out = createWriteStream(outFile);
    const patcher = new DeltaPatcher(
      async (offset: number, length: number) => {
        const buf = Buffer.allocUnsafe(length);
        let got = 0;
        while (got < length) {
          const { bytesRead } = await basis.read(buf, got, length - got, offset + got);
          if (bytesRead === 0) throw new Error(`delta copies beyond the end of its basis (offset ${offset + got})`);
          got += bytesRead;
        }
        return buf;
      },
      async (chunk: Buffer) => {
        if (sparseOut) sparseOut.write(chunk);
        else if (!out!.write(chunk)) await once(out!, 'drain');
      },
    );
    // Only the patcher's failures mean a corrupt delta: reading the delta can fail first on its
    // volume (a SHA1 mismatch, exit 21; a wrong key, 31), and that error keeps its code. A mapping
    // by context, not type, so it stays here rather than in cli/exit.ts.
    const patch = async (step: () => Promise<void>) => {
      try {
        await step();
      } catch (err) {
        // the temp file's own failures (a full --tempdir) are local, not the archive's
        if (typeof (err as NodeJS.ErrnoException).syscall === 'string') throw err;
        throw new PermafrostError(ExitCode.corruptArchive, `cannot apply a delta: ${(err as Error).message}`, { cause: err });
      }
    };
    for await (const chunk of delta) await patch(() => patcher.write(chunk));
    await patch(() => patcher.end());
    if (sparseOut) sparseOut.close();
    else {
      out!.end();
      await once(out!, 'close');
    }
  } catch (err) {
    sparseOut?.destroy();
    out?.destroy();
    throw err;
  } finally {
    await basis.close();
  }
}
