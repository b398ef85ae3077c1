/**
 * A small seeded generator (xorshift128) so that trees, contents and mutations are the same on
 * every run for a given seed. Not for cryptography.
 */
export class Rng {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;

  constructor(seed: number) {
    // splitmix32 spreads any seed (0 included) over the four words; xorshift128 must not start at 0.
    let x = seed >>> 0;
    const mix = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#s0 = mix();
    this.#s1 = mix();
    this.#s2 = mix();
    this.#s3 = mix() | 1;
  }

  /** A uniform 32-bit unsigned integer. */
  next(): number {
    let t = this.#s3;
    const s = this.#s0;
    this.#s3 = this.#s2;
    this.#s2 = this.#s1;
    this.#s1 = s;
    t ^= t << 11;
    t ^= t >>> 8;
    this.#s0 = (t ^ s ^ (s >>> 19)) >>> 0;
    return this.#s0;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    if (!(n > 0)) throw new Error(`Rng.int: bad bound ${n}`);
    return this.next() % n;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Rng.pick: no items');
    return items[this.int(items.length)]!;
  }

  /** `n` pseudo-random bytes (incompressible, so gzip volumes rotate like plain ones). */
  bytes(n: number): Buffer {
    const words = new Uint32Array(Math.ceil(n / 4));
    for (let i = 0; i < words.length; i++) words[i] = this.next();
    return Buffer.from(words.buffer, 0, n);
  }

  /**
   * `n` bytes of words from a small vocabulary, space-separated: deflate's LZ77 stage finds
   * repeats in it (so compression levels differ), unlike `text`'s random letters.
   */
  words(n: number): Buffer {
    const parts: string[] = [];
    let len = 0;
    while (len < n) {
      const w = VOCABULARY[this.int(VOCABULARY.length)]!;
      parts.push(w);
      len += w.length + 1;
    }
    return Buffer.from(parts.join(' ')).subarray(0, n);
  }

  /** `n` bytes of text-like data (compressible, and with runs that rsync can match). */
  text(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = 0x61 + (this.next() % 26);
    for (let i = 63; i < n; i += 64) out[i] = 0x0a;
    return out;
  }
}

const VOCABULARY = ['glacier', 'archive', 'volume', 'restore', 'the', 'of', 'signature', 'delta', 'backup', 'chain'];
