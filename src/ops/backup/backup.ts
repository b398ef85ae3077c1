import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import * as os from 'node:os';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { EntryMeta } from '../../core/entry.ts';
import { compareIndex, indexFromBytes, indexStartsWith, indexToDisplay, type PathIndex } from '../../core/path-index.ts';
import { formatDirInfo, formatSignatureRecord, formatVolumeInfo, type StoredRecord, type VolumeInfo } from '../../codec/manifest.ts';
import { manifestName, signatureName, volumeName, type SetTimes } from '../../codec/remote-name.ts';
import { timeToString } from '../../codec/time-string.ts';
import { buildCollection, type Collection } from '../../archive/collection.ts';
import { VolumeWriter } from '../../archive/volume-writer.ts';
import { SigtarWriter } from '../../archive/sigtar-writer.ts';
import { encryptFile } from '../../archive/encrypt-file.ts';
import { SetWriter, type SetWriterStats } from '../../archive/set-writer.ts';
import { UploadQueue } from '../../archive/upload-queue.ts';
import { combineSignatures, type SignatureEntry } from '../../archive/signature-reader.ts';
import { isUnchanged } from '../../archive/change-detection.ts';
import { walkSource, type WalkEntry } from '../../fs/walk.ts';
import { STAT_AHEAD_MIN_ENTRIES, StatAhead } from '../../fs/stat-ahead.ts';
import type { ChangeRules } from '../../core/file-stamp.ts';
import type { Selection } from '../../fs/selection.ts';
import { IdNames } from '../../fs/ids.ts';
import type { TargetContext } from '../context.ts';
import { makeRunTempDir } from '../run-temp-dir.ts';
import { loadManifest } from '../set-manifest.ts';
import { ExitCode, PermafrostError } from '../../core/errors.ts';
import { checkSourceDir } from '../source-dir.ts';
import { newSetTime } from './backup-time.ts';
import { excludeCacheInSource } from './cache-in-source.ts';
import { remoteDecoder } from '../remote-decoder.ts';
import { syncCache } from '../sync-cache.ts';
import { takeWriterLocks } from '../take-target-lock.ts';
import { UploadGuard } from '../../archive/upload-guard.ts';
import { checkChainKeys } from '../key-check.ts';
import { ProgressTicker } from '../progress-ticker.ts';
import { type ChainIndex, commitChainIndex, openChainIndex, startIndexDelta } from './chain-index.ts';
import { statAheadOnWriterThread } from '../../archive/thread-file.ts';
import { FileListWriter } from './file-list.ts';

export interface BackupRequest {
  /** `auto` is duplicity's verb-less backup: incremental when a chain exists, else full. */
  readonly mode: 'full' | 'incremental' | 'auto';
  /** The source directory as typed (its canonical form goes into the manifest's Localdir). */
  readonly source: string;
  /** --volsize in bytes */
  readonly volsize: number;
  /** --full-if-older-than, already resolved to a time: a full is made if the chain's full is older. */
  readonly fullIfOlderThan?: number;
  readonly maxBlocksize: number;
  readonly selection: Selection;
  readonly dryRun: boolean;
  readonly allowSourceMismatch: boolean;
  /** Upload volume N while packing N+1 (the default). */
  readonly asyncUpload: boolean;
  readonly hostname?: string;
  /**
   * Walk the source once before the backup to know the totals, so that progress can show a
   * percentage and an ETA (duplicity's --progress does the same dry pass).
   */
  readonly progressTotals?: boolean;
  /** --ignore-ctime, --ignore-inode: parts of a file's stamp not to compare (default: all count) */
  readonly changeRules?: ChangeRules;
  /** false: read the chain's signature files instead of the chain index, and leave the index alone (tests compare the two) */
  readonly chainIndex?: boolean;
}

