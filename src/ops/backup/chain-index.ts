import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Collection } from '../../archive/collection.ts';
import { localSignatureName } from '../../archive/metadata-cache.ts';
import { combineSignatures, type SignatureEntry } from '../../archive/signature-reader.ts';
import {
  type ChainKey,
  combineRecords,
  INDEX_DIR,
  INDEX_FILE,
  IndexFileReader,
  type IndexHeader,
  IndexFileWriter,
  IndexUnusableError,
  mergeDelta,
  StoreReader,
  StoreWriter,
} from '../../archive/chain-index.ts';
import { IndexDelta, IndexedEntry, recordOf } from '../../archive/chain-index-entries.ts';
import type { IndexRecord } from '../../archive/chain-index-codec.ts';
import type { TargetContext } from '../context.ts';
import type { remoteDecoder } from '../remote-decoder.ts';

/**
 * The chain index as a backup uses it (docs/chain-index.md): opened before an incremental, and
 * rebuilt from the chain's signature files (cached, or fetched from the target) when it is
 * missing, of another version, damaged, or keyed to other files than the chain's; updated with the
 * new set's entries once its manifest is stored. duplicity's cache files are never changed.
 */
export interface ChainIndex {
  readonly header: IndexHeader;
  /** the chain's paths in duplicity's order, as signature entries whose signatures are read on demand */
  entries(): Iterable<SignatureEntry>;
  close(): void;
}

interface OpenIndex extends ChainIndex {
  readonly reader: IndexFileReader;
}

export function chainIndexDir(ctx: TargetContext): string {
  return path.join(ctx.cache.dir, INDEX_DIR);
}

/** The primary chain's index, fresh: checked against the chain, rebuilt when it does not match. */
export async function openChainIndex(
  ctx: TargetContext,
  collection: Collection,
  decode: ReturnType<typeof remoteDecoder>,
): Promise<ChainIndex> {
  const dir = chainIndexDir(ctx);
  const file = path.join(dir, INDEX_FILE);
  await ctx.cache.ensure();
  fs.mkdirSync(dir, { recursive: true });
  const expected = chainKey(ctx, collection);
  let why: string;
  try {
    const reader = IndexFileReader.open(file);
    if (expected !== null && sameKey(reader.header.key, expected)) {
      reader.verify();
      return opened(dir, reader);
    }
    why = expected === null ? 'stale (signature files missing from the cache)' : 'stale (the chain has other signature files)';
  } catch (err) {
    if (!(err instanceof IndexUnusableError)) throw err;
    why = err.message;
  }
  ctx.reporter.info(`Chain index ${file} is ${why}: rebuilding it from the chain's signature files`);
  await rebuild(ctx, collection, decode, dir, file);
  return opened(dir, IndexFileReader.open(file));
}

/**
 * Merges the new set's entries into the index (or makes the index of a new chain from them), after
 * the set's manifest and cached signature file are stored. A failure here leaves no index (the
 * next incremental rebuilds it) and does not fail the backup, whose set is complete.
 */
export function commitChainIndex(
  ctx: TargetContext,
  base: ChainIndex | null,
  delta: IndexDelta,
  newest: { readonly manifest: string; readonly signature: string },
): void {
  const dir = chainIndexDir(ctx);
  const file = path.join(dir, INDEX_FILE);
  const previous = base as OpenIndex | null;
  let writer: IndexFileWriter | null = null;
  let compacted: StoreWriter | null = null;
  const readers: StoreReader[] = [];
  try {
    const stat = cachedStat(ctx, newest.signature);
    if (stat === undefined) throw new Error('the new signature file is not in the cache');
    const key: ChainKey = {
      manifest: newest.manifest,
      signatures: [...(previous ? previous.header.key.signatures : []), { name: newest.signature, stat }],
    };
    if (!previous) {
      delta.commitAsIndex(key, file);
      removeUnreferenced(dir, [delta.store.name]);
      return;
    }
    delta.close();
    delta.store.commit();
    const deltaRecords = IndexFileReader.open(delta.file).records();
    const oldStores = previous.header.stores;
    writer = new IndexFileWriter(file);
    let stores: string[];
    if (needsCompaction(dir, previous.header, delta.store.name)) {
      // the stores hold more dead signatures than live ones: copy the live ones into one new store
      const store = new StoreWriter(dir);
      compacted = store;
      const oldReader = new StoreReader(dir, oldStores);
      const newReader = new StoreReader(dir, [delta.store.name]);
      readers.push(oldReader, newReader);
      const renumberOld = (r: IndexRecord) => (r.sig ? { ...r, sig: store.add(oldReader.read(r.sig), 0) } : r);
      const renumberNew = (r: IndexRecord) => (r.sig ? { ...r, sig: store.add(newReader.read(r.sig), 0) } : r);
      for (const r of combineRecords(mapRecords(previous.reader.records(), renumberOld), deltaRecords, renumberNew)) writer.add(r);
      stores = [store.name];
    } else {
      mergeDelta(writer, previous.reader, deltaRecords, oldStores.length);
      stores = [...oldStores, delta.store.name];
    }
    compacted?.commit();
    writer.commit(key, stores);
    writer = null;
    removeUnreferenced(dir, stores);
  } catch (err) {
    writer?.abort();
    compacted?.abort();
    delta.abort();
    fs.rmSync(file, { force: true });
    ctx.reporter.warning(`Could not update the chain index ${file} (${(err as Error).message}): the next incremental rebuilds it`);
  } finally {
    for (const r of readers) r.close();
    fs.rmSync(delta.file, { force: true });
  }
}

