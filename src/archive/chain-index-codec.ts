import type { EntryMeta, EntryType } from '../core/entry.ts';
import type { RecordedStamp } from '../core/file-stamp.ts';
import type { PathIndex } from '../core/path-index.ts';

/**
 * One path of the chain index (docs/chain-index.md): what the combined signatures of a chain say
 * about it, with its signature left in a store file and only located here. `meta === null` is a
 * tombstone: it appears only in the delta a backup writes (the path was deleted), never in an
 * index file.
 */
export interface IndexRecord {
  readonly index: PathIndex;
  readonly meta: EntryMeta | null;
  readonly stamp: RecordedStamp | null;
  readonly sig: SignatureRef | null;
}

/** Where a regular file's signature sits: store number (in the index header's list), byte range, CRC-32. */
export interface SignatureRef {
  readonly store: number;
  readonly offset: number;
  readonly length: number;
  readonly crc: number;
}

const TYPES: readonly EntryType[] = ['reg', 'dir', 'sym', 'fifo', 'chr', 'blk'];
const TOMBSTONE = 7;
const TYPE_MASK = 0x07;
const F_SPARSE = 0x08;
const F_STAMP = 0x10;
const F_SIG = 0x20;
const F_SAME_OWNER = 0x40;
/** a signature entry without a size (duplicity's): EntryMeta.size -1 */
const F_NO_SIZE = 0x80;
const S_MTIME = 1;
const S_CTIME = 2;
const S_INO = 4;
const S_REREAD = 8;
/** the stamp's times and inode as decimal text: a value outside a signed 64-bit integer */
const S_WIDE = 16;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;
/** A typed array moves a bigint in and out of 8 bytes faster than Buffer's (Big)Int64 methods. */
const I64 = new BigInt64Array(1);
const I64_BYTES = new Uint8Array(I64.buffer);
/** the format is little-endian; a big-endian machine takes Buffer's methods */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function fitsI64(v: bigint | null): boolean {
  return v === null || (v >= I64_MIN && v <= I64_MAX);
}

/**
 * Encodes records one after the other, each as a varint length and a body. Paths are stored as
 * their components joined by '/' (a component never holds one), sharing a prefix with the
 * previous record's; owner names are written only when they differ from the previous record's.
 * So the encoding depends on the previous record: a stream is decoded from its start.
 */
export class RecordEncoder {
  #prevPath: Buffer = Buffer.alloc(0);
  #prevUname = '\u0000';
  #prevGname = '\u0000';
  #body = Buffer.allocUnsafe(4096);
  #pos = 0;

  /**
   * Takes a record's bytes that are copied as they are (written by an encoder in the same state):
   * the next record is encoded after it.
   */
  follow(path: Buffer, uname: string, gname: string): void {
    this.#prevPath = path;
    this.#prevUname = uname;
    this.#prevGname = gname;
  }

  /** The path (components joined by '/') of the record encoded last. */
  get lastPath(): Buffer {
    return this.#prevPath;
  }

