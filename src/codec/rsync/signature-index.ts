/**
 * Hash index over a signature's blocks for the delta encoder: weak sum → candidate blocks, with
 * the strong sum confirming a candidate. Mirrors librsync's `rs_build_hash_table` and
 * `rs_signature_find_match`: of several blocks with equal weak and strong sums only the first is
 * kept, so a match always names the lowest such block (which decides the COPY offsets librsync
 * writes, e.g. the backward copy in docs/duplicity-format.md §10.3).
 */

import { MD4_DIGEST_LENGTH, md4Into } from './md4.ts';
import type { ParsedSignature } from './signature.ts';

/**
 * Hash multipliers are random odd numbers, drawn per index: a signature crafted to pile its weak
 * sums into one probe chain (quadratic build, slow scans) cannot know them. Which block a lookup
 * returns does not depend on them.
 */
function randomOddMultiplier(): number {
  return Math.floor(Math.random() * 0x100000000) | 1 | 0;
}
/**
 * Filter bits per block. With 32, about 3% of the positions of unrelated data pass the filter;
 * a well-predicted branch then makes the scan several times faster than probing the table.
 */
const FILTER_BITS_PER_BLOCK = 32;
const MAX_FILTER_BITS_LOG2 = 28;
/**
 * At most this many different blocks share one weak sum in the index. Real data almost never has
 * two; a hostile signature with thousands would otherwise make every probe walk them all.
 */
const MAX_BLOCKS_PER_WEAK = 64;

export class SignatureIndex {
  readonly blockLen: number;
  readonly strongLen: number;
  /** Number of blocks in the signature. */
  readonly count: number;
  /**
   * Open-addressing table (linear probing): slot → weak sum (as int32: the scan loop compares
   * int32s, which the JIT keeps unboxed), and block index + 1 (0 = empty).
   */
  readonly keys: Int32Array;
  readonly slots: Int32Array;
  readonly mask: number;
  /** `Math.imul(weak, multiplier) >>> shift` is a weak sum's home slot. */
  readonly multiplier = randomOddMultiplier();
  readonly shift: number;
  /**
   * Bloom-style filter over the weak sums (one hash, independent of the table's): bit `h` is set,
   * with `h = Math.imul(weak, filterMultiplier) >>> filterShift`, for each block's weak sum.
   */
  readonly filter: Int32Array;
  readonly filterMultiplier = randomOddMultiplier();
  readonly filterShift: number;
  readonly #strong: Buffer;
  /** The whole MD4 of the data `find` last hashed (see `lastDigest`). */
  readonly #digest = Buffer.alloc(MD4_DIGEST_LENGTH);

  constructor(signature: ParsedSignature) {
    this.blockLen = signature.blockLen;
    this.strongLen = signature.strongLen;
    this.count = signature.weak.length;
    this.#strong = signature.strong;
    // Load factor at most 1/2 keeps misses (the common case when scanning new data) to ~1.5 probes.
    let bits = 4;
    while (bits < 31 && 1 << bits < this.count * 2) bits++;
    if (bits > 30) throw new Error(`rsync signature too large to index: ${this.count} blocks`);
    this.keys = new Int32Array(1 << bits);
    this.slots = new Int32Array(1 << bits);
    this.mask = (1 << bits) - 1;
    this.shift = 32 - bits;
    let filterBits = 5;
    while (filterBits < MAX_FILTER_BITS_LOG2 && 1 << filterBits < this.count * FILTER_BITS_PER_BLOCK) filterBits++;
    this.filter = new Int32Array(1 << (filterBits - 5));
    this.filterShift = 32 - filterBits;
    const weak = signature.weak;
    for (let block = 0; block < this.count; block++) {
      const w = weak[block]! | 0;
      const f = Math.imul(w, this.filterMultiplier) >>> this.filterShift;
      this.filter[f >>> 5]! |= 1 << (f & 31);
      this.#insert(w, block);
    }
  }

  /** Home slot of a weak sum (given as uint32 or int32). */
  home(weak: number): number {
    return Math.imul(weak, this.multiplier) >>> this.shift;
  }

  /**
   * The block whose weak sum is `weak` and whose strong sum matches `buf[start, end)`, or -1.
   * The strong sum of the data is computed only if some block has that weak sum.
   */
  find(weak: number, buf: Uint8Array, start: number, end: number): number {
    weak |= 0;
    const keys = this.keys;
    const slots = this.slots;
    const mask = this.mask;
    let digested = false;
    for (let h = this.home(weak); slots[h] !== 0; h = (h + 1) & mask) {
      if (keys[h] !== weak) continue;
      if (!digested) {
        // all 16 bytes (same cost as a prefix), so a caller can reuse them: see lastDigest
        md4Into(buf, start, end, this.#digest, 0, MD4_DIGEST_LENGTH);
        digested = true;
      }
      const block = slots[h]! - 1;
      if (this.#strongEquals(block, this.#digest, 0)) return block;
    }
    return -1;
  }

  /**
   * The full MD4 of the data of the last `find` that returned a block; valid until the next
   * `find`. The delta encoder hands it on, so the new signature need not hash the block again.
   */
  get lastDigest(): Uint8Array {
    return this.#digest;
  }

  #insert(weak: number, block: number): void {
    weak |= 0;
    const keys = this.keys;
    const slots = this.slots;
    let sameWeak = 0;
    let h = this.home(weak);
    for (; slots[h] !== 0; h = (h + 1) & this.mask) {
      if (keys[h] !== weak) continue;
      if (this.#strongEquals(slots[h]! - 1, this.#strong, block * this.strongLen)) return;
      if (++sameWeak >= MAX_BLOCKS_PER_WEAK) return;
    }
    keys[h] = weak;
    slots[h] = block + 1;
  }

  #strongEquals(block: number, other: Uint8Array, otherOffset: number): boolean {
    const strong = this.#strong;
    const n = this.strongLen;
    const at = block * n;
    for (let i = 0; i < n; i++) if (strong[at + i] !== other[otherOffset + i]) return false;
    return true;
  }
}
