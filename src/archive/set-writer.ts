import * as fs from 'node:fs';
import type { EntryMeta } from '../core/entry.ts';
import { DEFAULT_CHANGE_RULES, type ChangeRules, type FileStamp, type RecordedStamp } from '../core/file-stamp.ts';
import type { PathIndex } from '../core/path-index.ts';
import { hasHoles, SPARSE_MIN_SIZE } from '../core/holes.ts';
import { encodeEntry } from '../codec/tar/writer.ts';
import { SignatureBuilder } from '../codec/rsync/signature.ts';
import { DeltaEncoder } from '../codec/rsync/delta.ts';
import { parseSignature } from '../codec/rsync/signature.ts';
import { blockSizeFor } from '../codec/rsync/block-size.ts';
import { entryName } from './entry-names.ts';
import { deletedHeader, headerFor, metaFromHeader, SIZE_RECORD, SPARSE_RECORD } from './entry-header.ts';
import { REREAD_RECORD, stampRecords } from './change-records.ts';
import type { SignatureEntry } from './signature-reader.ts';
import type { TarHeader } from '../codec/tar/header.ts';
import { isRacy, wallClockNs } from './racy-read.ts';
import type { PaxRecord } from '../codec/tar/pax-records.ts';
import type { VolumeWriter } from './volume-writer.ts';
import type { SigtarWriter } from './sigtar-writer.ts';

/** What one backup set records about each path it stores, for the manifest's file list and the summary. */
export interface SetWriterStats {
  newFiles: number;
  changedFiles: number;
  deletedFiles: number;
  /** bytes of source file content read */
  sourceBytes: number;
  /** bytes of data put into tar entries (snapshots and deltas) */
  storedBytes: number;
  entries: number;
  /** regular files whose size changed while they were read (stored as read, re-read next time) */
  changedWhileRead: number;
}

export type FileListSink = (type: 'new' | 'changed' | 'deleted', index: PathIndex) => void;

/** A file read `read` bytes where lstat had said `expected`. */
export type ChangedWhileReadSink = (index: PathIndex, expected: number, read: number) => void;

export interface SetWriterOptions {
  readonly maxBlocksize: number;
  readonly fileList: FileListSink;
  /** which parts of the stamp the next backup compares (decides what counts as racy) */
  readonly changeRules?: ChangeRules;
  readonly changedWhileRead?: ChangedWhileReadSink;
  /** told the bytes of each read of a source file (64 KiB at most), for progress inside large files */
  readonly onRead?: (bytes: number) => void;
  /**
   * Each signature entry as a reader of the signature tar would see it (the chain index records
   * them); deleted paths come with `meta: null`.
   */
  readonly signatureEntry?: (entry: SignatureEntry) => void;
}

/**
 * Turns per-path decisions into tar blocks: duplicity's DeltaTarBlockIter (docs/duplicity-format.md §3.3, §3.6, §4).
 * File data (a snapshot, or an rsync delta) is cut into 64 KiB multivol chunks; every regular file
 * also gets a new signature, computed in the same pass over its content.
 */
export class SetWriter {
  readonly stats: SetWriterStats = {
    newFiles: 0,
    changedFiles: 0,
    deletedFiles: 0,
    sourceBytes: 0,
    storedBytes: 0,
    entries: 0,
    changedWhileRead: 0,
  };
  readonly #volumes: VolumeWriter;
  readonly #sigs: SigtarWriter;
  readonly #maxBlocksize: number;
  readonly #fileList: FileListSink;
  readonly #rules: ChangeRules;
  readonly #changedWhileRead: ChangedWhileReadSink | undefined;
  readonly #onRead: ((bytes: number) => void) | undefined;
  readonly #signatureEntry: ((entry: SignatureEntry) => void) | undefined;
  readonly #readBuf = Buffer.allocUnsafe(CHUNK);
  /** The ChunkEmitter's memory, reused file after file. */
  readonly #chunkBuf = Buffer.allocUnsafe(CHUNK);

  constructor(volumes: VolumeWriter, sigs: SigtarWriter, opts: SetWriterOptions) {
    this.#volumes = volumes;
    this.#sigs = sigs;
    this.#maxBlocksize = opts.maxBlocksize;
    this.#fileList = opts.fileList;
    this.#rules = opts.changeRules ?? DEFAULT_CHANGE_RULES;
    this.#changedWhileRead = opts.changedWhileRead;
    this.#onRead = opts.onRead;
    this.#signatureEntry = opts.signatureEntry;
  }

