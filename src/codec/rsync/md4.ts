/**
 * MD4 (RFC 1320), our own because node's OpenSSL 3 no longer provides it and librsync's classic
 * signatures (magic 0x72730136) use it as the strong sum: md4.c compiled to WebAssembly, and this
 * TypeScript version (its oracle in tests, and the path for inputs over 1 MiB).
 *
 * Tuned for the rsync workload: many independent digests of 512–2048-byte blocks. Whole 64-byte
 * blocks are read straight from the caller's buffer, as 32-bit words when it is aligned; only the
 * padded tail goes through a scratch buffer.
 */

import { MD4_WASM_BASE64 } from './md4-wasm-module.ts';

export const MD4_DIGEST_LENGTH = 16;

// Chaining state of the digest in progress. Module-level plain numbers are the cheapest storage
// for the JIT, and digests never interleave (each call runs to completion synchronously).
let h0 = 0;
let h1 = 0;
let h2 = 0;
let h3 = 0;

/** Message words of an unaligned block, and the padded tail (up to two blocks) as bytes and words. */
const scratchWords = new Int32Array(16);
const tailWords = new Int32Array(32);
const tail = new Uint8Array(tailWords.buffer);

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function compressWords(w: Int32Array, q: number): void {
  const x0 = w[q + 0]!;
  const x1 = w[q + 1]!;
  const x2 = w[q + 2]!;
  const x3 = w[q + 3]!;
  const x4 = w[q + 4]!;
  const x5 = w[q + 5]!;
  const x6 = w[q + 6]!;
  const x7 = w[q + 7]!;
  const x8 = w[q + 8]!;
  const x9 = w[q + 9]!;
  const x10 = w[q + 10]!;
  const x11 = w[q + 11]!;
  const x12 = w[q + 12]!;
  const x13 = w[q + 13]!;
  const x14 = w[q + 14]!;
  const x15 = w[q + 15]!;
  let a = h0;
  let b = h1;
  let c = h2;
  let d = h3;
  // Round 1
  a = (a + ((b & c) | (~b & d)) + x0) | 0;
  a = (a << 3) | (a >>> 29);
  d = (d + ((a & b) | (~a & c)) + x1) | 0;
  d = (d << 7) | (d >>> 25);
  c = (c + ((d & a) | (~d & b)) + x2) | 0;
  c = (c << 11) | (c >>> 21);
  b = (b + ((c & d) | (~c & a)) + x3) | 0;
  b = (b << 19) | (b >>> 13);
  a = (a + ((b & c) | (~b & d)) + x4) | 0;
  a = (a << 3) | (a >>> 29);
  d = (d + ((a & b) | (~a & c)) + x5) | 0;
  d = (d << 7) | (d >>> 25);
  c = (c + ((d & a) | (~d & b)) + x6) | 0;
  c = (c << 11) | (c >>> 21);
  b = (b + ((c & d) | (~c & a)) + x7) | 0;
  b = (b << 19) | (b >>> 13);
  a = (a + ((b & c) | (~b & d)) + x8) | 0;
  a = (a << 3) | (a >>> 29);
  d = (d + ((a & b) | (~a & c)) + x9) | 0;
  d = (d << 7) | (d >>> 25);
  c = (c + ((d & a) | (~d & b)) + x10) | 0;
  c = (c << 11) | (c >>> 21);
  b = (b + ((c & d) | (~c & a)) + x11) | 0;
  b = (b << 19) | (b >>> 13);
  a = (a + ((b & c) | (~b & d)) + x12) | 0;
  a = (a << 3) | (a >>> 29);
  d = (d + ((a & b) | (~a & c)) + x13) | 0;
  d = (d << 7) | (d >>> 25);
  c = (c + ((d & a) | (~d & b)) + x14) | 0;
  c = (c << 11) | (c >>> 21);
  b = (b + ((c & d) | (~c & a)) + x15) | 0;
  b = (b << 19) | (b >>> 13);
  // Round 2
  a = (a + ((b & c) | (b & d) | (c & d)) + x0 + 0x5a827999) | 0;
  a = (a << 3) | (a >>> 29);
  d = (d + ((a & b) | (a & c) | (b & c)) + x4 + 0x5a827999) | 0;
  d = (d << 5) | (d >>> 27);
  c = (c + ((d & a) | (d & b) | (a & b)) + x8 + 0x5a827999) | 0;
  c = (c << 9) | (c >>> 23);
  b = (b + ((c & d) | (c & a) | (d & a)) + x12 + 0x5a827999) | 0;
  b = (b << 13) | (b >>> 19);
  a = (a + ((b & c) | (b & d) | (c & d)) + x1 + 0x5a827999) | 0;
  a = (a << 3) | (a >>> 29);
  d = (d + ((a & b) | (a & c) | (b & c)) + x5 + 0x5a827999) | 0;
  d = (d << 5) | (d >>> 27);
  c = (c + ((d & a) | (d & b) | (a & b)) + x9 + 0x5a827999) | 0;
  c = (c << 9) | (c >>> 23);
  b = (b + ((c & d) | (c & a) | (d & a)) + x13 + 0x5a827999) | 0;
  b = (b << 13) | (b >>> 19);
  a = (a + ((b & c) | (b & d) | (c & d)) + x2 + 0x5a827999) | 0;
  a = (a << 3) | (a >>> 29);
  d = (d + ((a & b) | (a & c) | (b & c)) + x6 + 0x5a827999) | 0;
  d = (d << 5) | (d >>> 27);
  c = (c + ((d & a) | (d & b) | (a & b)) + x10 + 0x5a827999) | 0;
  c = (c << 9) | (c >>> 23);
  b = (b + ((c & d) | (c & a) | (d & a)) + x14 + 0x5a827999) | 0;
  b = (b << 13) | (b >>> 19);
  a = (a + ((b & c) | (b & d) | (c & d)) + x3 + 0x5a827999) | 0;
  a = (a << 3) | (a >>> 29);
  d = (d + ((a & b) | (a & c) | (b & c)) + x7 + 0x5a827999) | 0;
  d = (d << 5) | (d >>> 27);
  c = (c + ((d & a) | (d & b) | (a & b)) + x11 + 0x5a827999) | 0;
  c = (c << 9) | (c >>> 23);
  b = (b + ((c & d) | (c & a) | (d & a)) + x15 + 0x5a827999) | 0;
  b = (b << 13) | (b >>> 19);
  // Round 3
  a = (a + (b ^ c ^ d) + x0 + 0x6ed9eba1) | 0;
  a = (a << 3) | (a >>> 29);
  d = (d + (a ^ b ^ c) + x8 + 0x6ed9eba1) | 0;
  d = (d << 9) | (d >>> 23);
  c = (c + (d ^ a ^ b) + x4 + 0x6ed9eba1) | 0;
  c = (c << 11) | (c >>> 21);
  b = (b + (c ^ d ^ a) + x12 + 0x6ed9eba1) | 0;
  b = (b << 15) | (b >>> 17);
  a = (a + (b ^ c ^ d) + x2 + 0x6ed9eba1) | 0;
  a = (a << 3) | (a >>> 29);
  d = (d + (a ^ b ^ c) + x10 + 0x6ed9eba1) | 0;
  d = (d << 9) | (d >>> 23);
  c = (c + (d ^ a ^ b) + x6 + 0x6ed9eba1) | 0;
  c = (c << 11) | (c >>> 21);
  b = (b + (c ^ d ^ a) + x14 + 0x6ed9eba1) | 0;
  b = (b << 15) | (b >>> 17);
  a = (a + (b ^ c ^ d) + x1 + 0x6ed9eba1) | 0;
  a = (a << 3) | (a >>> 29);
  d = (d + (a ^ b ^ c) + x9 + 0x6ed9eba1) | 0;
  d = (d << 9) | (d >>> 23);
  c = (c + (d ^ a ^ b) + x5 + 0x6ed9eba1) | 0;
  c = (c << 11) | (c >>> 21);
  b = (b + (c ^ d ^ a) + x13 + 0x6ed9eba1) | 0;
  b = (b << 15) | (b >>> 17);
  a = (a + (b ^ c ^ d) + x3 + 0x6ed9eba1) | 0;
  a = (a << 3) | (a >>> 29);
  d = (d + (a ^ b ^ c) + x11 + 0x6ed9eba1) | 0;
  d = (d << 9) | (d >>> 23);
  c = (c + (d ^ a ^ b) + x7 + 0x6ed9eba1) | 0;
  c = (c << 11) | (c >>> 21);
  b = (b + (c ^ d ^ a) + x15 + 0x6ed9eba1) | 0;
  b = (b << 15) | (b >>> 17);
  h0 = (h0 + a) | 0;
  h1 = (h1 + b) | 0;
  h2 = (h2 + c) | 0;
  h3 = (h3 + d) | 0;
}

