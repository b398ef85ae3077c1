import * as path from 'node:path';
import type { EntryMeta } from '../core/entry.ts';
import type { RecordedStamp } from '../core/file-stamp.ts';
import type { PathIndex } from '../core/path-index.ts';
import type { IndexRecord, SignatureRef } from './chain-index-codec.ts';
import { type ChainKey, IndexFileWriter, type StoreReader, StoreWriter } from './chain-index.ts';
import type { SignatureEntry } from './signature-reader.ts';

/**
 * A record of the chain index seen as a signature entry. The signature is read from its store
 * only when asked for, which an incremental does for the files that changed (and for entries
 * that duplicity wrote, whose size is bounded by their signature's block count).
 */
export class IndexedEntry implements SignatureEntry {
  readonly index: PathIndex;
  readonly meta: EntryMeta | null;
  readonly stamp: RecordedStamp | null;
  readonly #ref: SignatureRef | null;
  readonly #stores: StoreReader;

  constructor(r: IndexRecord, stores: StoreReader) {
    this.index = r.index;
    this.meta = r.meta;
    this.stamp = r.stamp;
    this.#ref = r.sig;
    this.#stores = stores;
  }

  #signature: Buffer | null = null;

  get signature(): Buffer | null {
    if (this.#ref === null) return null;
    this.#signature ??= this.#stores.read(this.#ref);
    return this.#signature;
  }
}

/** A signature entry as a record, its signature appended to `store` (as store number `storeNo`). */
export function recordOf(e: SignatureEntry, store: StoreWriter, storeNo: number): IndexRecord {
  return { index: e.index, meta: e.meta, stamp: e.stamp, sig: e.signature ? store.add(e.signature, storeNo) : null };
}

/**
 * What one backup adds to the index: each signature entry it writes (deleted paths as tombstones),
 * recorded as it is written, into a delta file and a new store in the index dir, both under
 * temporary names. The delta's records use store number 0: a full's delta becomes the index as
 * it is; an incremental's is merged into the previous index (ops/backup/chain-index.ts).
 */
export class IndexDelta {
  readonly store: StoreWriter;
  readonly #writer: IndexFileWriter;
  readonly file: string;

  constructor(indexDir: string) {
    this.file = path.join(indexDir, DELTA_FILE);
    this.store = new StoreWriter(indexDir);
    try {
      this.#writer = new IndexFileWriter(this.file);
    } catch (err) {
      this.store.abort();
      throw err;
    }
  }

  readonly add = (e: SignatureEntry): void => {
    this.#writer.add(recordOf(e, this.store, 0));
  };

  /** Closes the delta, to be merged: the file is renamed to `file` (its key is not used), the store keeps its temporary name. */
  close(): void {
    this.#writer.commit({ manifest: '', signatures: [] }, [this.store.name]);
    this.store.close();
  }

  /** A full backup's delta is the new chain's index: the store is renamed into place, then the index. */
  commitAsIndex(key: ChainKey, indexFile: string): void {
    this.store.commit();
    this.#writer.commit(key, [this.store.name], indexFile);
  }

  abort(): void {
    this.#writer.abort();
    this.store.abort();
  }
}

const DELTA_FILE = 'delta';
