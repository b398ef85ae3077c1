import * as path from 'node:path';
import type { EntryMeta } from '../core/entry.ts';
import type { RecordedStamp } from '../core/file-stamp.ts';
import type { PathIndex } from '../core/path-index.ts';
import type { IndexRecord, SignatureRef } from './chain-index-codec.ts';
import { IndexFileWriter, type StoreReader, StoreWriter } from './chain-index.ts';
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

  get signature(): Buffer | null {
    return this.#ref === null ? null : this.#stores.read(this.#ref);
  }
}

/** A signature entry as a record, its signature appended to `store` (as store number `storeNo`). */
export function recordOf(e: SignatureEntry, store: StoreWriter, storeNo: number): IndexRecord {
  return { index: e.index, meta: e.meta, stamp: e.stamp, sig: e.signature ? store.add(e.signature, storeNo) : null };
}

/**
 * What one backup adds to the index: each signature entry it writes (deleted paths as tombstones),
 * recorded as it is written, into a delta file in the run's temp dir and a new store in the index
 * dir. The delta's records use store number 0, renumbered when it is merged into the index.
 */
export class IndexDelta {
  readonly store: StoreWriter;
  readonly #writer: IndexFileWriter;
  readonly file: string;

  constructor(indexDir: string, tempDir: string) {
    this.file = path.join(tempDir, 'index-delta');
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

  /** Closes the delta file (renamed into place; its key is not used) and the store (still a temporary name). */
  close(): void {
    this.#writer.commit({ manifest: '', signatures: [] }, [this.store.name]);
    this.store.close();
  }

  abort(): void {
    this.#writer.abort();
    this.store.abort();
  }
}
