import type { RunDeflater } from './run-deflater.ts';

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
 * incompressible are stored, the runs between them are deflated by `deflater`, each from an empty
 * window. On small files that is no bigger than one deflate stream (zlib spends bits on random
 * data that stored blocks do not), and it skips the slowest half of the work: deflate runs at
 * ~60 MB/s on random data, a copy at memory speed. The pieces are valid until the next call with
 * the same deflater, which recycles its memory. Parts that `zeros` knows to be all zeros (a
 * sparse file's holes) get a run each that is made once per length.
 */
export function deflateParts(data: Buffer, lengths: readonly number[], deflater: RunDeflater, zeros: KnownZeros | null = null): Buffer[] {
  deflater.recycle();
  const out: Buffer[] = [];
  let runStart = 0;
  let at = 0;
  const endRun = (end: number) => {
    if (end <= runStart) return;
    out.push(deflater.deflate(data.subarray(runStart, end)));
  };
  for (let i = 0; i < lengths.length; i++) {
    const length = lengths[i]!;
    // (most parts are headers and padding: the length test rules them out, no view is made)
    if (zeros?.isZero(i)) {
      // a run of its own, made once: the same bytes deflate() would give
      endRun(at);
      out.push(zeros.deflated(length, deflater));
      runStart = at + length;
    } else if (length >= MIN_STORED && sampledEntropyIsHigh(data, at, length)) {
      endRun(at);
      pushStored(out, data, at, length);
      runStart = at + length;
    }
    at += length;
  }
  if (at !== data.length) throw new RangeError(`part lengths add up to ${at}, not ${data.length}`);
  endRun(at);
  return out;
}

/** Parts of a batch known to be all zeros, with their deflate runs (see ZeroParts). */
export interface KnownZeros {
  isZero(part: number): boolean;
  /** The run `deflater.deflate` makes of `length` zeros. */
  deflated(length: number, deflater: RunDeflater): Buffer;
}

/** Stored blocks (BFINAL=0, BTYPE=00) of at most 65535 bytes; the stream is byte-aligned here. */
function pushStored(out: Buffer[], data: Buffer, start: number, length: number): void {
  const end = start + length;
  for (let at = start; at < end; at += MAX_STORED) {
    const n = Math.min(MAX_STORED, end - at);
    const head = Buffer.allocUnsafe(5);
    head[0] = 0x00;
    head[1] = n & 0xff;
    head[2] = n >>> 8;
    head[3] = ~n & 0xff;
    head[4] = (~n >>> 8) & 0xff;
    out.push(head, data.subarray(at, at + n));
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
  return part.length >= MIN_STORED && sampledEntropyIsHigh(part, 0, part.length);
}

function sampledEntropyIsHigh(data: Uint8Array, start: number, length: number): boolean {
  const counts = COUNTS.fill(0);
  const windows = Math.min(SAMPLE_WINDOWS, Math.floor(length / WINDOW));
  const stride = Math.floor(length / windows);
  for (let w = 0; w < windows; w++) {
    const from = start + w * stride;
    for (let i = from; i < from + WINDOW; i++) counts[data[i]!]!++;
  }
  // n·H = n·log2(n) − Σ c·log2(c), from a table: this runs for every part of a kilobyte or more
  const n = windows * WINDOW;
  let sum = 0;
  for (let s = 0; s < 256; s++) sum += C_LOG2_C[counts[s]!]!;
  return C_LOG2_C[n]! - sum >= n * INCOMPRESSIBLE_BITS;
}

const MAX_STORED = 65535;
/** Shorter parts always go to deflate: storing them saves little time, and tar headers compress well. */
export const MIN_STORED = 1024;
const WINDOW = 256;
const SAMPLE_WINDOWS = 4;
const COUNTS = new Uint32Array(256);
/** c·log2(c) for every count a sample can reach (0·log2 0 = 0). */
const C_LOG2_C = Float64Array.from({ length: WINDOW * SAMPLE_WINDOWS + 1 }, (_, c) => (c === 0 ? 0 : c * Math.log2(c)));
/**
 * Random bytes measure about 7.8 bits per byte over 1 KiB and 7.95 over 4 KiB; at 7.6 deflate's
 * Huffman stage could save at most 5%, and zlib's LZ77 stage finds little in such data.
 */
const INCOMPRESSIBLE_BITS = 7.6;