  /** The bytes of `r` (a view of an internal buffer, valid until the next call). */
  encode(r: IndexRecord): Buffer {
    this.#pos = 0;
    const path = joinIndex(r.index);
    const meta = r.meta;
    let flags = meta === null ? TOMBSTONE : TYPES.indexOf(meta.type);
    if (meta !== null) {
      if (meta.sparse) flags |= F_SPARSE;
      if (r.stamp) flags |= F_STAMP;
      if (r.sig) flags |= F_SIG;
      if (meta.size < 0) flags |= F_NO_SIZE;
      if (meta.uname === this.#prevUname && meta.gname === this.#prevGname) flags |= F_SAME_OWNER;
    }
    this.#byte(flags);
    const shared = sharedPrefix(this.#prevPath, path);
    this.#uint(shared);
    this.#bytes(path.subarray(shared));
    this.#prevPath = path;
    if (meta !== null) {
      this.#uint(meta.mode);
      this.#uint(meta.uid);
      this.#uint(meta.gid);
      if (!(flags & F_SAME_OWNER)) {
        this.#bytes(Buffer.from(meta.uname, 'utf8'));
        this.#bytes(Buffer.from(meta.gname, 'utf8'));
        this.#prevUname = meta.uname;
        this.#prevGname = meta.gname;
      }
      this.#int(meta.mtime);
      if (meta.size >= 0) this.#uint(meta.size);
      if (meta.type === 'sym') this.#bytes(meta.linkname);
      if (meta.type === 'chr' || meta.type === 'blk') {
        this.#uint(meta.devmajor);
        this.#uint(meta.devminor);
      }
      if (r.stamp) this.#stamp(r.stamp);
      if (r.sig) {
        this.#uint(r.sig.store);
        this.#uint(r.sig.offset);
        this.#uint(r.sig.length);
        this.#ensure(4);
        this.#body.writeUInt32LE(r.sig.crc >>> 0, this.#pos);
        this.#pos += 4;
      }
    }
    return this.#body.subarray(0, this.#pos);
  }

  #stamp(s: RecordedStamp): void {
    const { mtimeNs, ctimeNs, ino } = s;
    let sf = (mtimeNs !== null ? S_MTIME : 0) | (ctimeNs !== null ? S_CTIME : 0) | (ino !== null ? S_INO : 0);
    if (s.reread !== null) sf |= S_REREAD;
    if (!fitsI64(mtimeNs) || !fitsI64(ctimeNs) || !fitsI64(ino)) sf |= S_WIDE;
    this.#byte(sf);
    this.#ensure(24);
    for (const v of [mtimeNs, ctimeNs, ino]) {
      if (v === null) continue;
      if (sf & S_WIDE) this.#bytes(Buffer.from(v.toString(), 'latin1'));
      else {
        if (LITTLE_ENDIAN) {
          I64[0] = v;
          this.#body.set(I64_BYTES, this.#pos);
        } else this.#body.writeBigInt64LE(v, this.#pos);
        this.#pos += 8;
      }
    }
    if (s.reread !== null) this.#bytes(Buffer.from(s.reread, 'latin1'));
  }

  #ensure(n: number): void {
    if (this.#pos + n <= this.#body.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.#body.length * 2, this.#pos + n));
    this.#body.copy(bigger, 0, 0, this.#pos);
    this.#body = bigger;
  }

  #byte(b: number): void {
    this.#ensure(1);
    this.#body[this.#pos++] = b;
  }

  /** LEB128 of a non-negative safe integer (arithmetic, not shifts: values go past 2^32). */
  #uint(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`chain index: ${n} is not a non-negative safe integer`);
    this.#ensure(8);
    while (n >= 0x80) {
      this.#body[this.#pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.#body[this.#pos++] = n;
  }

  /** zigzag, then LEB128 (so |n| < 2^52: a time in seconds) */
  #int(n: number): void {
    if (!Number.isSafeInteger(n * 2)) throw new RangeError(`chain index: ${n} is not a safe integer`);
    this.#uint(n >= 0 ? n * 2 : -n * 2 - 1);
  }

  #bytes(b: Buffer): void {
    this.#uint(b.length);
    this.#ensure(b.length);
    b.copy(this.#body, this.#pos);
    this.#pos += b.length;
  }
}

/** A record body that does not decode: the index file is damaged or not ours. */
export class IndexFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IndexFormatError';
  }
}

/** Decodes what RecordEncoder wrote, record by record, in the same order. */
export class RecordDecoder {
  #prevPath: Buffer = Buffer.alloc(0);
  /** the previous path's components, when the previous record was decoded whole (else empty) */
  #prevIndex: PathIndex = [];
  /** bytes the path decoded last shares with the one before it */
  #shared = 0;
  #prevUname = '';
  #prevGname = '';
  #buf: Buffer = Buffer.alloc(0);
  #pos = 0;
  #end = 0;

  #fromPath: Buffer = Buffer.alloc(0);
  #fromUname = '';
  #fromGname = '';

