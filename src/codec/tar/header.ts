import { isUtf8 } from 'node:buffer';
import { encodePaxRecords, HDRCHARSET_BINARY, type PaxRecord } from './pax-records.ts';
import { TYPE_BLK, TYPE_CHR, TYPE_DIR, TYPE_PAX } from './typeflags.ts';
import {
  encodeUstarBlock,
  LINKNAME_LENGTH,
  NAME_LENGTH,
  OCTAL_LIMIT_12,
  OCTAL_LIMIT_8,
  OWNER_NAME_LENGTH,
  paddingAfter,
  type TarHeaderFields,
} from './ustar-block.ts';

/**
 * One tar member's header, with the PAX overrides already applied (so `name` is the full path,
 * `mtime`, seconds since the epoch, may be negative, …). `size` is the bytes of data that follow
 * the header; only the low 12 bits of `mode` are written; `devmajor`/`devminor` only for
 * character and block devices.
 */
export interface TarHeader extends TarHeaderFields {
  /**
   * Further PAX records (vendor ones such as `PERMAFROST.size`). They come first in the PAX
   * header, as when Python's `TarInfo.pax_headers` is pre-filled; a key that is also a standard
   * record (`path`, `size`, …) takes its place, as in Python.
   */
  extraPax?: ReadonlyArray<readonly [string, Buffer]>;
}

const PAX_HEADER_NAME = Buffer.from('././@PaxHeader', 'latin1');
const EMPTY = Buffer.alloc(0);
const SLASH = 0x2f;

/**
 * The header blocks for `h`: a PAX extended header when one is needed, then the ustar block.
 * Byte-identical to Python 3.11's `TarInfo.tobuf(PAX_FORMAT, 'utf-8', 'surrogateescape')` for a
 * TarInfo whose string fields are `h`'s bytes decoded with surrogateescape (as duplicity's
 * `os.fsdecode` names are) and whose `pax_headers` holds `h.extraPax`.
 */
export function encodeHeader(h: TarHeader): Buffer {
  checkHeader(h);
  // TarInfo.get_info(): directory names always end in '/'.
  const name =
    h.typeflag === TYPE_DIR && (h.name.length === 0 || h.name[h.name.length - 1] !== SLASH)
      ? Buffer.concat([h.name, Buffer.from('/', 'latin1')])
      : h.name;

  // A dict in Python: insertion order, a repeated key keeps its first position. Written out
  // field by field (no arrays of tuples, no closures): a backup encodes two headers per file.
  const pax = new Map<string, Buffer>();
  if (h.extraPax) for (const [key, value] of h.extraPax) pax.set(key, value);
  textField(pax, 'path', name, NAME_LENGTH);
  textField(pax, 'linkpath', h.linkname, LINKNAME_LENGTH);
  textField(pax, 'uname', h.uname, OWNER_NAME_LENGTH);
  textField(pax, 'gname', h.gname, OWNER_NAME_LENGTH);
  const uid = numberField(pax, 'uid', h.uid, OCTAL_LIMIT_8);
  const gid = numberField(pax, 'gid', h.gid, OCTAL_LIMIT_8);
  const size = numberField(pax, 'size', h.size, OCTAL_LIMIT_12);
  const mtime = numberField(pax, 'mtime', h.mtime, OCTAL_LIMIT_12);

  const isDevice = h.typeflag === TYPE_CHR || h.typeflag === TYPE_BLK;
  const ustar = encodeUstarBlock({
    name: asciiReplaced(name, NAME_LENGTH),
    mode: h.mode & 0o7777,
    uid,
    gid,
    size,
    mtime,
    typeflag: h.typeflag,
    linkname: asciiReplaced(h.linkname, LINKNAME_LENGTH),
    uname: asciiReplaced(h.uname, OWNER_NAME_LENGTH),
    gname: asciiReplaced(h.gname, OWNER_NAME_LENGTH),
    devmajor: isDevice ? h.devmajor : null,
    devminor: isDevice ? h.devminor : null,
  });
  if (pax.size === 0) return ustar;

  const records: PaxRecord[] = [...pax];
  // Any value that is not UTF-8 makes Python switch the whole header to raw bytes.
  if (records.some(([, value]) => !isUtf8(value))) records.unshift(HDRCHARSET_BINARY);
  const body = encodePaxRecords(records);
  const paxBlock = encodeUstarBlock({
    name: PAX_HEADER_NAME,
    mode: 0,
    uid: 0,
    gid: 0,
    size: body.length,
    mtime: 0,
    typeflag: TYPE_PAX,
    linkname: EMPTY,
    uname: EMPTY,
    gname: EMPTY,
    devmajor: null,
    devminor: null,
  });
  return Buffer.concat([paxBlock, body, Buffer.alloc(paddingAfter(body.length)), ustar]);
}

