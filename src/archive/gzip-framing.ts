import { constants as zc, deflateRawSync } from 'node:zlib';

/**
 * The pieces of a gzip file (RFC 1952) whose deflate stream is assembled from independently
 * compressed runs: each run ends with a sync flush (byte-aligned, not final), data that would not
 * compress goes in stored blocks, and one final empty block closes the stream. Any gzip reader
 * (Python's gzip module, as duplicity uses, zlib, gzip(1)) reads the result as one member.
 */

/** The same header as Node's gzip: no name, no mtime, OS = Unix. */
export const GZIP_HEADER: Buffer = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03]);

/** Ends the deflate stream (a final, empty fixed-Huffman block), then CRC-32 and size mod 2^32. */
export function gzipTrailer(crc: number, size: number): Buffer {
  const b = Buffer.allocUnsafe(10);
  b[0] = 0x03;
  b[1] = 0x00;
  b.writeUInt32LE(crc >>> 0, 2);
  b.writeUInt32LE(size % 2 ** 32, 6);
  return b;
}

/**
 * Raw deflate for `data`, whose consecutive parts have the given lengths (tar headers, file
 * chunks, padding), as pieces to write in order (some are views of `data`): parts that look
 * incompressible are stored, the runs between them are deflated at `level`, each from an empty
 * window. On small files that is no bigger than one deflate stream
 * (zlib spends bits on random data that stored blocks do not), and it skips the slowest half of
 * the work: deflate runs at ~60 MB/s on random data, a copy at memory speed.
 */
export function deflateParts(data: Buffer, lengths: readonly number[], level: number): Buffer[] {
  const out: Buffer[] = [];
  let runStart = 0;
  let at = 0;
  const endRun = (end: number) => {
    if (end <= runStart) return;
    // an output buffer sized to the run: zlib's default 16 KiB per call, times tens of thousands
    // of short runs, is garbage that piles up until the worker's next GC
    const chunkSize = Math.min(MAX_OUTPUT_CHUNK, Math.max(64, end - runStart + 64));
    out.push(deflateRawSync(data.subarray(runStart, end), { level, finishFlush: zc.Z_SYNC_FLUSH, chunkSize }));
  };
  for (const length of lengths) {
    const part = data.subarray(at, at + length);
    if (looksIncompressible(part)) {
      endRun(at);
      pushStored(out, part);
      runStart = at + length;
    }
    at += length;
  }
  if (at !== data.length) throw new RangeError(`part lengths add up to ${at}, not ${data.length}`);
  endRun(at);
  return out;
}

/** Stored blocks (BFINAL=0, BTYPE=00) of at most 65535 bytes; the stream is byte-aligned here. */
function pushStored(out: Buffer[], data: Buffer): void {
  for (let at = 0; at < data.length; at += MAX_STORED) {
    const n = Math.min(MAX_STORED, data.length - at);
    out.push(Buffer.from([0x00, n & 0xff, n >>> 8, ~n & 0xff, (~n >>> 8) & 0xff]), data.subarray(at, at + n));
  }
}

/**
 * A cheap guess whether deflate would gain next to nothing: the order-0 entropy of up to
 * SAMPLE_WINDOWS contiguous windows spread over the part. Random and already compressed data come
 * out near 8 bits per byte, text near 4.5. Contiguous windows (not single strided bytes) keep
 * records whose high bytes are zero from looking random. A wrong "yes" costs only size, never
 * correctness: the bytes are stored as they are.
 */
export function looksIncompressible(part: Uint8Array): boolean {
  if (part.length < MIN_STORED) return false;
  const counts = new Uint32Array(256);
  const windows = Math.min(SAMPLE_WINDOWS, Math.floor(part.length / WINDOW));
  const stride = Math.floor(part.length / windows);
  let n = 0;
  for (let w = 0; w < windows; w++) {
    const start = w * stride;
    for (let i = start; i < start + WINDOW; i++) counts[part[i]!]!++;
    n += WINDOW;
  }
  let bits = 0;
  const log2n = Math.log2(n);
  for (let s = 0; s < 256; s++) {
    const c = counts[s]!;
    if (c > 0) bits += c * (log2n - Math.log2(c));
  }
  return bits >= n * INCOMPRESSIBLE_BITS;
}

const MAX_STORED = 65535;
const MAX_OUTPUT_CHUNK = 64 * 1024;
/** Shorter parts always go to deflate: storing them saves little time, and tar headers compress well. */
export const MIN_STORED = 1024;
const WINDOW = 512;
const SAMPLE_WINDOWS = 8;
/**
 * Random bytes measure about 7.8 bits per byte over 1 KiB and 7.95 over 4 KiB; at 7.6 deflate's
 * Huffman stage could save at most 5%, and zlib's LZ77 stage finds little in such data.
 */
const INCOMPRESSIBLE_BITS = 7.6;
