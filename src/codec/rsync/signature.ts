/**
 * librsync signatures (docs/duplicity-format.md §5.1): a 12-byte header (magic, block length, strong-sum length, all
 * big-endian uint32) followed, per block of the basis file, by its rollsum and a prefix of its
 * strong sum. Duplicity writes MD4/rollsum (magic 0x72730136) with 8-byte strong sums.
 */

import { ByteWriter } from './byte-writer.ts';
import {
  DUPLICITY_STRONG_LEN,
  SIG_MAGIC_BLAKE2,
  SIG_MAGIC_MD4,
  SIG_MAGIC_RABINKARP_BLAKE2,
  SIG_MAGIC_RABINKARP_MD4,
  SIGNATURE_HEADER_LENGTH,
  hex32,
} from './format.ts';
import { batchesBlockLength, MD4_DIGEST_LENGTH, md4Into, signatureRecordsInto } from './md4.ts';
import { rollsum } from './rollsum.ts';

/**
 * Largest block length accepted, when building or parsing. The delta encoder buffers a few blocks,
 * so a hostile signature must not be able to ask for gigabytes. Duplicity uses 512–2048 (more only
 * with a huge `--max-blocksize`).
 */
export const MAX_BLOCK_LEN = 16 * 1024 * 1024;

const BLAKE2_DIGEST_LENGTH = 32;
const NO_BLOCKS = new Float64Array(0);
const NO_LENGTHS = new Int32Array(0);
const NO_WEAK = new Uint32Array(0);
const NO_STRONG = Buffer.alloc(0);
/** Bytes of signature records per batch: well within ByteWriter's pieces. */
const BATCH_OUTPUT = 16 * 1024;

export interface ParsedSignature {
  magic: number;
  blockLen: number;
  strongLen: number;
  /** Weak sum of each block, in file order. */
  weak: Uint32Array;
  /** Strong-sum prefixes, `strongLen` bytes per block, in file order. */
  strong: Buffer;
}

/** Size in bytes of the signature of a `fileLength`-byte file. */
export function signatureLength(fileLength: number, blockLen: number, strongLen: number = DUPLICITY_STRONG_LEN): number {
  return SIGNATURE_HEADER_LENGTH + Math.ceil(fileLength / blockLen) * (4 + strongLen);
}

function checkBlockLen(blockLen: number): void {
  if (!Number.isInteger(blockLen) || blockLen < 1 || blockLen > MAX_BLOCK_LEN) {
    throw new RangeError(`rsync signature: block length ${blockLen} is outside 1..${MAX_BLOCK_LEN}`);
  }
}

/**
 * Streaming MD4/rollsum signature of one file: feed its bytes in chunks of any size, then take the
 * whole signature from `finish()`. The output does not depend on how the input was chunked.
 */
export class SignatureBuilder {
  readonly blockLen: number;
  readonly strongLen: number;
  readonly #out = new ByteWriter();
  /** A block split across `update` calls is gathered here. */
  readonly #partial: Buffer;
  #partialFill = 0;
  #finished = false;
  /** Blocks emitted so far. */
  #blocks = 0;
  /**
   * Sums of blocks to come that the caller already knows (see `known`), oldest first: block
   * number, length, rollsum, and `strongLen` bytes of MD4 each, in entries [#knownHead, #knownEnd).
   */
  // empty until `known` is first called (only by deltas): a backup builds one per file
  #knownBlock = NO_BLOCKS;
  #knownLength = NO_LENGTHS;
  #knownWeak = NO_WEAK;
  #knownStrong = NO_STRONG;
  #knownHead = 0;
  #knownEnd = 0;
  readonly #batches: boolean;
  #zeroRecord: Buffer | null = null;

  constructor(blockLen: number, strongLen: number = DUPLICITY_STRONG_LEN) {
    checkBlockLen(blockLen);
    if (!Number.isInteger(strongLen) || strongLen < 1 || strongLen > MD4_DIGEST_LENGTH) {
      throw new RangeError(`rsync signature: strong sum length ${strongLen} is outside 1..${MD4_DIGEST_LENGTH}`);
    }
    this.blockLen = blockLen;
    this.strongLen = strongLen;
    this.#partial = Buffer.allocUnsafe(blockLen);
    this.#batches = batchesBlockLength(blockLen);
    this.#out.uint32BE(SIG_MAGIC_MD4);
    this.#out.uint32BE(blockLen);
    this.#out.uint32BE(strongLen);
  }

