/**
 * One 512-byte POSIX ustar header block: the field layout, number formats and checksum, in both
 * directions. Higher-level rules (when a PAX header is needed, what goes in it) live elsewhere.
 */

export const BLOCK_SIZE = 512;
/** Python's tarfile (and `tar -b20`) pads a closed archive to a multiple of this. */
export const RECORD_SIZE = 20 * BLOCK_SIZE;

/** Bytes of zero padding after `size` bytes of data. */
export function paddingAfter(size: number): number {
  const r = size % BLOCK_SIZE;
  return r === 0 ? 0 : BLOCK_SIZE - r;
}

const NAME = 0;
const MODE = 100;
const UID = 108;
const GID = 116;
const SIZE = 124;
const MTIME = 136;
const CHKSUM = 148;
const TYPEFLAG = 156;
const LINKNAME = 157;
const MAGIC = 257;
const UNAME = 265;
const GNAME = 297;
const DEVMAJOR = 329;
const DEVMINOR = 337;
const PREFIX = 345;

export const NAME_LENGTH = 100;
export const LINKNAME_LENGTH = 100;
export const OWNER_NAME_LENGTH = 32;

/** Largest value a `%0{n-1}o\0` field of n bytes holds, plus one. */
export const OCTAL_LIMIT_8 = 8 ** 7;
export const OCTAL_LIMIT_12 = 8 ** 11;

/**
 * The fields of a tar header, declared once: what is written into a ustar block (`UstarFields`),
 * what is read from one (`DecodedUstarBlock`) and a member's header with its PAX overrides
 * (`TarHeader` in header.ts) all have them. Text fields are raw bytes: names on Linux need not be
 * UTF-8. `Device`: how the device numbers are held. Types only, so the hot encoder is unchanged.
 */
export interface TarHeaderFields<Device = number> {
  name: Buffer;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  /** The typeflag byte, e.g. 0x30 ('0'); see typeflags.ts. */
  typeflag: number;
  linkname: Buffer;
  uname: Buffer;
  gname: Buffer;
  devmajor: Device;
  devminor: Device;
}

/**
 * What goes into a ustar block; text fields are the exact bytes to store (truncated to fit).
 * Device numbers null: the device fields are left all NUL (Python does so for everything but chr/blk).
 */
export type UstarFields = TarHeaderFields<number | null>;

/**
 * The block as Python's `TarInfo._create_header(info, USTAR_FORMAT, …)` builds it: POSIX magic,
 * empty prefix, checksum `%06o\0 ` over the unsigned bytes. Numbers must already fit their field.
 */
export function encodeUstarBlock(f: UstarFields): Buffer {
  // From the shared pool: much cheaper than a zero-filled allocation of its own.
  const b = Buffer.allocUnsafe(BLOCK_SIZE).fill(0);
  f.name.copy(b, NAME, 0, Math.min(f.name.length, NAME_LENGTH));
  writeOctal(b, MODE, 8, f.mode);
  writeOctal(b, UID, 8, f.uid);
  writeOctal(b, GID, 8, f.gid);
  writeOctal(b, SIZE, 12, f.size);
  writeOctal(b, MTIME, 12, f.mtime);
  b[TYPEFLAG] = f.typeflag;
  f.linkname.copy(b, LINKNAME, 0, Math.min(f.linkname.length, LINKNAME_LENGTH));
  b.write('ustar\u000000', MAGIC, 'latin1');
  f.uname.copy(b, UNAME, 0, Math.min(f.uname.length, OWNER_NAME_LENGTH));
  f.gname.copy(b, GNAME, 0, Math.min(f.gname.length, OWNER_NAME_LENGTH));
  if (f.devmajor !== null) writeOctal(b, DEVMAJOR, 8, f.devmajor);
  if (f.devminor !== null) writeOctal(b, DEVMINOR, 8, f.devminor);
  const sums = headerChecksums(b);
  b.write(`${sums.unsigned.toString(8).padStart(6, '0')}\u0000 `, CHKSUM, 'latin1');
  return b;
}

function writeOctal(b: Buffer, offset: number, width: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value >= 8 ** (width - 1)) {
    throw new RangeError(`tar field value ${value} does not fit ${width - 1} octal digits`);
  }
  // Zero-padded digits, right to left; the terminating NUL is already there.
  for (let i = offset + width - 2; i >= offset; i--) {
    b[i] = 0x30 + (value % 8);
    value = Math.floor(value / 8);
  }
}