/** A text field that does not fit its ustar field as ASCII goes into the PAX header. */
function textField(pax: Map<string, Buffer>, key: string, value: Buffer, limit: number): void {
  if (!pax.has(key) && (value.length > limit || !isAscii(value))) pax.set(key, value);
}

/** A number that does not fit its octal field goes into the PAX header; the field gets 0. */
function numberField(pax: Map<string, Buffer>, key: string, value: number, limit: number): number {
  if (value >= 0 && value < limit) return value;
  if (!pax.has(key)) pax.set(key, Buffer.from(String(value), 'latin1'));
  return 0;
}

function checkHeader(h: TarHeader): void {
  // A NUL would silently cut the name short on every reader.
  checkNoNul('name', h.name);
  checkNoNul('linkname', h.linkname);
  checkNoNul('uname', h.uname);
  checkNoNul('gname', h.gname);
  checkNonNegative('mode', h.mode);
  checkNonNegative('uid', h.uid);
  checkNonNegative('gid', h.gid);
  checkNonNegative('size', h.size);
  if (!Number.isSafeInteger(h.mtime)) throw new RangeError(`tar header mtime ${h.mtime} is not an integer`);
  if (!Number.isInteger(h.typeflag) || h.typeflag < 0 || h.typeflag > 0xff) {
    throw new RangeError(`tar header typeflag ${h.typeflag} is not a byte`);
  }
  if (h.typeflag === TYPE_CHR || h.typeflag === TYPE_BLK) {
    checkDeviceNumber('devmajor', h.devmajor);
    checkDeviceNumber('devminor', h.devminor);
  }
  if (h.extraPax) {
    for (const [key] of h.extraPax) {
      if (key.length === 0 || key.includes('=') || key.includes('\0'))
        throw new RangeError(`invalid PAX record key ${JSON.stringify(key)}`);
    }
  }
}

function checkNoNul(field: string, value: Buffer): void {
  if (value.includes(0)) throw new RangeError(`tar header ${field} contains a NUL byte`);
}

function checkNonNegative(field: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`tar header ${field} ${value} is not a non-negative integer`);
}

function checkDeviceNumber(field: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value >= OCTAL_LIMIT_8) {
    throw new RangeError(`tar header ${field} ${value} does not fit 7 octal digits`);
  }
}

function isAscii(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i]! >= 0x80) return false;
  return true;
}

/**
 * What Python writes into a ustar text field: the bytes decoded as UTF-8 with surrogateescape
 * and encoded as ASCII with 'replace', i.e. one '?' per non-ASCII character, where a valid UTF-8
 * sequence is one character and every other byte is one; then truncated to the field.
 */
function asciiReplaced(b: Buffer, limit: number): Buffer {
  if (isAscii(b)) return b;
  const out = Buffer.alloc(Math.min(b.length, limit));
  let n = 0;
  for (let i = 0; i < b.length && n < limit; ) {
    const c = b[i]!;
    if (c < 0x80) {
      out[n++] = c;
      i++;
    } else {
      out[n++] = 0x3f;
      i += utf8SequenceLength(b, i) || 1;
    }
  }
  return out.subarray(0, n);
}

/** Length of the valid UTF-8 sequence starting at `i` (lead byte >= 0x80), or 0 if none. */
function utf8SequenceLength(b: Buffer, i: number): number {
  const c = b[i]!;
  const cont = (j: number, lo = 0x80, hi = 0xbf): boolean => {
    const x = b[i + j];
    return x !== undefined && x >= lo && x <= hi;
  };
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    // E0 excludes overlongs, ED excludes UTF-16 surrogates.
    const lo = c === 0xe0 ? 0xa0 : 0x80;
    const hi = c === 0xed ? 0x9f : 0xbf;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const lo = c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xf4 ? 0x8f : 0xbf;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}