  update(chunk: Uint8Array): void {
    if (this.#finished) throw new Error('SignatureBuilder: update() after finish()');
    const blockLen = this.blockLen;
    const end = chunk.length;
    let p = 0;
    if (this.#partialFill > 0) {
      const n = Math.min(blockLen - this.#partialFill, end);
      this.#partial.set(chunk.subarray(0, n), this.#partialFill);
      this.#partialFill += n;
      p = n;
      if (this.#partialFill < blockLen) return;
      this.#addBlock(this.#partial, 0, blockLen);
      this.#partialFill = 0;
    }
    // whole blocks in few WebAssembly calls when no sums are given for them (see `known`), in
    // groups that fit the output's pieces
    if (this.#knownHead === this.#knownEnd && this.#batches) {
      const record = 4 + this.strongLen;
      const group = Math.floor(BATCH_OUTPUT / record);
      for (let whole = Math.floor((end - p) / blockLen); whole > 0; ) {
        const n = Math.min(whole, group);
        const at = this.#out.reserve(n * record);
        signatureRecordsInto(chunk, p, p + n * blockLen, blockLen, this.strongLen, this.#out.current, at);
        this.#blocks += n;
        p += n * blockLen;
        whole -= n;
      }
    }
    for (; p + blockLen <= end; p += blockLen) this.#addBlock(chunk, p, p + blockLen);
    if (p < end) {
      this.#partial.set(chunk.subarray(p, end), 0);
      this.#partialFill = end - p;
    }
  }

  /**
   * The same as `update` with `length` zero bytes, without hashing them: every whole block of
   * zeros has the same rollsum and MD4, computed once (a sparse file's holes). Sums given by
   * `known` for these blocks are sums of zeros too, so they are skipped.
   */
  zeros(length: number): void {
    if (this.#finished) throw new Error('SignatureBuilder: zeros() after finish()');
    const blockLen = this.blockLen;
    let left = length;
    if (this.#partialFill > 0) {
      const n = Math.min(blockLen - this.#partialFill, left);
      this.#partial.fill(0, this.#partialFill, this.#partialFill + n);
      this.#partialFill += n;
      left -= n;
      if (this.#partialFill < blockLen) return;
      this.#addBlock(this.#partial, 0, blockLen);
      this.#partialFill = 0;
    }
    if (left >= blockLen) {
      const record = (this.#zeroRecord ??= this.#recordOfZeros());
      for (; left >= blockLen; left -= blockLen) {
        const at = this.#out.reserve(record.length);
        record.copy(this.#out.current, at);
        this.#blocks++;
      }
      // drop the sums given for these blocks now, or a delta's matches of holes pile up
      while (this.#knownHead < this.#knownEnd && this.#knownBlock[this.#knownHead]! < this.#blocks) this.#knownHead++;
    }
    if (left > 0) {
      this.#partial.fill(0, 0, left);
      this.#partialFill = left;
    }
  }

  /** The record (rollsum, strong-sum prefix) of a whole block of zeros. */
  #recordOfZeros(): Buffer {
    const block = Buffer.alloc(this.blockLen);
    const record = Buffer.alloc(4 + this.strongLen);
    record.writeUInt32BE(rollsum(block, 0, block.length), 0);
    md4Into(block, 0, block.length, record, 4, this.strongLen);
    return record;
  }

  /**
   * Sums the caller computed already for `length` bytes of the file at `offset` (a delta
   * encoder's match: see MatchListener), given before `update` reaches them. They are used only
   * for a block that starts at `offset` and has exactly `length` bytes, so the signature is the
   * same as without them. `md4` is the whole digest (16 bytes).
   */
  known(offset: number, length: number, weak: number, md4: Uint8Array): void {
    if (offset % this.blockLen !== 0 || length > this.blockLen) return;
    const block = offset / this.blockLen;
    if (block < this.#blocks) return; // hashed already
    if (this.#knownHead === this.#knownEnd) this.#knownHead = this.#knownEnd = 0;
    if (this.#knownEnd === this.#knownBlock.length) this.#growKnown();
    const i = this.#knownEnd++;
    this.#knownBlock[i] = block;
    this.#knownLength[i] = length;
    this.#knownWeak[i] = weak;
    this.#knownStrong.set(md4.subarray(0, this.strongLen), i * this.strongLen);
  }

  /** The complete signature; the builder cannot be used afterwards. */
  finish(): Buffer {
    if (this.#finished) throw new Error('SignatureBuilder: finish() called twice');
    this.#finished = true;
    if (this.#partialFill > 0) this.#addBlock(this.#partial, 0, this.#partialFill);
    return this.#out.take();
  }

  #addBlock(buf: Uint8Array, start: number, end: number): void {
    const out = this.#out;
    const at = out.reserve(4 + this.strongLen);
    const block = this.#blocks++;
    while (this.#knownHead < this.#knownEnd && this.#knownBlock[this.#knownHead]! < block) this.#knownHead++;
    const k = this.#knownHead;
    if (k < this.#knownEnd && this.#knownBlock[k] === block && this.#knownLength[k] === end - start) {
      this.#knownHead++;
      out.current.writeUInt32BE(this.#knownWeak[k]!, at);
      this.#knownStrong.copy(out.current, at + 4, k * this.strongLen, (k + 1) * this.strongLen);
      return;
    }
    out.current.writeUInt32BE(rollsum(buf, start, end), at);
    md4Into(buf, start, end, out.current, at + 4, this.strongLen);
  }

  #growKnown(): void {
    const n = Math.max(16, this.#knownBlock.length * 2);
    const grow = <T extends Float64Array | Int32Array | Uint32Array>(old: T, make: (n: number) => T): T => {
      const a = make(n);
      a.set(old);
      return a;
    };
    this.#knownBlock = grow(this.#knownBlock, (m) => new Float64Array(m));
    this.#knownLength = grow(this.#knownLength, (m) => new Int32Array(m));
    this.#knownWeak = grow(this.#knownWeak, (m) => new Uint32Array(m));
    const strong = Buffer.allocUnsafe(n * this.strongLen);
    this.#knownStrong.copy(strong);
    this.#knownStrong = strong;
  }
}

/** Signature of an in-memory file. */
export function signatureOf(data: Uint8Array, blockLen: number, strongLen: number = DUPLICITY_STRONG_LEN): Buffer {
  const builder = new SignatureBuilder(blockLen, strongLen);
  builder.update(data);
  return builder.finish();
}

/**
 * Parses a signature, validating it as untrusted input. Accepts the rollsum kinds (MD4 and
 * BLAKE2 strong sums); RabinKarp signatures are rejected as unsupported since nothing here can
 * compute that weak sum.
 */
export function parseSignature(buf: Uint8Array): ParsedSignature {
  if (buf.length < SIGNATURE_HEADER_LENGTH) {
    throw new Error(`rsync signature truncated: ${buf.length} bytes, the header alone is ${SIGNATURE_HEADER_LENGTH}`);
  }
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  const magic = view.readUInt32BE(0);
  const blockLen = view.readUInt32BE(4);
  const strongLen = view.readUInt32BE(8);
  let maxStrongLen: number;
  if (magic === SIG_MAGIC_MD4) {
    maxStrongLen = MD4_DIGEST_LENGTH;
  } else if (magic === SIG_MAGIC_BLAKE2) {
    maxStrongLen = BLAKE2_DIGEST_LENGTH;
  } else if (magic === SIG_MAGIC_RABINKARP_MD4 || magic === SIG_MAGIC_RABINKARP_BLAKE2) {
    throw new Error(`unsupported rsync signature: RabinKarp weak sums (magic ${hex32(magic)}) are not supported`);
  } else {
    throw new Error(`not an rsync signature: bad magic ${hex32(magic)}`);
  }
  if (blockLen < 1 || blockLen > MAX_BLOCK_LEN) {
    throw new Error(`invalid rsync signature: block length ${blockLen} is outside 1..${MAX_BLOCK_LEN}`);
  }
  if (strongLen < 1 || strongLen > maxStrongLen) {
    throw new Error(`invalid rsync signature: strong sum length ${strongLen} is outside 1..${maxStrongLen}`);
  }
  const entryLen = 4 + strongLen;
  const body = buf.length - SIGNATURE_HEADER_LENGTH;
  if (body % entryLen !== 0) {
    throw new Error(`invalid rsync signature: ${body} bytes of block sums is not a multiple of ${entryLen} (truncated?)`);
  }
  const count = body / entryLen;
  const weak = new Uint32Array(count);
  const strong = Buffer.allocUnsafe(count * strongLen);
  for (let i = 0, p = SIGNATURE_HEADER_LENGTH; i < count; i++, p += entryLen) {
    weak[i] = view.readUInt32BE(p);
    view.copy(strong, i * strongLen, p + 4, p + entryLen);
  }
  return { magic, blockLen, strongLen, weak, strong };
}