/** Where this run's entries go, to become or join the index once the set is stored. */
export function startIndexDelta(ctx: TargetContext): IndexDelta {
  const dir = chainIndexDir(ctx);
  fs.mkdirSync(dir, { recursive: true });
  return new IndexDelta(dir);
}

function opened(dir: string, reader: IndexFileReader): OpenIndex {
  const stores = new StoreReader(dir, reader.header.stores);
  return {
    reader,
    header: reader.header,
    *entries() {
      for (const r of reader.records()) yield new IndexedEntry(r, stores);
    },
    close: () => stores.close(),
  };
}

async function rebuild(
  ctx: TargetContext,
  collection: Collection,
  decode: ReturnType<typeof remoteDecoder>,
  dir: string,
  file: string,
): Promise<void> {
  const sigChain = collection.primary!.signatures;
  const streams: AsyncIterable<SignatureEntry>[] = [];
  // fetched or checked first: the key records the cached files as they are after that
  for (const f of [sigChain.full, ...sigChain.incs])
    streams.push(await ctx.cache.signatureEntries(f.info.name, ctx.backend, decode, (m) => ctx.reporter.warning(m)));
  const key = chainKey(ctx, collection);
  if (key === null) throw new Error('the chain signature files are not in the cache after fetching them');
  const store = new StoreWriter(dir);
  let writer: IndexFileWriter | null = null;
  try {
    writer = new IndexFileWriter(file);
    for await (const e of combineSignatures(streams)) if (e.meta !== null) writer.add(recordOf(e, store, 0));
    store.commit();
    writer.commit(key, [store.name]);
  } catch (err) {
    writer?.abort();
    store.abort();
    throw err;
  }
  removeUnreferenced(dir, [store.name]);
}

/** The key of the primary chain as the cache holds it now; null when a signature file is not cached. */
function chainKey(ctx: TargetContext, collection: Collection): ChainKey | null {
  const primary = collection.primary!;
  const last = primary.chain.incs.at(-1) ?? primary.chain.full;
  const signatures: { name: string; stat: string }[] = [];
  for (const f of [primary.signatures.full, ...primary.signatures.incs]) {
    const stat = cachedStat(ctx, f.info.name);
    if (stat === undefined) return null;
    signatures.push({ name: f.info.name, stat });
  }
  return { manifest: last.manifest?.name ?? '', signatures };
}

function cachedStat(ctx: TargetContext, remoteName: string): string | undefined {
  const st = fs.statSync(path.join(ctx.cache.dir, localSignatureName(remoteName)), { bigint: true, throwIfNoEntry: false });
  // not the inode or ctime: a copy of the cache (cp -a, a restore of a home directory) keeps
  // size and mtime, and its index stays usable; a signature file written anew has a new mtime
  return st ? `${st.size}:${st.mtimeNs}` : undefined;
}

function sameKey(a: ChainKey, b: ChainKey): boolean {
  return (
    a.manifest === b.manifest &&
    Array.isArray(a.signatures) &&
    a.signatures.length === b.signatures.length &&
    a.signatures.every((s, i) => s.name === b.signatures[i]!.name && s.stat === b.signatures[i]!.stat)
  );
}

/** Dead signatures (replaced by newer ones) outweigh the live ones, and there are enough to matter. */
function needsCompaction(dir: string, header: IndexHeader, newStore: string): boolean {
  let total = 0;
  for (const name of [...header.stores, newStore]) total += fs.statSync(path.join(dir, name)).size;
  return total > COMPACT_MIN_BYTES && total > 2 * header.signatureBytes;
}

const COMPACT_MIN_BYTES = 64 * 1024 * 1024;

function* mapRecords(records: Iterable<IndexRecord>, f: (r: IndexRecord) => IndexRecord): Generator<IndexRecord> {
  for (const r of records) yield f(r);
}

/** Stores no index refers to, and temporary files left by an interrupted run. */
function removeUnreferenced(dir: string, stores: readonly string[]): void {
  const keep = new Set([INDEX_FILE, ...stores]);
  for (const name of fs.readdirSync(dir)) if (!keep.has(name)) fs.rmSync(path.join(dir, name), { force: true });
}