  /**
   * A record's path (components joined by '/'), without decoding the rest: what a merge needs to
   * copy records as they are, with `uname` and `gname` after it. `decodePeeked` decodes the same
   * record whole.
   */
  peek(body: Buffer): Buffer {
    this.#fromPath = this.#prevPath;
    this.#fromUname = this.#prevUname;
    this.#fromGname = this.#prevGname;
    this.#prevIndex = [];
    this.#buf = body;
    this.#pos = 0;
    this.#end = body.length;
    const flags = this.#byte();
    this.#path();
    if ((flags & TYPE_MASK) !== TOMBSTONE && !(flags & F_SAME_OWNER)) {
      this.#uint();
      this.#uint();
      this.#uint();
      this.#prevUname = this.#bytes().toString('utf8');
      this.#prevGname = this.#bytes().toString('utf8');
    }
    return this.#prevPath;
  }

  /** The owner names in effect after the record peeked or decoded last. */
  get uname(): string {
    return this.#prevUname;
  }

  get gname(): string {
    return this.#prevGname;
  }

  /** The record last given to `peek`, decoded whole. */
  decodePeeked(body: Buffer): IndexRecord {
    this.#prevPath = this.#fromPath;
    this.#prevUname = this.#fromUname;
    this.#prevGname = this.#fromGname;
    return this.decode(body);
  }

  #path(): Buffer {
    const shared = this.#uint();
    this.#shared = shared;
    const n = this.#uint();
    this.#need(n);
    const prev = this.#prevPath;
    if (shared > prev.length) throw new IndexFormatError('chain index: path prefix longer than the previous path');
    // byte loops: paths are short, and copy() or a suffix view cost more per record
    const path = Buffer.allocUnsafe(shared + n);
    for (let i = 0; i < shared; i++) path[i] = prev[i]!;
    const buf = this.#buf;
    const from = this.#pos;
    for (let i = 0; i < n; i++) path[shared + i] = buf[from + i]!;
    this.#pos = from + n;
    this.#prevPath = path;
    return path;
  }

  /** Decodes one record body (exactly `body`, no length prefix). */
  decode(body: Buffer): IndexRecord {
    this.#buf = body;
    this.#pos = 0;
    this.#end = body.length;
    const flags = this.#byte();
    const typeCode = flags & TYPE_MASK;
    const index = this.#index();
    if (typeCode === TOMBSTONE) return this.#done({ index, meta: null, stamp: null, sig: null });
    const type = TYPES[typeCode];
    if (type === undefined) throw new IndexFormatError(`chain index: unknown entry type ${typeCode}`);
    const mode = this.#uint();
    const uid = this.#uint();
    const gid = this.#uint();
    if (!(flags & F_SAME_OWNER)) {
      this.#prevUname = this.#bytes().toString('utf8');
      this.#prevGname = this.#bytes().toString('utf8');
    }
    const mtime = this.#int();
    const size = flags & F_NO_SIZE ? -1 : this.#uint();
    const linkname = type === 'sym' ? Buffer.from(this.#bytes()) : EMPTY;
    const isDev = type === 'chr' || type === 'blk';
    const devmajor = isDev ? this.#uint() : 0;
    const devminor = isDev ? this.#uint() : 0;
    const uname = this.#prevUname;
    const gname = this.#prevGname;
    // two literals, not a spread: one object per record, of one shape per branch
    const meta: EntryMeta =
      flags & F_SPARSE
        ? { index, type, mode, uid, gid, uname, gname, mtime, size, linkname, devmajor, devminor, sparse: true }
        : { index, type, mode, uid, gid, uname, gname, mtime, size, linkname, devmajor, devminor };
    const stamp = flags & F_STAMP ? this.#stamp() : null;
    let sig: SignatureRef | null = null;
    if (flags & F_SIG) {
      const store = this.#uint();
      const offset = this.#uint();
      const length = this.#uint();
      this.#need(4);
      const crc = this.#buf.readUInt32LE(this.#pos);
      this.#pos += 4;
      sig = { store, offset, length, crc };
    }
    return this.#done({ index, meta, stamp, sig });
  }

  #done(r: IndexRecord): IndexRecord {
    if (this.#pos !== this.#end) throw new IndexFormatError('chain index: record longer than its fields');
    return r;
  }

  #stamp(): RecordedStamp {
    const sf = this.#byte();
    const mtimeNs = this.#stampValue(sf, S_MTIME);
    const ctimeNs = this.#stampValue(sf, S_CTIME);
    const ino = this.#stampValue(sf, S_INO);
    const reread = sf & S_REREAD ? this.#bytes().toString('latin1') : null;
    return { mtimeNs, ctimeNs, ino, reread };
  }

  #stampValue(sf: number, bit: number): bigint | null {
    if (!(sf & bit)) return null;
    if (sf & S_WIDE) {
      const text = this.#bytes().toString('latin1');
      if (!/^-?[0-9]+$/.test(text)) throw new IndexFormatError('chain index: bad stamp value');
      return BigInt(text);
    }
    this.#need(8);
    const buf = this.#buf;
    const p = this.#pos;
    this.#pos += 8;
    if (!LITTLE_ENDIAN) return buf.readBigInt64LE(p);
    // byte by byte: no subarray (a Buffer object) per value
    for (let i = 0; i < 8; i++) I64_BYTES[i] = buf[p + i]!;
    return I64[0]!;
  }

  /**
   * The path of the next record, split into components. Components that the path shares whole
   * with the previous record's are that record's (Buffers are never written to once decoded):
   * in a sorted index most records differ from the one before in the last component alone.
   */
  #index(): PathIndex {
    const prevIndex = this.#prevIndex;
    const path = this.#path();
    const shared = this.#shared;
    if (path.length === 0) return (this.#prevIndex = []);
    const out: Buffer[] = [];
    // whole components of the previous path inside the shared prefix, where the new path's
    // component ends too (a '/' follows it)
    let start = 0;
    for (let k = 0; k < prevIndex.length; k++) {
      const end = start + prevIndex[k]!.length;
      if (end > shared || path[end] !== 0x2f) break;
      out.push(prevIndex[k]!);
      start = end + 1;
    }
    for (let i = start; i <= path.length; i++) {
      if (i === path.length || path[i] === 0x2f) {
        if (i === start) throw new IndexFormatError('chain index: empty path component');
        out.push(path.subarray(start, i));
        start = i + 1;
      }
    }
    this.#prevIndex = out;
    return out;
  }

  #need(n: number): void {
    if (this.#pos + n > this.#end) throw new IndexFormatError('chain index: record cut short');
  }

  #byte(): number {
    this.#need(1);
    return this.#buf[this.#pos++]!;
  }

  #uint(): number {
    let n = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.#byte();
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 0x80;
    }
    throw new IndexFormatError('chain index: varint too long');
  }

  #int(): number {
    const z = this.#uint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  #bytes(): Buffer {
    const n = this.#uint();
    this.#need(n);
    const out = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }
}