export interface BackupResult {
  readonly type: 'full' | 'inc';
  readonly startTime: number;
  readonly endTime: number;
  readonly volumes: number;
  readonly stats: SetWriterStats;
  /** Source files that could not be read and were skipped. */
  readonly errors: number;
  /** wall clock (ms) when this run began and ended: the statistics' StartTime and EndTime */
  readonly startedAt: number;
  readonly endedAt: number;
  readonly elapsedMs: number;
  readonly uploadedBytes: number;
}

/**
 * A full or incremental backup (docs/duplicity-format.md §3, §7.10). Volumes are uploaded as they fill up, then the
 * signatures, then the manifest: a set exists only once its manifest is stored, so an interrupted
 * run leaves an incomplete set that restores never use and `cleanup` removes.
 */
export async function backup(ctx: TargetContext, req: BackupRequest): Promise<BackupResult> {
  const started = Date.now();
  const sourceRoot = await checkSourceDir(req.source);
  const selection = await excludeCacheInSource(req.selection, req.source, ctx.cache.dir, ctx.reporter);
  // fail before any work when the passphrase or a recipient's key is missing
  if (ctx.encryption && !req.dryRun) await ctx.encryption.checkWritable();
  const locks = req.dryRun ? null : await takeWriterLocks(ctx, req.mode === 'auto' ? 'backup' : `${req.mode} backup`);
  try {
    const listing = await ctx.backend.list();
    const collection = buildCollection(listing, ctx.prefixes);
    const decode = remoteDecoder(ctx.prefixes, ctx.encryption);
    if (!req.dryRun) await syncCache(ctx, listing, collection);
    const plan = await planSet(ctx, req, collection);
    // before anything is uploaded: the keys given must be the chain's (the cache holds plaintext)
    if (plan.type === 'inc' && !req.dryRun) await checkChainKeys(ctx, collection.primary!.chain, 'extend');
    if (plan.type === 'inc' && !req.allowSourceMismatch) await checkSameSource(ctx, req, collection);
    const temp = await makeRunTempDir(ctx.tempRoot, 'backup');
    const useIndex = req.chainIndex !== false && !req.dryRun;
    let index: ChainIndex | null = null;
    let ahead: StatAhead | null = null;
    try {
      if (plan.type === 'inc' && useIndex) index = await openChainIndex(ctx, collection, decode);
      // an incremental leaves the file writer thread idle: it lstats the source ahead of the walk
      // (a full keeps that thread busy compressing), if the tree is large enough to pay for it
      if (index && index.header.records >= STAT_AHEAD_MIN_ENTRIES) {
        ahead = new StatAhead(sourceRoot, { host: statAheadOnWriterThread });
        ctx.reporter.debug('Source metadata read ahead on the file writer thread');
      }
      const previous = plan.type === 'inc' ? (index ? index.entries() : await previousSignatures(ctx, collection, decode)) : null;
      const guard = locks ? new UploadGuard(ctx.backend, locks.target) : null;
      const indexUse = useIndex ? { base: index } : null;
      return await writeSet(
        guard ? { ...ctx, backend: guard } : ctx,
        { ...req, selection },
        plan,
        sourceRoot,
        previous,
        temp,
        started,
        guard,
        indexUse,
        ahead,
      );
    } finally {
      ahead?.close();
      index?.close();
      await fsp.rm(temp, { recursive: true, force: true });
    }
  } finally {
    await locks?.release();
  }
}

/**
 * duplicity's check_dirinfo: an incremental must come from the host and directory the chain
 * backed up, or it would record the whole difference between two unrelated trees as "changes".
 */
