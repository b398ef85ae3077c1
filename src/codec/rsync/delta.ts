/**
 * Streaming librsync delta encoder (docs/duplicity-format.md §5.2): given the signature of the basis (old file) and the
 * bytes of the new file, writes commands that rebuild the new file from the basis.
 *
 * It follows librsync 2.3.2's `delta.c` decision for decision, so its output is byte-identical to
 * duplicity's and `rdiff delta`'s:
 * - scan the new data with a block-long rolling window; at each position look the window's weak
 *   sum up in the signature and confirm with the truncated MD4; on a match emit the block and
 *   restart the window after it, otherwise slide by one byte;
 * - a match that continues the previous one (next basis block) extends its COPY;
 * - unmatched bytes accumulate into one literal, flushed when it reaches 32 KiB;
 * - at the end of input the window shrinks from the front instead of sliding, so the file's tail
 *   can still match a short last block of the basis;
 * - operands use the narrowest width.
 * An empty signature (empty basis) makes librsync's "slack" delta: duplicity feeds it 64 KiB reads,
 * so the file becomes 64 KiB literals.
 *
 * Memory: the signature index plus a window of about 32 KiB + block length + 256 KiB.
 */

import { ByteWriter } from './byte-writer.ts';
import {
  DELTA_MAGIC,
  OPERAND_WIDTHS,
  OP_COPY_N1_N1,
  OP_END,
  OP_LITERAL_MAX_IMMEDIATE,
  OP_LITERAL_N1,
  SIG_MAGIC_MD4,
  hex32,
  operandWidthIndex,
} from './format.ts';
import { ROLLSUM_CHAR_OFFSET, rollsum } from './rollsum.ts';
import { SignatureIndex } from './signature-index.ts';
import { parseSignature } from './signature.ts';
import type { ParsedSignature } from './signature.ts';

/** librsync flushes a run of unmatched bytes once it reaches this length (`MAX_DATA_LEN`). */
const MAX_MISS_RUN = 32768;
/** Literal size of a slack delta: duplicity's read size (`librsync.py` blocksize). */
const SLACK_LITERAL_LEN = 65536;
/** New data is copied into the window and scanned this much at a time. */
const SLICE = 256 * 1024;
/** Blocks of zeros are recognised up to this block length (duplicity's are at most 2 KiB by default). */
const MAX_ZERO_BLOCK = 64 * 1024;
/** Compared against, never written. */
const ZEROS = Buffer.alloc(MAX_ZERO_BLOCK);

function writeLiteral(out: ByteWriter, buf: Uint8Array, start: number, length: number): void {
  if (length <= OP_LITERAL_MAX_IMMEDIATE) {
    out.byte(length);
  } else {
    const w = operandWidthIndex(length);
    out.byte(OP_LITERAL_N1 + w);
    out.uintBE(length, OPERAND_WIDTHS[w]!);
  }
  out.bytes(buf, start, start + length);
}

function writeCopy(out: ByteWriter, offset: number, length: number): void {
  const wo = operandWidthIndex(offset);
  const wl = operandWidthIndex(length);
  out.byte(OP_COPY_N1_N1 + 4 * wo + wl);
  out.uintBE(offset, OPERAND_WIDTHS[wo]!);
  out.uintBE(length, OPERAND_WIDTHS[wl]!);
}

/**
 * Told of every block the encoder matched: `length` bytes of the new file at `offset`, with their
 * rollsum and full MD4. A signature of the new file can take them instead of hashing again.
 */
export type MatchListener = (offset: number, length: number, weak: number, md4: Uint8Array) => void;

export class DeltaEncoder {
  readonly #blockLen: number;
  readonly #onMatch: MatchListener | null;
  /** Offset in the new file of `#win[0]`. */
  #base = 0;
  /** Null for an empty signature: then every byte is literal (slack delta). */
  readonly #index: SignatureIndex | null;
  readonly #out = new ByteWriter();
  /**
   * Unprocessed input: bytes `[0, #fill)`, of which `[#pos - #missLen, #pos)` is the pending
   * literal and `[#pos, #fill)` is not scanned yet.
   */
  readonly #win: Buffer;
  #fill = 0;
  #pos = 0;
  #missLen = 0;
  /** Pending COPY (not yet written because the next block may extend it); length 0 = none. */
  #copyOffset = 0;
  #copyLen = 0;
  /** Rolling weak sum over `[#pos, #pos + #count)`; count 0 means "recompute". */
  #count = 0;
  #s1 = 0;
  #s2 = 0;
  #finished = false;
  /**
   * The weak sum of a whole block of zeros when the signature has a block with that sum (a
   * sparse file's holes), else null; and once looked up, the basis block that a window of zeros
   * matches (-1: none) with its MD4. The lookup depends only on the window's bytes, so all the
   * holes' windows share one, instead of a rollsum and an MD4 each.
   */
  readonly #zeroWeak: number | null;
  #zeroBlock: number | null = null;
  #zeroDigest: Uint8Array = ZEROS.subarray(0, 0);