function writeWordLE(out: Uint8Array, at: number, word: number, limit: number): void {
  for (let i = 0; i < 4 && i < limit; i++) out[at + i] = (word >>> (8 * i)) & 0xff;
}

/**
 * Writes the first `outLen` (default 16) bytes of MD4(`buf[start, end)`) to `out[outOffset, …)`.
 * Truncation is built in because rsync signatures store a prefix of the digest. Runs the
 * WebAssembly build of md4.c (1.4–1.6× faster, bench/md4-wasm/run.ts) for inputs that fit its
 * scratch area, the TypeScript code otherwise.
 */
export function md4Into(
  buf: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  outOffset: number,
  outLen: number = MD4_DIGEST_LENGTH,
): void {
  const w = wasm ?? (wasm = loadWasm());
  const length = end - start;
  // (an empty input has no block for md4_blocks to digest)
  if (length > w.inputBytes || start < 0 || end > buf.length || length <= 0) {
    md4IntoTs(buf, start, end, out, outOffset, outLen);
    return;
  }
  checkOutputRange(out, outOffset, outLen);
  // the memory never grows (no allocation in md4.c), so the view stays valid
  w.memory.set(buf.subarray(start, end), w.input);
  w.digest(w.input, length, length, w.output);
  for (let i = 0; i < outLen; i++) out[outOffset + i] = w.memory[w.output + i]!;
}