async function checkSameSource(ctx: TargetContext, req: BackupRequest, collection: Collection): Promise<void> {
  const chain = collection.primary!.chain;
  const last = chain.incs[chain.incs.length - 1] ?? chain.full;
  // only its Hostname and Localdir: the file list of a big set costs more than the rest together
  const manifest = await loadManifest(ctx, last, { fileList: false });
  const hostname = req.hostname ?? os.hostname();
  const localdir = canonicalLocaldir(req.source);
  const hint = 'pass --allow-source-mismatch if this is intended';
  if (manifest.hostname !== null && manifest.hostname.length > 0 && manifest.hostname.toString('utf8') !== hostname) {
    throw new PermafrostError(
      ExitCode.sourceMismatch,
      `the chain at ${ctx.backend.displayUrl} was made on host ${JSON.stringify(manifest.hostname.toString('utf8'))}, this is ${JSON.stringify(hostname)}: ${hint}`,
    );
  }
  if (manifest.localdir !== null && manifest.localdir.length > 0 && manifest.localdir.toString('utf8') !== localdir) {
    throw new PermafrostError(
      ExitCode.sourceMismatch,
      `the chain at ${ctx.backend.displayUrl} backs up ${JSON.stringify(manifest.localdir.toString('utf8'))}, not ${JSON.stringify(localdir)}: ${hint}`,
    );
  }
}

interface SetPlan {
  readonly type: 'full' | 'inc';
  readonly startTime: number;
  readonly endTime: number;
}

async function planSet(ctx: TargetContext, req: BackupRequest, collection: Collection): Promise<SetPlan> {
  const primary = collection.primary;
  let type: 'full' | 'inc';
  if (req.mode === 'full') type = 'full';
  else if (!primary) {
    if (req.mode === 'incremental') {
      throw new PermafrostError(
        ExitCode.noSignatures,
        `no backup chain with signatures at ${ctx.backend.displayUrl}: run a full backup first (or omit "incremental")`,
      );
    }
    type = 'full';
  } else if (req.fullIfOlderThan !== undefined && primary.chain.startTime < req.fullIfOlderThan) {
    ctx.reporter.notice('Last full backup is too old, forcing full backup');
    type = 'full';
  } else type = 'inc';
  if (type === 'full') {
    const now = await newSetTime(ctx, collection.chains.length > 0 ? Math.max(...collection.chains.map((c) => c.endTime)) : null);
    return { type, startTime: now, endTime: now };
  }
  const start = primary!.chain.endTime;
  return { type, startTime: start, endTime: await newSetTime(ctx, start) };
}

async function previousSignatures(
  ctx: TargetContext,
  collection: Collection,
  decode: ReturnType<typeof remoteDecoder>,
): Promise<AsyncIterable<SignatureEntry>> {
  const sigChain = collection.primary!.signatures;
  const files = [sigChain.full, ...sigChain.incs];
  const streams: AsyncIterable<SignatureEntry>[] = [];
  for (const f of files) {
    streams.push(await ctx.cache.signatureEntries(f.info.name, ctx.backend, decode, (m) => ctx.reporter.warning(m)));
  }
  return combineSignatures(streams);
}