  /**
   * A path stored whole: a new path, a changed non-regular entry, or a type change. `stamp` is a
   * regular file's stamp from the lstat that gave `meta`; its signature entry records it.
   */
  async snapshot(meta: EntryMeta, absPath: Buffer, isNew: boolean, stamp: FileStamp | null = null): Promise<void> {
    this.stats.entries++;
    if (meta.type !== 'reg') {
      const volName = entryName('snapshot', meta.index, { dir: meta.type === 'dir', rootStyle: 'volume' });
      await this.#volumes.addBlock(encodeEntry(headerFor(volName, meta, 0), EMPTY), meta.index, null);
      const sigName = entryName('snapshot', meta.index, { dir: meta.type === 'dir', rootStyle: 'sigtar' });
      const header = headerFor(sigName, meta, 0);
      await this.#sigs.add(encodeEntry(header, EMPTY));
      this.#announce(meta, header, null, null);
      return;
    }
    const sig = new SignatureBuilder(blockSizeFor(meta.size, this.#maxBlocksize));
    const read = await this.#storeFileData(
      meta,
      absPath,
      'snapshot',
      (chunk, zero) => {
        if (!zero) {
          sig.update(chunk);
          return chunk;
        }
        // a hole: sums known in advance, and a shared buffer instead of a copy of the read buffer
        sig.zeros(chunk.length);
        return ZERO_CHUNK.subarray(0, chunk.length);
      },
      null,
    );
    await this.#addSignature(meta, sig.finish(), read, stamp);
    if (isNew) this.stats.newFiles++;
    else this.stats.changedFiles++;
    this.#fileList(isNew ? 'new' : 'changed', meta.index);
  }

  /** A regular file that changed: an rsync delta against its previous signature. */
  async diff(meta: EntryMeta, absPath: Buffer, previousSignature: Buffer, stamp: FileStamp | null = null): Promise<void> {
    this.stats.entries++;
    const sig = new SignatureBuilder(blockSizeFor(meta.size, this.#maxBlocksize));
    // the blocks the delta matches are hashed once: the new signature takes their sums
    const encoder = new DeltaEncoder(parseSignature(previousSignature), {
      onMatch: (offset, length, weak, md4) => sig.known(offset, length, weak, md4),
    });
    const read = await this.#storeFileData(
      meta,
      absPath,
      'diff',
      (chunk, zero) => {
        const delta = encoder.update(chunk);
        if (zero) sig.zeros(chunk.length);
        else sig.update(chunk);
        return delta;
      },
      () => encoder.finish(),
    );
    await this.#addSignature(meta, sig.finish(), read, stamp);
    this.stats.changedFiles++;
    this.#fileList('changed', meta.index);
  }

  /** A path that is gone; `wasRegular` puts it in the manifest's file list. */
  async deleted(index: PathIndex, wasRegular: boolean): Promise<void> {
    this.stats.entries++;
    await this.#volumes.addBlock(encodeEntry(deletedHeader(entryName('deleted', index, { rootStyle: 'volume' })), EMPTY), index, null);
    await this.#sigs.add(encodeEntry(deletedHeader(entryName('deleted', index, { rootStyle: 'sigtar' })), EMPTY));
    this.#signatureEntry?.({ index, meta: null, signature: null, stamp: null });
    if (wasRegular) {
      this.stats.deletedFiles++;
      this.#fileList('deleted', index);
    }
  }

  /**
   * The signature entry of what was read. Its size record is the number of bytes read, which is
   * what the stored data and the signature describe, even when the file changed size meanwhile.
   */
  async #addSignature(meta: EntryMeta, signature: Buffer, read: FileRead, stamp: FileStamp | null): Promise<void> {
    const { size } = read;
    const reread = this.#rereadReason(meta, read, stamp);
    const records: PaxRecord[] = [[SIZE_RECORD, Buffer.from(String(size), 'latin1')]];
    if (stamp) records.push(...stampRecords(stamp, reread));
    else if (reread !== null) records.push([REREAD_RECORD, Buffer.from(reread, 'latin1')]);
    const name = entryName('signature', meta.index, { rootStyle: 'sigtar' });
    const header = headerFor(name, { ...meta, size }, signature.length, records);
    await this.#sigs.add(encodeEntry(header, signature));
    // what recordedStamp reads back from these records, without formatting and parsing them
    const recorded = stamp
      ? { mtimeNs: stamp.mtimeNs, ctimeNs: stamp.ctimeNs, ino: stamp.ino, reread }
      : reread !== null
        ? { mtimeNs: null, ctimeNs: null, ino: null, reread }
        : null;
    this.#announce(meta, header, signature, recorded);
  }

  /**
   * The entry just written as the signature reader will see it: its metadata decoded from its
   * header by the reader's function; a signature entry's stamp as its records say.
   */
  #announce(meta: EntryMeta, header: TarHeader, signature: Buffer | null, stamp: RecordedStamp | null): void {
    if (!this.#signatureEntry) return;
    const pax = new Map(header.extraPax ?? []);
    this.#signatureEntry({ index: meta.index, meta: metaFromHeader(meta.index, header, pax, signature !== null), signature, stamp });
  }

  /** Why the next backup must read this file again even if its stamp stays the same; null if it need not. */
  #rereadReason(meta: EntryMeta, read: FileRead, stamp: FileStamp | null): string | null {
    if (read.size !== meta.size) {
      this.stats.changedWhileRead++;
      this.#changedWhileRead?.(meta.index, meta.size, read.size);
      return 'size';
    }
    return stamp && isRacy(stamp, read.startNs, this.#rules) ? 'racy' : null;
  }

  /**
   * Reads the file once, passing its content through `transform` (identity for snapshots, the
   * delta encoder for diffs; `zero` says that a chunk of a sparse file is all zeros) and cutting
   * the output into tar entries of 64 KiB: a single entry when the whole output is shorter, else
   * numbered multivol chunks ending with a short (possibly empty) one. The file is read to its end,
   * whatever size lstat gave, so that every entry's header matches its data. A file with holes gets
   * the `PERMAFROST.sparse` record on its first entry. Returns the number of source bytes read,
   * which is the size the signature records, and when the read began.
   */
  async #storeFileData(
    meta: EntryMeta,
    absPath: Buffer,
    kind: 'snapshot' | 'diff',
    transform: (chunk: Buffer, zero: boolean) => Buffer,
    flush: (() => Buffer) | null,
  ): Promise<FileRead> {
    let sparse = false;
    const chunker = new ChunkEmitter(this.#chunkBuf, async (data, chunk, last) => {
      const name =
        chunk === null ? entryName(kind, meta.index, { rootStyle: 'volume' }) : entryName(kind, meta.index, { chunk, rootStyle: 'volume' });
      this.stats.storedBytes += data.length;
      // the restore reads the first entry's header for the whole file
      const extraPax = sparse && (chunk === null || chunk === 1) ? SPARSE_PAX : NO_PAX;
      await this.#volumes.addBlock(
        encodeEntry(headerFor(name, meta, data.length, extraPax), data),
        meta.index,
        chunk === null || last ? null : chunk,
      );
    });
    // Synchronous reads: for files in the page cache a thread-pool round trip per call costs more
    // than the read itself, and the packer has nothing else to do meanwhile.
    const startNs = wallClockNs();
    const fd = fs.openSync(absPath, 'r');
    let total = 0;
    try {
      // one fstat, for large files only (a restore leaves small files dense anyway)
      if (meta.size > SPARSE_MIN_SIZE) {
        const st = fs.fstatSync(fd);
        sparse = st.isFile() && hasHoles(st.size, st.blocks);
      }
      for (;;) {
        const bytesRead = fs.readSync(fd, this.#readBuf, 0, CHUNK, null);
        if (bytesRead === 0) break;
        total += bytesRead;
        this.#onRead?.(bytesRead);
        const chunk = this.#readBuf.subarray(0, bytesRead);
        // only sparse files are looked at: a comparison stops at the first byte that is not zero
        const out = transform(chunk, sparse && ZERO_CHUNK.subarray(0, bytesRead).equals(chunk));
        // (the emitter copies what it is given, so the read buffer can be reused)
        if (out.length > 0) await chunker.push(out);
      }
    } finally {
      fs.closeSync(fd);
    }
    if (flush) {
      const tail = flush();
      if (tail.length > 0) await chunker.push(tail);
    }
    await chunker.end();
    this.stats.sourceBytes += total;
    return { size: total, startNs };
  }
}