  /** `signature` is a parsed signature or its raw bytes. Only MD4 signatures are supported. */
  constructor(signature: ParsedSignature | Uint8Array, opts: { onMatch?: MatchListener } = {}) {
    this.#onMatch = opts.onMatch ?? null;
    const sig = signature instanceof Uint8Array ? parseSignature(signature) : signature;
    if (sig.magic !== SIG_MAGIC_MD4) {
      throw new Error(`unsupported rsync signature for delta: magic ${hex32(sig.magic)} (only MD4 signatures, ${hex32(SIG_MAGIC_MD4)})`);
    }
    this.#blockLen = sig.blockLen;
    this.#index = sig.weak.length > 0 ? new SignatureIndex(sig) : null;
    this.#zeroWeak = this.#index !== null && sig.blockLen <= MAX_ZERO_BLOCK ? weakOfZerosIn(this.#index, sig.blockLen) : null;
    this.#win = Buffer.allocUnsafe(this.#index === null ? SLACK_LITERAL_LEN : MAX_MISS_RUN + sig.blockLen + 1 + SLICE);
    this.#out.uint32BE(DELTA_MAGIC);
  }

  /** Feeds the next bytes of the new file; returns the delta bytes completed so far (maybe none). */
  update(chunk: Uint8Array): Buffer {
    if (this.#finished) throw new Error('DeltaEncoder: update() after finish()');
    const win = this.#win;
    let p = 0;
    while (p < chunk.length) {
      if (this.#fill === win.length) this.#makeRoom();
      const n = Math.min(chunk.length - p, win.length - this.#fill);
      win.set(chunk.subarray(p, p + n), this.#fill);
      this.#fill += n;
      p += n;
      if (this.#index === null) {
        if (this.#fill === SLACK_LITERAL_LEN) {
          writeLiteral(this.#out, win, 0, SLACK_LITERAL_LEN);
          this.#fill = 0;
        }
      } else {
        this.#scan(this.#index);
      }
    }
    return this.#out.take();
  }

  /** Ends the input; returns the rest of the delta, through the END command. */
  finish(): Buffer {
    if (this.#finished) throw new Error('DeltaEncoder: finish() called twice');
    this.#finished = true;
    if (this.#index === null) {
      if (this.#fill > 0) writeLiteral(this.#out, this.#win, 0, this.#fill);
    } else {
      this.#scanTail(this.#index);
      this.#flushPending();
    }
    this.#out.byte(OP_END);
    return this.#out.take();
  }

  /** Drops processed bytes from the window's front. */
  #makeRoom(): void {
    const keep = this.#pos - this.#missLen;
    this.#win.copyWithin(0, keep, this.#fill);
    this.#base += keep;
    this.#fill -= keep;
    this.#pos -= keep;
  }

  /** Writes the pending COPY or literal, if any. */
  #flushPending(): void {
    if (this.#copyLen > 0) {
      writeCopy(this.#out, this.#copyOffset, this.#copyLen);
      this.#copyLen = 0;
    } else if (this.#missLen > 0) {
      writeLiteral(this.#out, this.#win, this.#pos - this.#missLen, this.#missLen);
      this.#missLen = 0;
    }
  }

  #appendMatch(offset: number, length: number): void {
    if (this.#copyLen > 0 && this.#copyOffset + this.#copyLen === offset) {
      this.#copyLen += length;
    } else {
      this.#flushPending();
      this.#copyOffset = offset;
      this.#copyLen = length;
    }
  }

  /**
   * Scans while a whole window plus the byte after it is available (librsync's condition; the
   * extra byte is what a slide would take in).
   */
  #scan(index: SignatureIndex): void {
    const win = this.#win;
    const blockLen = this.#blockLen;
    const fill = this.#fill;
    const filter = index.filter;
    const filterMultiplier = index.filterMultiplier;
    const filterShift = index.filterShift;
    const keys = index.keys;
    const slots = index.slots;
    const mask = index.mask;
    let pos = this.#pos;
    let count = this.#count;
    let s1 = this.#s1;
    let s2 = this.#s2;
    // Mirrors of #missLen and (#copyLen > 0), kept in locals for the per-byte loop.
    let missLen = this.#missLen;
    let copyPending = this.#copyLen > 0;
    const zeroWeak = this.#zeroWeak;
    /** The window is a whole block of zeros (known only where the sum is recomputed). */
    let zeroWindow = false;
    while (pos + blockLen < fill) {
      if (count === 0) {
        // a comparison stops at the first byte that is not zero
        zeroWindow = zeroWeak !== null && win.compare(ZEROS, 0, blockLen, pos, pos + blockLen) === 0;
        const weak = zeroWindow ? zeroWeak! : rollsum(win, pos, pos + blockLen);
        s1 = weak & 0xffff;
        s2 = weak >>> 16;
        count = blockLen;
      }
      const weak = (s2 << 16) | s1;
      const f = Math.imul(weak, filterMultiplier) >>> filterShift;
      // Most positions of changed data fail the filter, and most that pass have no block with
      // that weak sum: rule those out inline; only real candidates pay for a strong sum.
      if ((filter[f >>> 5]! & (1 << (f & 31))) !== 0) {
        let block = -1;
        for (let h = index.home(weak); slots[h] !== 0; h = (h + 1) & mask) {
          if (keys[h] === weak) {
            block = zeroWindow ? this.#zeroMatch(index, win, pos, count) : index.find(weak, win, pos, pos + count);
            break;
          }
        }
        if (block >= 0) {
          this.#onMatch?.(this.#base + pos, count, weak >>> 0, zeroWindow ? this.#zeroDigest : index.lastDigest);
          this.#pos = pos;
          this.#missLen = missLen;
          this.#appendMatch(block * blockLen, count);
          missLen = 0;
          copyPending = true;
          pos += count;
          count = 0;
          continue;
        }
      }
      zeroWindow = false;
      const out = win[pos]!;
      s1 = (s1 + win[pos + blockLen]! - out) & 0xffff;
      s2 = (s2 + s1 - count * (out + ROLLSUM_CHAR_OFFSET)) & 0xffff;
      if (copyPending || missLen >= MAX_MISS_RUN) {
        this.#pos = pos;
        this.#missLen = missLen;
        this.#flushPending();
        missLen = 0;
        copyPending = false;
      }
      missLen++;
      pos++;
    }
    this.#pos = pos;
    this.#missLen = missLen;
    this.#count = count;
    this.#s1 = s1;
    this.#s2 = s2;
  }

  /** `index.find` for a window that is a whole block of zeros: looked up once. */
  #zeroMatch(index: SignatureIndex, win: Buffer, pos: number, count: number): number {
    if (this.#zeroBlock === null) {
      this.#zeroBlock = index.find(this.#zeroWeak!, win, pos, pos + count);
      this.#zeroDigest = Uint8Array.from(index.lastDigest);
    }
    return this.#zeroBlock;
  }

  /** At end of input: the window is the rest of the data and shrinks from the front on a miss. */
  #scanTail(index: SignatureIndex): void {
    const win = this.#win;
    const fill = this.#fill;
    let pos = this.#pos;
    let count = this.#count;
    let s1 = this.#s1;
    let s2 = this.#s2;
    while (pos < fill) {
      if (count === 0) {
        count = Math.min(this.#blockLen, fill - pos);
        const weak = rollsum(win, pos, pos + count);
        s1 = weak & 0xffff;
        s2 = weak >>> 16;
      }
      const weak = (s2 << 16) | s1;
      const block = index.find(weak, win, pos, pos + count);
      if (block >= 0) {
        this.#onMatch?.(this.#base + pos, count, weak >>> 0, index.lastDigest);
        this.#pos = pos;
        this.#appendMatch(block * this.#blockLen, count);
        pos += count;
        count = 0;
        continue;
      }
      const out = win[pos]! + ROLLSUM_CHAR_OFFSET;
      s1 = (s1 - out) & 0xffff;
      s2 = (s2 - count * out) & 0xffff;
      count--;
      if (this.#copyLen > 0 || this.#missLen >= MAX_MISS_RUN) {
        this.#pos = pos;
        this.#flushPending();
      }
      this.#missLen++;
      pos++;
    }
    this.#pos = pos;
    this.#count = count;
  }
}

/** The weak sum of `blockLen` zeros when some block of the signature has it, else null. */
function weakOfZerosIn(index: SignatureIndex, blockLen: number): number | null {
  const weak = rollsum(ZEROS, 0, blockLen);
  for (let h = index.home(weak); index.slots[h] !== 0; h = (h + 1) & index.mask) if (index.keys[h] === (weak | 0)) return weak;
  return null;
}

/** Delta of an in-memory new file against a signature. */
export function deltaOf(signature: ParsedSignature | Uint8Array, data: Uint8Array): Buffer {
  const encoder = new DeltaEncoder(signature);
  const head = encoder.update(data);
  return Buffer.concat([head, encoder.finish()]);
}