/** The shortest block `signatureRecordsInto` takes (what its output area is sized for). */
export const MIN_BATCH_BLOCK = 512;

/** Whether `signatureRecordsInto` takes blocks of this length: from 512 bytes to its 1 MiB input area. */
export function batchesBlockLength(blockLen: number): boolean {
  const w = wasm ?? (wasm = loadWasm());
  return Number.isInteger(blockLen) && blockLen >= MIN_BATCH_BLOCK && blockLen <= w.inputBytes;
}

/**
 * librsync signature records of the consecutive `blockLen`-byte blocks of `buf[start, end)` (the
 * last may be shorter): per block its rollsum, big-endian, and the first `strongLen` bytes of its
 * MD4, written to `out` from `outOffset`, `4 + strongLen` bytes per block. One WebAssembly call
 * per MiB of input: the per-block path (rollsum in TypeScript, one md4Into call) cost 1.3 s per
 * GiB more. Needs `batchesBlockLength(blockLen)`.
 */
export function signatureRecordsInto(
  buf: Uint8Array,
  start: number,
  end: number,
  blockLen: number,
  strongLen: number,
  out: Uint8Array,
  outOffset: number,
): void {
  if (!batchesBlockLength(blockLen))
    throw new RangeError(`signature records: block length ${blockLen} is outside ${MIN_BATCH_BLOCK}..1 MiB`);
  if (!Number.isInteger(strongLen) || strongLen < 1 || strongLen > MD4_DIGEST_LENGTH)
    throw new RangeError(`signature records: strong sum length ${strongLen} is outside 1..${MD4_DIGEST_LENGTH}`);
  if (start < 0 || end < start || end > buf.length)
    throw new RangeError(`signature records: bad range [${start}, ${end}) of ${buf.length} bytes`);
  const record = 4 + strongLen;
  const blocks = Math.ceil((end - start) / blockLen);
  if (outOffset < 0 || outOffset + blocks * record > out.length)
    throw new RangeError(`signature records: ${blocks} records do not fit at ${outOffset} of ${out.length}`);
  const w = wasm ?? (wasm = loadWasm());
  const step = Math.floor(w.inputBytes / blockLen) * blockLen;
  for (let at = start; at < end; at += step) {
    const n = Math.min(step, end - at);
    w.memory.set(buf.subarray(at, at + n), w.input);
    w.records(w.input, n, blockLen, strongLen, w.output);
    const bytes = Math.ceil(n / blockLen) * record;
    out.set(w.memory.subarray(w.output, w.output + bytes), outOffset);
    outOffset += bytes;
  }
}

function checkOutputRange(out: Uint8Array, outOffset: number, outLen: number): void {
  if (outLen < 0 || outLen > MD4_DIGEST_LENGTH || outOffset < 0 || outOffset + outLen > out.length) {
    throw new RangeError(`md4: bad output range (${outLen} bytes at ${outOffset} of ${out.length})`);
  }
}