interface FileRead {
  /** bytes read */
  readonly size: number;
  /** wall clock when the read began */
  readonly startNs: bigint;
}

/**
 * Cuts a byte stream into duplicity's 64 KiB tar chunks, copying it into one reused buffer: what
 * it is given may be reused by the caller once `push` returns, and no per-file copy is left for
 * the GC (a copy that lived until its batch was full was promoted, and its memory waited for a
 * full GC). Every chunk handed to `emit` must be consumed (copied) before `emit` resolves.
 */
class ChunkEmitter {
  readonly #buf: Buffer;
  readonly #emit: (data: Buffer, chunk: number | null, last: boolean) => Promise<void>;
  #fill = 0;
  #chunk = 0;

  constructor(buf: Buffer, emit: (data: Buffer, chunk: number | null, last: boolean) => Promise<void>) {
    this.#buf = buf;
    this.#emit = emit;
  }

  async push(data: Buffer): Promise<void> {
    for (let from = 0; from < data.length; ) {
      const n = data.copy(this.#buf, this.#fill, from);
      this.#fill += n;
      from += n;
      if (this.#fill === CHUNK) {
        this.#chunk++;
        this.#fill = 0;
        await this.#emit(this.#buf, this.#chunk, false);
      }
    }
  }

  async end(): Promise<void> {
    const data = this.#buf.subarray(0, this.#fill);
    if (this.#chunk === 0) await this.#emit(data, null, true);
    else await this.#emit(data, this.#chunk + 1, true);
  }
}

const CHUNK = 65536;
const EMPTY = Buffer.alloc(0);
/** Never written to: compared against, and handed on as the data of a chunk of zeros. */
const ZERO_CHUNK = Buffer.alloc(CHUNK);
/** Files up to this size are never recorded as sparse: the restore writes them whole. */
const SPARSE_PAX: ReadonlyArray<readonly [string, Buffer]> = [[SPARSE_RECORD, Buffer.from('1', 'latin1')]];
const NO_PAX: ReadonlyArray<readonly [string, Buffer]> = [];