async function writeSet(
  ctx: TargetContext,
  req: BackupRequest,
  plan: SetPlan,
  sourceRoot: Buffer,
  previous: AsyncIterable<SignatureEntry> | Iterable<SignatureEntry> | null,
  temp: string,
  started: number,
  guard: UploadGuard | null,
  indexUse: { readonly base: ChainIndex | null } | null,
  ahead: StatAhead | null,
): Promise<BackupResult> {
  const { reporter } = ctx;
  const naming = { encrypted: ctx.encryption !== null, compressed: ctx.compress };
  const times: SetTimes =
    plan.type === 'full' ? { kind: 'full', time: plan.endTime } : { kind: 'inc', startTime: plan.startTime, endTime: plan.endTime };
  reporter.notice(
    plan.type === 'full'
      ? `Starting full backup at ${timeToString(plan.endTime)}`
      : `Starting incremental backup ${timeToString(plan.startTime)} to ${timeToString(plan.endTime)}`,
  );

  const queue = new UploadQueue(req.asyncUpload ? 2 : 1);
  const volumeInfos: VolumeInfo[] = [];
  // what the store reports holding after each upload (object stores), for the manifest
  const stored = new Map<number, StoredRecord>();
  let uploadedBytes = 0;
  const volumes = new VolumeWriter({
    tempDir: temp,
    volsize: req.volsize,
    gzip: ctx.compress,
    level: ctx.compressLevel,
    ...(ctx.jobs ? { jobs: ctx.jobs } : {}),
    encryption: ctx.encryption,
    onVolume: async (vol) => {
      volumeInfos.push(vol.info);
      const name = volumeName(times, vol.info.volume, ctx.prefixes, naming);
      if (req.dryRun) {
        await fsp.rm(vol.localPath, { force: true });
        return;
      }
      await queue.enqueue(async () => {
        try {
          const record = await ctx.backend.putFile(vol.localPath, name, { role: 'volume', consumeLocal: true });
          if (record) stored.set(vol.info.volume, { size: record.size, crc32c: record.crc32c });
          uploadedBytes += vol.size;
          reporter.info(`Uploaded ${name} (${vol.size} bytes)`);
        } finally {
          await fsp.rm(vol.localPath, { force: true });
        }
      });
    },
  });
  const sigName = signatureName(times, ctx.prefixes, naming);
  const sigRemotePath = path.join(temp, 'signatures');
  const sigCachePath = path.join(temp, 'signatures.gz');
  const sigs = new SigtarWriter(sigRemotePath, sigCachePath, ctx.compress, ctx.encryption, ctx.compressLevel, ctx.jobs);
  const fileListPath = path.join(temp, 'filelist');
  const fileList = new FileListWriter(fileListPath);
  const indexDelta = indexUse ? startIndexDelta(ctx) : null;
  const writer = new SetWriter(volumes, sigs, {
    maxBlocksize: req.maxBlocksize,
    ...(reporter.progress
      ? {
          onRead: (n: number) => {
            bytesRead += n;
            ticker.tick();
          },
        }
      : {}),
    ...(indexDelta ? { signatureEntry: indexDelta.add } : {}),
    ...(req.changeRules ? { changeRules: req.changeRules } : {}),
    changedWhileRead: (index, expected, read) =>
      reporter.warning(
        `${indexToDisplay(index)} changed size while it was read (${expected} bytes listed, ${read} read): stored as read, and read again next time`,
      ),
    fileList: (type, index) => fileList.add(type, index),
  });

  let errors = 0;
  const errorRoots: PathIndex[] = [];
  const ids = new IdNames();
  const totals = req.progressTotals && reporter.progress ? await scanTotals(sourceRoot, req.selection, ids) : null;
  // bytes done: read from the source, or passed over in files found unchanged
  let filesSeen = 0;
  let bytesRead = 0;
  let bytesUnchanged = 0;
  const ticker = new ProgressTicker(reporter, () => ({
    phase: plan.type === 'full' ? 'full backup' : 'incremental backup',
    filesDone: filesSeen,
    bytesDone: bytesRead + bytesUnchanged,
    ...(totals ? { filesTotal: totals.files, bytesTotal: totals.bytes } : {}),
  }));
  const walk = walkSource(
    sourceRoot,
    req.selection,
    (p: Buffer, err: Error) => {
      errors++;
      // a directory that cannot be listed comes out empty: its contents must not count as deleted
      if (p.length > sourceRoot.length) errorRoots.push(indexFromBytes(p.subarray(sourceRoot.length + 1)));
      reporter.warning(`Error reading ${p.toString('utf8')}: ${err.message}`);
    },
    { ids, ...(ahead ? { statThread: ahead } : {}) },
  );
  const uidOf = (u: string, n: number) => (u ? (ids.uidOf(u) ?? n) : n);
  const gidOf = (g: string, n: number) => (g ? (ids.gidOf(g) ?? n) : n);
  const rules = req.changeRules;
  // a path of the source and of the previous set, merged: a promise only when something is stored
  const step = (current: WalkEntry | null, prev: SignatureEntry | null): Promise<void> | undefined => {
    if (current) {
      filesSeen++;
      ticker.tick();
    }
    if (current && prev) {
      const stamps = rules ? { current: current.stamp, previous: prev.stamp, rules } : { current: current.stamp, previous: prev.stamp };
      if (
        prev.meta &&
        isUnchanged(
          current.meta,
          prev.meta,
          // only a size that was not recorded is bounded by the signature (the index reads it on demand)
          prev.meta.size < 0 ? prev.signature : null,
          uidOf,
          gidOf,
          stamps,
        )
      ) {
        if (current.meta.type === 'reg') bytesUnchanged += current.meta.size;
        return undefined;
      }
      if (!prev.meta) return storeNew(current);
      reporter.info(`M ${indexToDisplay(current.meta.index)}`);
      return storeChanged(current, prev);
    }
    if (current) return storeNew(current);
    if (prev?.meta) {
      const idx = prev.index;
      if (idx.length === 0 || errorRoots.some((r) => indexStartsWith(idx, r))) return undefined;
      reporter.info(`D ${indexToDisplay(idx)}`);
      return writer.deleted(idx, prev.meta.type === 'reg');
    }
    return undefined;
  };
  try {
    await collate(walk, previous, step);
    ticker.send();
    await volumes.finish();
    fileList.close();
    const sigResult = await sigs.finish();
    await queue.drain();

    // the manifest is written once every other file of the set is stored, so it can record them
    const sigRecord = req.dryRun ? undefined : await ctx.backend.putFile(sigRemotePath, sigName, { role: 'signature' });
    if (!req.dryRun) uploadedBytes += sigResult.remoteSize;
    const manifestPath = path.join(temp, 'manifest');
    const withRecords = volumeInfos.map((v) => {
      const record = stored.get(v.volume);
      return record ? { ...v, stored: record } : v;
    });
    await writeManifest(
      manifestPath,
      req,
      withRecords,
      sigRecord ? { size: sigRecord.size, crc32c: sigRecord.crc32c } : undefined,
      fileListPath,
      fileList.count,
    );
    const manifestRemote = manifestName(times, ctx.prefixes, naming);
    if (!req.dryRun) {
      // the lock is still ours and every file of the set is still there, or no manifest
      await guard?.checkBeforeManifest();
      const manifestUpload = ctx.encryption ? await encryptFile(manifestPath, `${manifestPath}.gpg`, ctx.encryption) : manifestPath;
      await ctx.backend.putFile(manifestUpload, manifestRemote, { role: 'manifest' });
      uploadedBytes += (await fsp.stat(manifestUpload)).size;
      await ctx.cache.storeSignatures(sigName, sigResult.cacheIsRemote ? sigRemotePath : sigCachePath);
      await ctx.cache.storeManifestFile(manifestRemote, manifestPath);
      if (indexDelta) commitChainIndex(ctx, indexUse!.base, indexDelta, { manifest: manifestRemote, signature: sigName });
    }
  } catch (err) {
    volumes.abort();
    sigs.abort();
    indexDelta?.abort();
    fileList.destroy();
    await queue.settle();
    throw err;
  }
  ticker.done();
  const endedAt = Date.now();
  return {
    type: plan.type,
    startTime: plan.startTime,
    endTime: plan.endTime,
    volumes: volumeInfos.length,
    stats: writer.stats,
    errors,
    startedAt: started,
    endedAt,
    elapsedMs: endedAt - started,
    uploadedBytes,
  };

  async function storeNew(cur: WalkEntry): Promise<void> {
    if (cur.meta.index.length > 0) reporter.info(`A ${indexToDisplay(cur.meta.index)}`);
    await guarded(cur, () => writer.snapshot(cur.meta, cur.path, true, cur.stamp));
  }

  async function storeChanged(cur: WalkEntry, prev: SignatureEntry): Promise<void> {
    if (cur.meta.type === 'reg' && prev.meta?.type === 'reg' && prev.signature) {
      await guarded(cur, () => writer.diff(cur.meta, cur.path, prev.signature!, cur.stamp));
    } else {
      await guarded(cur, () => writer.snapshot(cur.meta, cur.path, false, cur.stamp));
    }
  }

  /** A file that cannot be opened is reported and left as it was in the previous set. */
  async function guarded(cur: { meta: EntryMeta; path: Buffer }, store: () => Promise<void>): Promise<void> {
    try {
      await store();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (
        code === 'ENOENT' ||
        code === 'EACCES' ||
        code === 'EPERM' ||
        code === 'EIO' ||
        code === 'ELOOP' ||
        code === 'ENXIO' ||
        code === 'EISDIR' ||
        code === 'ENOTDIR'
      ) {
        errors++;
        errorRoots.push(cur.meta.index);
        reporter.warning(`Error reading ${cur.path.toString('utf8')}: ${code}; skipped`);
        return;
      }
      throw err;
    }
  }
}