interface Md4Wasm {
  readonly memory: Uint8Array;
  readonly input: number;
  readonly output: number;
  readonly inputBytes: number;
  readonly digest: (data: number, len: number, block: number, out: number) => void;
  readonly records: (data: number, len: number, block: number, strong: number, out: number) => void;
}

let wasm: Md4Wasm | null = null;

/** The part of the WebAssembly global this module uses (the project's type libraries lack it). */
interface WasmGlobal {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
}

function loadWasm(): Md4Wasm {
  const wa = (globalThis as unknown as { WebAssembly: WasmGlobal }).WebAssembly;
  const instance = new wa.Instance(new wa.Module(Buffer.from(MD4_WASM_BASE64, 'base64')));
  const e = instance.exports as {
    memory: { buffer: ArrayBuffer };
    md4_blocks: (d: number, len: number, block: number, out: number) => void;
    signature_records: (d: number, len: number, block: number, strong: number, out: number) => void;
    input_area: () => number;
    output_area: () => number;
    input_bytes: () => number;
  };
  return {
    memory: new Uint8Array(e.memory.buffer),
    input: e.input_area(),
    output: e.output_area(),
    inputBytes: e.input_bytes(),
    digest: e.md4_blocks,
    records: e.signature_records,
  };
}

/** The TypeScript MD4: the oracle of the WebAssembly one in tests, and for inputs over 1 MiB. */
export function md4IntoTs(
  buf: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  outOffset: number,
  outLen: number = MD4_DIGEST_LENGTH,
): void {
  if (start < 0 || end < start || end > buf.length) throw new RangeError(`md4: bad range [${start}, ${end}) of ${buf.length} bytes`);
  checkOutputRange(out, outOffset, outLen);
  h0 = 0x67452301;
  h1 = 0xefcdab89 | 0;
  h2 = 0x98badcfe | 0;
  h3 = 0x10325476;
  const length = end - start;
  let p = start;
  const whole = end - 63;
  if (LITTLE_ENDIAN && ((buf.byteOffset + p) & 3) === 0 && p < whole) {
    // Aligned input on a little-endian machine: read the message words directly.
    const blocks = (whole - p + 63) >> 6;
    const words = new Int32Array(buf.buffer, buf.byteOffset + p, blocks * 16);
    for (let q = 0; q < words.length; q += 16) compressWords(words, q);
    p += blocks * 64;
  } else {
    for (; p < whole; p += 64) {
      for (let i = 0, b = p; i < 16; i++, b += 4) {
        scratchWords[i] = buf[b]! | (buf[b + 1]! << 8) | (buf[b + 2]! << 16) | (buf[b + 3]! << 24);
      }
      compressWords(scratchWords, 0);
    }
  }

  const rest = end - p;
  for (let i = 0; i < rest; i++) tail[i] = buf[p + i]!;
  tail[rest] = 0x80;
  const tailLen = rest < 56 ? 64 : 128;
  tail.fill(0, rest + 1, tailLen - 8);
  // The message length in bits, as a 64-bit little-endian integer; exact for any safe length.
  const bitsLow = (length % 0x20000000) * 8;
  const bitsHigh = Math.floor(length / 0x20000000);
  writeWordLE(tail, tailLen - 8, bitsLow, 4);
  writeWordLE(tail, tailLen - 4, bitsHigh, 4);
  if (!LITTLE_ENDIAN)
    for (let i = 0; i < tailLen; i += 4) tailWords[i >> 2] = tail[i]! | (tail[i + 1]! << 8) | (tail[i + 2]! << 16) | (tail[i + 3]! << 24);
  compressWords(tailWords, 0);
  if (tailLen === 128) compressWords(tailWords, 16);

  writeWordLE(out, outOffset, h0, outLen);
  writeWordLE(out, outOffset + 4, h1, outLen - 4);
  writeWordLE(out, outOffset + 8, h2, outLen - 8);
  writeWordLE(out, outOffset + 12, h3, outLen - 12);
}

/** MD4 of the whole buffer as a new 16-byte Buffer. */
export function md4(buf: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(MD4_DIGEST_LENGTH);
  md4Into(buf, 0, buf.length, out, 0);
  return out;
}
