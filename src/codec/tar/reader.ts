import { ChunkQueue } from '../chunk-queue.ts';
import type { TarHeader } from './header.ts';
import { parsePaxRecords } from './pax-records.ts';
import {
  TYPE_AREG,
  TYPE_DIR,
  TYPE_GNU_LONGLINK,
  TYPE_GNU_LONGNAME,
  TYPE_GNU_SPARSE,
  TYPE_PAX,
  TYPE_PAX_GLOBAL,
  TYPE_SOLARIS_PAX,
  typeflagCarriesData,
} from './typeflags.ts';
import { BLOCK_SIZE, decodeUstarBlock, isZeroBlock, paddingAfter, type DecodedUstarBlock } from './ustar-block.ts';

export interface TarEntry {
  /**
   * The member's header with PAX and GNU long-name overrides applied. Names are the stored bytes:
   * unlike Python, trailing slashes of directories are kept. `extraPax` holds this entry's own
   * PAX records other than the ones encodeHeader derives itself, so that
   * `encodeHeader(header)` reproduces the header of a tar written by Python.
   */
  header: TarHeader;
  /** Every PAX record in force for this entry (global ones included), raw values. */
  pax: ReadonlyMap<string, Buffer>;
  /** The member's data; empty for types that carry none. May share memory with a source chunk. */
  data: Buffer;
  /** Stream offset of the entry's first header block (its PAX or GNU header, if any). */
  offset: number;
  /** Stream offset of the data. */
  dataOffset: number;
}

export interface TarReaderOptions {
  /** Largest data accepted for one entry, so a hostile size cannot exhaust memory. Default 1 GiB. */
  maxEntrySize?: number;
  /** Largest total of PAX and GNU long-name header data for one entry, and of global PAX records. Default 1 MiB. */
  maxMetaSize?: number;
}

const DEFAULT_MAX_ENTRY_SIZE = 1024 * 1024 * 1024;
const DEFAULT_MAX_META_SIZE = 1024 * 1024;
const EMPTY = Buffer.alloc(0);
const SLASH = Buffer.from('/', 'latin1');
/** The records of an entry without a PAX header: shared, so it must never be changed. */
const NO_RECORDS: Map<string, Buffer> = new Map();

/** Records that encodeHeader generates itself from the header fields. */
const DERIVED_RECORDS = new Set(['path', 'linkpath', 'uname', 'gname', 'uid', 'gid', 'size', 'mtime', 'hdrcharset']);

/**
 * Pull-based reader of a tar stream (POSIX ustar, PAX, GNU long names; Python's and GNU tar's
 * output). It stops at the first all-zero header block or at the clean end of the source, and
 * does not read past it: whatever follows (gpg volumes carry a zero footer and "top-off" bytes)
 * stays in the source. Corrupt input raises an Error; a source that ends inside an entry is
 * "truncated tar".
 */
export class TarReader {
  readonly #queue: ChunkQueue;
  readonly #maxEntrySize: number;
  readonly #maxMetaSize: number;
  /** 'g' headers apply to every later entry. */
  readonly #globalPax = new Map<string, Buffer>();
  #finished = false;

  constructor(source: AsyncIterable<Uint8Array>, opts: TarReaderOptions = {}) {
    this.#queue = new ChunkQueue(source);
    this.#maxEntrySize = opts.maxEntrySize ?? DEFAULT_MAX_ENTRY_SIZE;
    this.#maxMetaSize = opts.maxMetaSize ?? DEFAULT_MAX_META_SIZE;
  }

  /** Stream position: bytes of the source consumed so far. */
  get bytesConsumed(): number {
    return this.#queue.consumed;
  }