/** The manifest in duplicity's on-disk order: Hostname, Localdir, volumes, Filelist (docs/duplicity-format.md §2.1). */
async function writeManifest(
  dest: string,
  req: BackupRequest,
  volumes: VolumeInfo[],
  signature: StoredRecord | undefined,
  fileListPath: string,
  count: number,
): Promise<void> {
  const out = createWriteStream(dest);
  out.write(formatDirInfo(Buffer.from(req.hostname ?? os.hostname()), Buffer.from(canonicalLocaldir(req.source))));
  if (signature) out.write(formatSignatureRecord(signature));
  for (const v of volumes) out.write(formatVolumeInfo(v));
  out.write(Buffer.from(`Filelist ${count}\n`, 'latin1'));
  const list = await fsp.open(fileListPath, 'r');
  try {
    for await (const chunk of list.createReadStream()) if (!out.write(chunk)) await once(out, 'drain');
  } finally {
    await list.close().catch(() => {});
  }
  out.end();
  await once(out, 'close');
}

/** duplicity's Path.get_canonical(): '.' components and trailing slashes removed; relative stays relative. */
export function canonicalLocaldir(source: string): string {
  const abs = source.startsWith('/');
  const parts = source.split('/').filter((p) => p !== '' && p !== '.');
  const joined = parts.join('/');
  if (abs) return `/${joined}`;
  return joined === '' ? '.' : joined;
}