/** Writes a LEB128 varint at `buf[pos]`, returning the position after it. */
export function writeVarint(buf: Buffer, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  buf[pos++] = n;
  return pos;
}

/** A varint at `buf[pos]` and the position after it; null when `buf` ends inside it. */
export function readVarint(buf: Buffer, pos: number, end: number): { value: number; next: number } | null {
  let n = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    if (pos >= end) return null;
    const b = buf[pos++]!;
    n += (b & 0x7f) * scale;
    if (b < 0x80) return { value: n, next: pos };
    scale *= 0x80;
  }
  throw new IndexFormatError('chain index: record length varint too long');
}

const EMPTY = Buffer.alloc(0);

/**
 * duplicity's order (compareIndex) on paths joined by '/': a component that ends sorts before any
 * byte that continues the other, since '/' and the end stand for the end of a component.
 */
export function compareJoined(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    if (x === 0x2f) return -1;
    if (y === 0x2f) return 1;
    return x - y;
  }
  return a.length - b.length;
}

export function joinIndex(index: PathIndex): Buffer {
  if (index.length === 1) return index[0]!;
  let n = index.length > 0 ? index.length - 1 : 0;
  for (const c of index) n += c.length;
  const out = Buffer.allocUnsafe(n);
  let pos = 0;
  for (let i = 0; i < index.length; i++) {
    if (i > 0) out[pos++] = 0x2f;
    pos += index[i]!.copy(out, pos);
  }
  return out;
}

function sharedPrefix(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}