  /** The next entry, or null at the end of the archive. */
  async next(): Promise<TarEntry | null> {
    if (this.#finished) return null;
    try {
      const entry = await this.#readEntry();
      if (entry === null) this.#finished = true;
      return entry;
    } catch (e) {
      this.#finished = true;
      throw e;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<TarEntry> {
    for (let e = await this.next(); e !== null; e = await this.next()) yield e;
  }

  /** Releases the source (e.g. closes a file stream) without reading the rest of it. */
  async close(): Promise<void> {
    this.#finished = true;
    await this.#queue.close();
  }

  async #readEntry(): Promise<TarEntry | null> {
    const offset = this.#queue.consumed;
    // Among GNU long names and PAX paths the first header wins, as in Python's nesting.
    let longName: Buffer | undefined;
    let longLink: Buffer | undefined;
    let localPax = NO_RECORDS;
    let metaBytes = 0;

    for (;;) {
      const at = this.#queue.consumed;
      const where = `at offset ${at}`;
      const block = await this.#readHeaderBlock(at !== offset, offset);
      if (block === null) return null;
      const raw = decodeUstarBlock(block, where);
      const flag = raw.typeflag;

      if (
        flag === TYPE_PAX ||
        flag === TYPE_SOLARIS_PAX ||
        flag === TYPE_PAX_GLOBAL ||
        flag === TYPE_GNU_LONGNAME ||
        flag === TYPE_GNU_LONGLINK
      ) {
        metaBytes += raw.size;
        if (raw.size < 0 || metaBytes > this.#maxMetaSize) {
          throw new Error(`tar extended header ${where} too large (${raw.size} bytes)`);
        }
        const body = await this.#readBody(raw.size, at);
        if (flag === TYPE_GNU_LONGNAME) {
          longName ??= Buffer.from(cutAtNul(body));
        } else if (flag === TYPE_GNU_LONGLINK) {
          longLink ??= Buffer.from(cutAtNul(body));
        } else {
          const records = parsePaxRecords(body, where);
          if (flag === TYPE_PAX_GLOBAL) {
            for (const [k, v] of records) this.#globalPax.set(k, v);
            // They accumulate over the whole archive, so they get their own bound.
            let total = 0;
            for (const [k, v] of this.#globalPax) total += k.length + v.length;
            if (total > this.#maxMetaSize) throw new Error(`tar global PAX records ${where} exceed ${this.#maxMetaSize} bytes`);
          } else {
            const mine = new Map(records); // a key repeated in one header: the last one counts
            if (localPax === NO_RECORDS) localPax = mine;
            else for (const [k, v] of mine) if (!localPax.has(k)) localPax.set(k, v);
            if (longName === undefined && mine.has('path')) longName = mine.get('path');
            if (longLink === undefined && mine.has('linkpath')) longLink = mine.get('linkpath');
          }
        }
        continue;
      }
      if (flag === TYPE_GNU_SPARSE || hasSparseRecords(localPax) || hasSparseRecords(this.#globalPax)) {
        throw new Error(`GNU sparse tar entries are not supported (${where})`);
      }
      return this.#finishEntry(raw, offset, where, longName, longLink, localPax);
    }
  }

  async #finishEntry(
    raw: DecodedUstarBlock,
    offset: number,
    where: string,
    longName: Buffer | undefined,
    longLink: Buffer | undefined,
    localPax: Map<string, Buffer>,
  ): Promise<TarEntry> {
    // (the entry's own records are a Map of their own, or the shared empty one, never changed)
    let pax: ReadonlyMap<string, Buffer> = localPax;
    if (this.#globalPax.size > 0) {
      const merged = new Map(this.#globalPax);
      for (const [k, v] of localPax) merged.set(k, v);
      pax = merged;
    }

    let name = longName ?? this.#globalPax.get('path');
    if (name === undefined) name = raw.prefix.length > 0 ? Buffer.concat([raw.prefix, SLASH, raw.name]) : raw.name;
    const linkname = longLink ?? this.#globalPax.get('linkpath') ?? raw.linkname;

    let typeflag = raw.typeflag;
    // Old V7 tars mark directories only by the trailing slash; like Python, look at the ustar field.
    if (typeflag === TYPE_AREG && raw.name.length > 0 && raw.name[raw.name.length - 1] === SLASH[0]) typeflag = TYPE_DIR;

    const size = paxInteger(pax, 'size', where) ?? raw.size;
    let extraPax: [string, Buffer][] | null = null;
    for (const record of localPax) if (!DERIVED_RECORDS.has(record[0])) (extraPax ??= []).push(record);
    const header: TarHeader = {
      name,
      mode: raw.mode,
      uid: paxInteger(pax, 'uid', where) ?? raw.uid,
      gid: paxInteger(pax, 'gid', where) ?? raw.gid,
      size,
      mtime: paxSeconds(pax, where) ?? raw.mtime,
      typeflag,
      linkname,
      uname: pax.get('uname') ?? raw.uname,
      gname: pax.get('gname') ?? raw.gname,
      devmajor: raw.devmajor,
      devminor: raw.devminor,
    };
    if (extraPax !== null) header.extraPax = extraPax;

    const dataOffset = this.#queue.consumed;
    let data: Buffer = EMPTY;
    if (typeflagCarriesData(typeflag)) {
      if (size < 0 || size > this.#maxEntrySize) {
        throw new Error(`tar entry ${where} has size ${size}, over the limit of ${this.#maxEntrySize} bytes`);
      }
      data = await this.#readBody(size, offset);
    }
    return { header, pax, data, offset, dataOffset };
  }

  /** The next header block, or null at the end of the archive. */
  async #readHeaderBlock(pendingMeta: boolean, entryOffset: number): Promise<Buffer | null> {
    const at = this.#queue.consumed;
    if (!(await this.#queue.ensure(BLOCK_SIZE))) {
      if (this.#queue.buffered === 0 && !pendingMeta) return null;
      throw new Error(`truncated tar: the source ends inside the header at offset ${at}`);
    }
    const block = this.#queue.take(BLOCK_SIZE);
    if (!isZeroBlock(block)) return block;
    if (pendingMeta) {
      throw new Error(`tar extended header at offset ${entryOffset} is not followed by an entry`);
    }
    return null;
  }

  /** `size` bytes of data and the padding after them. */
  async #readBody(size: number, headerOffset: number): Promise<Buffer> {
    const pad = paddingAfter(size);
    if (!(await this.#queue.ensure(size + pad))) {
      throw new Error(`truncated tar: the source ends inside the data of the entry at offset ${headerOffset}`);
    }
    const data = this.#queue.take(size);
    this.#queue.skip(pad);
    return data;
  }
}

function cutAtNul(b: Buffer): Buffer {
  const i = b.indexOf(0);
  return i < 0 ? b : b.subarray(0, i);
}

function hasSparseRecords(pax: Map<string, Buffer>): boolean {
  for (const key of pax.keys()) if (key.startsWith('GNU.sparse.')) return true;
  return false;
}

function paxInteger(pax: ReadonlyMap<string, Buffer>, key: string, where: string): number | undefined {
  const v = pax.get(key);
  if (v === undefined) return undefined;
  const s = v.toString('latin1');
  const n = Number(s);
  if (!/^[0-9]{1,16}$/.test(s) || !Number.isSafeInteger(n)) {
    throw new Error(`invalid PAX ${key} record ${JSON.stringify(s.slice(0, 40))} ${where}`);
  }
  return n;
}

/** PAX times are decimal seconds with an optional fraction; duplicity keeps `int(mtime)`. */
function paxSeconds(pax: ReadonlyMap<string, Buffer>, where: string): number | undefined {
  const v = pax.get('mtime');
  if (v === undefined) return undefined;
  const s = v.toString('latin1');
  const m = /^([+-]?)([0-9]{1,16})(?:\.[0-9]*)?$/.exec(s);
  const whole = m ? Number(m[2]) : NaN;
  if (!m || !Number.isSafeInteger(whole)) {
    throw new Error(`invalid PAX mtime record ${JSON.stringify(s.slice(0, 40))} ${where}`);
  }
  return m[1] === '-' && whole !== 0 ? -whole : whole;
}
