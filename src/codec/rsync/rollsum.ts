/**
 * librsync's classic weak checksum ("rollsum", an Adler-32 variant without the modulus prime),
 * used by signatures with magic 0x72730136 (docs/duplicity-format.md §5.1).
 *
 * Over bytes b_0..b_{n-1}: s1 = Σ (b_i + 31), s2 = Σ_i (s1 after byte i), both mod 2^16;
 * the digest is (s2 << 16) | s1. The +31 offset makes runs of zero bytes of different lengths
 * hash differently.
 */

export const ROLLSUM_CHAR_OFFSET = 31;

/** Weak sum of `buf[start, end)` as an unsigned 32-bit number. */
export function rollsum(buf: Uint8Array, start: number, end: number): number {
  let s1 = 0;
  let s2 = 0;
  let i = start;
  // Reducing every 1024 bytes keeps both sums below 2^31, so the JIT keeps them as int32.
  while (i < end) {
    const stop = Math.min(end, i + 1024);
    for (; i < stop; i++) {
      s1 += buf[i]!;
      s2 += s1;
    }
    s1 &= 0xffff;
    s2 &= 0xffff;
  }
  // The offset contributes 31·n to s1 and 31·n(n+1)/2 to s2; adding it once is cheaper than per byte.
  // n(n+1)/2 mod 2^16 depends only on n mod 2^17, which keeps the product exact for any length.
  const n = end - start;
  const m = n % 131072;
  const triangle = ((m * (m + 1)) % 131072) / 2;
  s1 = (s1 + ROLLSUM_CHAR_OFFSET * (n % 65536)) & 0xffff;
  s2 = (s2 + ROLLSUM_CHAR_OFFSET * triangle) & 0xffff;
  return ((s2 << 16) | s1) >>> 0;
}

/**
 * A rolling window's weak sum. `rotate` slides a full window by one byte, `rollOut` shrinks it
 * from the front (librsync does that for the file's tail). The delta encoder inlines the same
 * arithmetic in its scan loop; this class is the reference for it and for callers that need one.
 */
export class Rollsum {
  count = 0;
  s1 = 0;
  s2 = 0;

  reset(): void {
    this.count = 0;
    this.s1 = 0;
    this.s2 = 0;
  }

  /** Appends `buf[start, end)` to the window. */
  update(buf: Uint8Array, start: number, end: number): void {
    let s1 = this.s1;
    let s2 = this.s2;
    for (let i = start; i < end; i++) {
      s1 = (s1 + buf[i]! + ROLLSUM_CHAR_OFFSET) & 0xffff;
      s2 = (s2 + s1) & 0xffff;
    }
    this.s1 = s1;
    this.s2 = s2;
    this.count += end - start;
  }

  /** Removes byte `out` from the front and appends byte `inb`; the window length is unchanged. */
  rotate(out: number, inb: number): void {
    this.s1 = (this.s1 + inb - out) & 0xffff;
    this.s2 = (this.s2 + this.s1 - this.count * (out + ROLLSUM_CHAR_OFFSET)) & 0xffff;
  }

  /** Appends one byte. */
  rollIn(inb: number): void {
    this.s1 = (this.s1 + inb + ROLLSUM_CHAR_OFFSET) & 0xffff;
    this.s2 = (this.s2 + this.s1) & 0xffff;
    this.count++;
  }

  /** Removes byte `out` from the front. */
  rollOut(out: number): void {
    this.s1 = (this.s1 - (out + ROLLSUM_CHAR_OFFSET)) & 0xffff;
    this.s2 = (this.s2 - this.count * (out + ROLLSUM_CHAR_OFFSET)) & 0xffff;
    this.count--;
  }

  digest(): number {
    return ((this.s2 << 16) | this.s1) >>> 0;
  }
}
