import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { compareIndex } from '../core/path-index.ts';
import { DamagedCacheError } from './metadata-cache.ts';
import {
  compareJoined,
  IndexFormatError,
  joinIndex,
  type IndexRecord,
  RecordDecoder,
  RecordEncoder,
  readVarint,
  type SignatureRef,
  writeVarint,
} from './chain-index-codec.ts';

/**
 * The chain index's files (docs/chain-index.md): `index`, the records of every path the chain's
 * combined signatures describe, sorted in duplicity's order, and `store-*.sigs`, the signatures
 * themselves, uncompressed and concatenated, found by offset. Everything is read and written
 * sequentially with synchronous calls on big buffers: the index is a cache that lives on local
 * disk, and memory does not grow with the number of records.
 */
export const INDEX_DIR = 'permafrost-index.v1';
export const INDEX_FILE = 'index';
/** First 8 bytes of an index file; the last digits are the format's version. */
const MAGIC = Buffer.from('PFCIDX01', 'latin1');
const END_MAGIC = Buffer.from('PFCIEND1', 'latin1');
/** JSON length (u32), CRC-32 (u32), END_MAGIC */
const TRAILER = 16;
/**
 * Read and write buffers: an incremental has several at once (its reading, its delta, the merge);
 * 256 KiB instead of 1 MiB saved ~5 MiB of an incremental's peak at the same CPU (bench/RESULTS.md).
 */
const CHUNK = 1 << 18;

/** What an index was built from: the chain's newest manifest and its signature files as cached. */
export interface ChainKey {
  readonly manifest: string;
  /** each signature file of the chain, oldest first: remote name and `size:mtimeNs` of its cached copy */
  readonly signatures: readonly { readonly name: string; readonly stat: string }[];
}

export interface IndexHeader {
  readonly version: 1;
  readonly key: ChainKey;
  /** store file names, referred to by number from the records */
  readonly stores: readonly string[];
  readonly records: number;
  /** bytes of signatures the records refer to (the rest of the stores is garbage) */
  readonly signatureBytes: number;
}

/** The index cannot be used: missing, another version, cut short, or its checksum does not match. */
export class IndexUnusableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IndexUnusableError';
  }
}

/** Streams records into an index (or delta) file: written under a temporary name, renamed by `commit`. */
export class IndexFileWriter {
  readonly #dest: string;
  readonly #tmp: string;
  readonly #fd: number;
  readonly #encoder = new RecordEncoder();
  #buf = Buffer.allocUnsafe(CHUNK);
  #pos = 0;
  #crc = 0;
  #records = 0;
  #signatureBytes = 0;
  #lastPath: Buffer | null = null;
  #closed = false;

  constructor(dest: string) {
    this.#dest = dest;
    this.#tmp = `${dest}.tmp-${randomBytes(4).toString('hex')}`;
    this.#fd = fs.openSync(this.#tmp, 'wx');
    this.#put(MAGIC);
  }

  /** Records must come in duplicity's order, each path once. `counted`: its signature is already in `countSignatures`. */
  add(r: IndexRecord, counted = false): void {
    const body = this.#encoder.encode(r);
    this.#order(this.#encoder.lastPath);
    this.#body(body);
    if (r.sig && !counted) this.#signatureBytes += r.sig.length;
  }

  /**
   * A record copied as it is from another index, where it followed the record this writer wrote
   * last (so its shared path prefix and owner names mean the same here).
   */
  addRaw(body: Buffer, path: Buffer, uname: string, gname: string): void {
    this.#order(path);
    this.#encoder.follow(path, uname, gname);
    this.#body(body);
  }

  /** Adds to the header's total of live signature bytes (records copied raw are not looked at). */
  countSignatures(bytes: number): void {
    this.#signatureBytes += bytes;
  }

  #order(path: Buffer): void {
    if (this.#lastPath && compareJoined(this.#lastPath, path) >= 0) throw new Error('chain index: records out of order');
    this.#lastPath = path;
  }