/** Files and bytes the backup will look at: a metadata-only walk. */
async function scanTotals(root: Buffer, selection: Selection, ids: IdNames): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  for await (const e of walkSource(root, selection, () => {}, { ids })) {
    files++;
    if (e.meta.type === 'reg') bytes += e.meta.size;
  }
  return { files, bytes };
}

/**
 * Merge-joins the source walk with the previous signatures, both in duplicity's order, calling
 * `step` for each path (awaited only when it returns a promise: most paths are unchanged).
 */
async function collate(
  walk: AsyncIterable<WalkEntry>,
  previous: AsyncIterable<SignatureEntry> | Iterable<SignatureEntry> | null,
  step: (current: WalkEntry | null, previous: SignatureEntry | null) => Promise<void> | undefined,
): Promise<void> {
  if (!previous) {
    for await (const cur of walk) await step(cur, null);
    return;
  }
  const a = walk[Symbol.asyncIterator]();
  // the chain index is read synchronously: no await per previous entry
  const sync = Symbol.iterator in previous ? previous[Symbol.iterator]() : null;
  const b = sync ?? (previous as AsyncIterable<SignatureEntry>)[Symbol.asyncIterator]();
  let cur = await a.next();
  let prev = sync ? sync.next() : await b.next();
  let pending: Promise<void> | undefined;
  while (!cur.done || !prev.done) {
    if (prev.done) {
      pending = step(cur.value!, null);
      if (pending) await pending;
      cur = await a.next();
    } else if (cur.done) {
      pending = step(null, prev.value);
      if (pending) await pending;
      prev = sync ? sync.next() : await b.next();
    } else {
      const c = compareIndex(cur.value.meta.index, prev.value.index);
      if (c < 0) {
        pending = step(cur.value, null);
        if (pending) await pending;
        cur = await a.next();
      } else if (c > 0) {
        pending = step(null, prev.value);
        if (pending) await pending;
        prev = sync ? sync.next() : await b.next();
      } else {
        pending = step(cur.value, prev.value);
        if (pending) await pending;
        cur = await a.next();
        prev = sync ? sync.next() : await b.next();
      }
    }
  }
}