/**
 * Both checksums tar implementations have produced: the header bytes summed as unsigned and as
 * signed chars, with the checksum field counted as 8 spaces.
 */
export function headerChecksums(block: Buffer): { unsigned: number; signed: number } {
  let sum = 0;
  let high = 0; // bytes >= 0x80, each 256 less when read as signed
  for (let i = 0; i < BLOCK_SIZE; i++) {
    const v = block[i]!;
    sum += v;
    high += v >>> 7;
  }
  for (let i = CHKSUM; i < CHKSUM + 8; i++) {
    const v = block[i]!;
    sum -= v;
    high -= v >>> 7;
  }
  const unsigned = sum + 8 * 0x20;
  return { unsigned, signed: unsigned - 256 * high };
}

export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK_SIZE; i++) if (block[i] !== 0) return false;
  return true;
}

/** A header block as stored: text fields cut at their first NUL, numbers decoded. */
export interface DecodedUstarBlock extends TarHeaderFields {
  /** The ustar `prefix` field; empty unless the magic is POSIX `ustar\0`. */
  prefix: Buffer;
}

/**
 * Decodes a non-zero header block the way Python's `TarInfo.frombuf()` does (octal or GNU
 * base-256 numbers, either checksum accepted). `where` goes into error messages.
 */
export function decodeUstarBlock(block: Buffer, where: string): DecodedUstarBlock {
  const stored = readNumber(block, CHKSUM, 8, where, 'chksum');
  const sums = headerChecksums(block);
  if (stored !== sums.unsigned && stored !== sums.signed) {
    throw new Error(`bad tar header checksum ${where}`);
  }
  const isPosix = block.toString('latin1', MAGIC, MAGIC + 6) === 'ustar\u0000';
  return {
    name: textField(block, NAME, NAME_LENGTH),
    mode: readNumber(block, MODE, 8, where, 'mode'),
    uid: readNumber(block, UID, 8, where, 'uid'),
    gid: readNumber(block, GID, 8, where, 'gid'),
    size: readNumber(block, SIZE, 12, where, 'size'),
    mtime: readNumber(block, MTIME, 12, where, 'mtime'),
    typeflag: block[TYPEFLAG]!,
    linkname: textField(block, LINKNAME, LINKNAME_LENGTH),
    uname: textField(block, UNAME, OWNER_NAME_LENGTH),
    gname: textField(block, GNAME, OWNER_NAME_LENGTH),
    devmajor: readNumber(block, DEVMAJOR, 8, where, 'devmajor'),
    devminor: readNumber(block, DEVMINOR, 8, where, 'devminor'),
    // GNU's old format keeps atime/ctime here, so only POSIX headers get a prefix.
    prefix: isPosix ? textField(block, PREFIX, 155) : EMPTY,
  };
}

const EMPTY = Buffer.alloc(0);

/** A copy, so that entries do not pin the (possibly large) source chunk the block lies in. */
function textField(block: Buffer, offset: number, length: number): Buffer {
  let end = offset;
  const limit = offset + length;
  while (end < limit && block[end] !== 0) end++;
  return end === offset ? EMPTY : Buffer.from(block.subarray(offset, end));
}

/** Python's `nti()`: base-256 when the first byte is 0x80 or 0xff, else NUL-terminated octal. */
function readNumber(block: Buffer, offset: number, width: number, where: string, field: string): number {
  const first = block[offset]!;
  if (first === 0x80 || first === 0xff) {
    let n = 0n;
    for (let i = 1; i < width; i++) n = (n << 8n) | BigInt(block[offset + i]!);
    if (first === 0xff) n -= 256n ** BigInt(width - 1);
    if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new Error(`tar header ${field} field out of range ${where}`);
    }
    return Number(n);
  }
  let start = offset;
  let end = offset;
  const limit = offset + width;
  while (end < limit && block[end] !== 0) end++;
  while (start < end && isAsciiSpace(block[start]!)) start++;
  while (end > start && isAsciiSpace(block[end - 1]!)) end--;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = block[i]! - 0x30;
    if (d < 0 || d > 7) throw new Error(`invalid tar header ${field} field ${where}`);
    n = n * 8 + d;
  }
  return n;
}

function isAsciiSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}