  #body(body: Buffer): void {
    if (this.#pos + body.length + 8 > this.#buf.length) this.#flush();
    if (body.length + 8 > this.#buf.length) this.#buf = Buffer.allocUnsafe(body.length + 8);
    this.#pos = writeVarint(this.#buf, this.#pos, body.length);
    this.#pos += body.copy(this.#buf, this.#pos);
    this.#records++;
  }

  get records(): number {
    return this.#records;
  }

  /** Writes the header and trailer, and renames the file into place (at `dest` when given, in the same folder). */
  commit(key: ChainKey, stores: readonly string[], dest = this.#dest): IndexHeader {
    const header: IndexHeader = { version: 1, key, stores, records: this.#records, signatureBytes: this.#signatureBytes };
    const json = Buffer.from(JSON.stringify(header), 'utf8');
    this.#put(json);
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32LE(json.length);
    this.#put(len);
    this.#flush();
    const tail = Buffer.allocUnsafe(8);
    tail.writeUInt32LE(this.#crc >>> 0);
    this.#writeRaw(Buffer.concat([tail.subarray(0, 4), END_MAGIC]));
    fs.closeSync(this.#fd);
    this.#closed = true;
    fs.renameSync(this.#tmp, dest);
    return header;
  }

  abort(): void {
    if (!this.#closed) fs.closeSync(this.#fd);
    this.#closed = true;
    fs.rmSync(this.#tmp, { force: true });
  }

  #put(b: Buffer): void {
    if (this.#pos + b.length > this.#buf.length) this.#flush();
    if (b.length > this.#buf.length) {
      this.#crc = crc32(b, this.#crc);
      this.#writeRaw(b);
      return;
    }
    this.#pos += b.copy(this.#buf, this.#pos);
  }

  #flush(): void {
    if (this.#pos === 0) return;
    const data = this.#buf.subarray(0, this.#pos);
    this.#crc = crc32(data, this.#crc);
    this.#writeRaw(data);
    this.#pos = 0;
  }

  #writeRaw(b: Buffer): void {
    let off = 0;
    while (off < b.length) off += fs.writeSync(this.#fd, b, off, b.length - off);
  }
}

/** An index file opened for reading: its header read and, by `verify`, its checksum checked. */
export class IndexFileReader {
  readonly file: string;
  readonly header: IndexHeader;
  readonly #recordsEnd: number;
  readonly #size: number;

  private constructor(file: string, header: IndexHeader, recordsEnd: number, size: number) {
    this.file = file;
    this.header = header;
    this.#recordsEnd = recordsEnd;
    this.#size = size;
  }

  /** Reads the header; throws IndexUnusableError for a missing file, another version or a damaged trailer. */
  static open(file: string): IndexFileReader {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new IndexUnusableError('missing');
      throw err;
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size < MAGIC.length + TRAILER) throw new IndexUnusableError('cut short');
      const magic = readAt(fd, 0, MAGIC.length);
      if (!magic.subarray(0, 6).equals(MAGIC.subarray(0, 6))) throw new IndexUnusableError('not an index file');
      if (!magic.equals(MAGIC)) throw new IndexUnusableError(`of another version (${magic.subarray(6).toString('latin1')})`);
      const trailer = readAt(fd, size - TRAILER, TRAILER);
      if (!trailer.subarray(8).equals(END_MAGIC)) throw new IndexUnusableError('cut short');
      const jsonLen = trailer.readUInt32LE(0);
      const recordsEnd = size - TRAILER - jsonLen;
      if (recordsEnd < MAGIC.length) throw new IndexUnusableError('damaged (header length)');
      let header: IndexHeader;
      try {
        header = JSON.parse(readAt(fd, recordsEnd, jsonLen).toString('utf8')) as IndexHeader;
      } catch {
        throw new IndexUnusableError('damaged (header)');
      }
      if (header.version !== 1 || !Array.isArray(header.stores) || typeof header.key !== 'object' || header.key === null)
        throw new IndexUnusableError('damaged (header fields)');
      return new IndexFileReader(file, header, recordsEnd, size);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Checks the CRC-32 over the whole file: one sequential read. */
  verify(): void {
    const fd = fs.openSync(this.file, 'r');
    try {
      const covered = this.#size - 12;
      const buf = Buffer.allocUnsafe(CHUNK);
      let crc = 0;
      let pos = 0;
      while (pos < covered) {
        const n = fs.readSync(fd, buf, 0, Math.min(CHUNK, covered - pos), pos);
        if (n === 0) throw new IndexUnusableError('cut short');
        crc = crc32(buf.subarray(0, n), crc);
        pos += n;
      }
      const stored = readAt(fd, covered, 4).readUInt32LE(0);
      if (stored !== crc >>> 0) throw new IndexUnusableError('damaged (checksum mismatch)');
    } finally {
      fs.closeSync(fd);
    }
  }

  /** The records in order, read in 256 KiB pieces. */
  *records(): Generator<IndexRecord> {
    const decoder = new RecordDecoder();
    for (const body of this.bodies()) yield decoder.decode(body);
  }

  /** The records' bodies in order, undecoded (each a view of a reused buffer, valid until the next is asked for). */
  *bodies(): Generator<Buffer> {
    const fd = fs.openSync(this.file, 'r');
    try {
      let buf = Buffer.allocUnsafe(CHUNK);
      let filePos = MAGIC.length;
      let start = 0;
      let end = 0;
      for (;;) {
        // the common case inline (a one-byte length, the body in the buffer): no object per record
        const first = start < end ? buf[start]! : 0x80;
        if (first < 0x80 && start + 1 + first <= end) {
          if (first === 0) throw new IndexFormatError('chain index: empty record');
          start += 1 + first;
          yield buf.subarray(start - first, start);
          continue;
        }
        const len = readVarint(buf, start, end);
        if (len !== null && len.next + len.value <= end) {
          if (len.value === 0) throw new IndexFormatError('chain index: empty record');
          yield buf.subarray(len.next, len.next + len.value);
          start = len.next + len.value;
          continue;
        }
        if (filePos >= this.#recordsEnd) {
          if (start !== end) throw new IndexFormatError('chain index: last record cut short');
          return;
        }
        // move the partial record to the front, read more behind it (a bigger buffer for a record over 256 KiB)
        const need = len === null ? 0 : len.next - start + len.value;
        const rest = end - start;
        if (need + CHUNK > buf.length) {
          const bigger = Buffer.allocUnsafe(need + CHUNK);
          buf.copy(bigger, 0, start, end);
          buf = bigger;
        } else buf.copy(buf, 0, start, end);
        start = 0;
        end = rest;
        const n = fs.readSync(fd, buf, end, Math.min(buf.length - end, this.#recordsEnd - filePos), filePos);
        if (n === 0) throw new IndexFormatError('chain index: cut short');
        filePos += n;
        end += n;
      }
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** Appends signatures to a store file (uncompressed), under a temporary name until `commit`. */
export class StoreWriter {
  readonly name: string;
  readonly #dir: string;
  readonly #fd: number;
  readonly #buf = Buffer.allocUnsafe(CHUNK);
  #pos = 0;
  #offset = 0;
  #closed = false;

  constructor(dir: string) {
    this.#dir = dir;
    this.name = `store-${randomBytes(6).toString('hex')}.sigs`;
    this.#fd = fs.openSync(path.join(dir, `${this.name}.tmp`), 'wx');
  }

  /** Stores `sig`; `store` is the number records will use for this file. */
  add(sig: Buffer, store: number): SignatureRef {
    const ref = { store, offset: this.#offset, length: sig.length, crc: crc32(sig) >>> 0 };
    this.#offset += sig.length;
    if (this.#pos + sig.length > this.#buf.length) this.#flush();
    if (sig.length > this.#buf.length) this.#writeRaw(sig);
    else this.#pos += sig.copy(this.#buf, this.#pos);
    return ref;
  }

  /** Flushes and closes; the file keeps its temporary name. */
  close(): void {
    if (this.#closed) return;
    this.#flush();
    fs.closeSync(this.#fd);
    this.#closed = true;
  }

  /** Gives the store its final name (before the index that refers to it is renamed into place). */
  commit(): void {
    this.close();
    fs.renameSync(path.join(this.#dir, `${this.name}.tmp`), path.join(this.#dir, this.name));
  }

  abort(): void {
    if (!this.#closed) fs.closeSync(this.#fd);
    this.#closed = true;
    fs.rmSync(path.join(this.#dir, `${this.name}.tmp`), { force: true });
  }

  #flush(): void {
    if (this.#pos === 0) return;
    this.#writeRaw(this.#buf.subarray(0, this.#pos));
    this.#pos = 0;
  }

  #writeRaw(b: Buffer): void {
    let off = 0;
    while (off < b.length) off += fs.writeSync(this.#fd, b, off, b.length - off);
  }
}

/**
 * A signature the store does not give back as the index recorded it (CRC-32, length): the store
 * went bad under a running backup. The store and the index are deleted before this is thrown, so
 * the next run rebuilds them; like any damaged cache file, the run stops (exit 52) before a
 * manifest is stored.
 */
export class StoreDamagedError extends DamagedCacheError {
  constructor(file: string, detail: string) {
    super(file, detail);
    this.name = 'StoreDamagedError';
  }
}

/** Reads signatures out of an index's stores by reference (positioned reads, opened on first use). */
export class StoreReader {
  readonly #dir: string;
  readonly #names: readonly string[];
  readonly #fds = new Map<number, number>();

  constructor(dir: string, names: readonly string[]) {
    this.#dir = dir;
    this.#names = names;
  }

  read(ref: SignatureRef): Buffer {
    const name = this.#names[ref.store];
    if (name === undefined) throw this.#damaged(path.join(this.#dir, INDEX_FILE), `no store number ${ref.store}`);
    const file = path.join(this.#dir, name);
    let fd = this.#fds.get(ref.store);
    if (fd === undefined) {
      fd = fs.openSync(file, 'r');
      this.#fds.set(ref.store, fd);
    }
    const out = Buffer.allocUnsafe(ref.length);
    let got = 0;
    while (got < ref.length) {
      const n = fs.readSync(fd, out, got, ref.length - got, ref.offset + got);
      if (n === 0) throw this.#damaged(file, 'cut short');
      got += n;
    }
    if (crc32(out) >>> 0 !== ref.crc) throw this.#damaged(file, 'signature checksum mismatch');
    return out;
  }

  #damaged(file: string, detail: string): StoreDamagedError {
    fs.rmSync(path.join(this.#dir, INDEX_FILE), { force: true });
    fs.rmSync(file, { force: true });
    return new StoreDamagedError(file, detail);
  }

  close(): void {
    for (const fd of this.#fds.values()) fs.closeSync(fd);
    this.#fds.clear();
  }
}

/**
 * An incremental's delta merged into the previous index (newest wins; tombstones remove the
 * path), written to `writer`. The previous index's records are copied as bytes wherever the record
 * before them was copied too, and only peeked at (path, owner names): an incremental that changes
 * little re-encodes little. `newStore` is the delta's store number in the new index.
 */
export function mergeDelta(writer: IndexFileWriter, older: IndexFileReader, newer: Iterable<IndexRecord>, newStore: number): void {
  const decoder = new RecordDecoder();
  const it = newer[Symbol.iterator]();
  let next = it.next();
  let nextPath = next.done ? null : joinIndex(next.value.index);
  const writeNext = () => {
    const r = next.value as IndexRecord;
    if (r.meta !== null) writer.add(r.sig ? { ...r, sig: { ...r.sig, store: newStore } } : r);
    next = it.next();
    nextPath = next.done ? null : joinIndex(next.value.index);
  };
  writer.countSignatures(older.header.signatureBytes);
  // the encoder and the decoder both start from nothing: the first record can be copied
  let inStep = true;
  for (const body of older.bodies()) {
    const peeked = decoder.peek(body);
    let c = nextPath === null ? 1 : compareJoined(nextPath, peeked);
    while (c < 0) {
      writeNext();
      inStep = false;
      c = nextPath === null ? 1 : compareJoined(nextPath, peeked);
    }
    if (c === 0) {
      const replaced = decoder.decodePeeked(body);
      if (replaced.sig) writer.countSignatures(-replaced.sig.length);
      writeNext();
      inStep = false;
    } else if (inStep) writer.addRaw(body, peeked, decoder.uname, decoder.gname);
    else {
      writer.add(decoder.decodePeeked(body), true);
      inStep = true;
    }
  }
  while (nextPath !== null) writeNext();
}

/**
 * Newest wins, path by path: `older` (an index's records) combined with `newer` (a backup's delta,
 * with tombstones for deleted paths, or another chain member's records), both sorted. Tombstones
 * remove the path and are not passed on. `renumber` maps the newer records' store numbers.
 */
export function* combineRecords(
  older: Iterable<IndexRecord>,
  newer: Iterable<IndexRecord>,
  renumber: (r: IndexRecord) => IndexRecord,
): Generator<IndexRecord> {
  const a = older[Symbol.iterator]();
  const b = newer[Symbol.iterator]();
  let x = a.next();
  let y = b.next();
  while (!x.done || !y.done) {
    const c = x.done ? 1 : y.done ? -1 : compareIndex(x.value.index, y.value.index);
    if (c < 0) {
      yield x.value as IndexRecord;
      x = a.next();
      continue;
    }
    const r = y.value as IndexRecord;
    if (r.meta !== null) yield renumber(r);
    if (c === 0) x = a.next();
    y = b.next();
  }
}

function readAt(fd: number, pos: number, len: number): Buffer {
  const out = Buffer.allocUnsafe(len);
  let got = 0;
  while (got < len) {
    const n = fs.readSync(fd, out, got, len - got, pos + got);
    if (n === 0) throw new IndexUnusableError('cut short');
    got += n;
  }
  return out;
}
