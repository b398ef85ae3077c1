const EMPTY = Buffer.alloc(0);

/**
 * Bytes pulled from an async source of arbitrarily sized chunks, consumed front to back.
 * Chunks are kept as they arrive (no concatenation while buffering); `take()` returns a view
 * into a chunk when the bytes lie in one, and makes a single copy only when they span several.
 */
export class ChunkQueue {
  readonly #iterator: AsyncIterator<Uint8Array>;
  #chunks: Buffer[] = [];
  /** First chunk with unread bytes, and the read position inside it. */
  #head = 0;
  #offset = 0;
  #buffered = 0;
  #consumed = 0;
  #ended = false;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.#iterator = source[Symbol.asyncIterator]();
  }

  /** Bytes pulled from the source and not yet taken or skipped. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Bytes taken or skipped so far: the stream position of the next byte. */
  get consumed(): number {
    return this.#consumed;
  }

  /** Pulls until at least `n` bytes are buffered; false when the source ends first. */
  async ensure(n: number): Promise<boolean> {
    while (this.#buffered < n) {
      if (this.#ended) return false;
      const r = await this.#iterator.next();
      if (r.done) {
        this.#ended = true;
        return false;
      }
      const v: unknown = r.value;
      if (!(v instanceof Uint8Array)) throw new TypeError('tar source yielded something other than bytes');
      if (v.length === 0) continue;
      const chunk = Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    return true;
  }

  /** The next `n` bytes; at least `n` must be buffered. May share memory with a source chunk. */
  take(n: number): Buffer {
    this.#checkAvailable(n);
    if (n === 0) return EMPTY;
    const first = this.#chunks[this.#head]!;
    if (first.length - this.#offset >= n) {
      const view = first.subarray(this.#offset, this.#offset + n);
      this.#advance(n);
      return view;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.#chunks[this.#head]!;
      const k = Math.min(chunk.length - this.#offset, n - filled);
      chunk.copy(out, filled, this.#offset, this.#offset + k);
      filled += k;
      this.#advance(k);
    }
    return out;
  }

  /** Drops the next `n` bytes; at least `n` must be buffered. */
  skip(n: number): void {
    this.#checkAvailable(n);
    while (n > 0) {
      const chunk = this.#chunks[this.#head]!;
      const k = Math.min(chunk.length - this.#offset, n);
      this.#advance(k);
      n -= k;
    }
  }

  /** Tells the source we are done with it (closes a file stream, ends a generator). */
  async close(): Promise<void> {
    this.#chunks = [];
    this.#head = 0;
    this.#offset = 0;
    this.#buffered = 0;
    if (!this.#ended) {
      this.#ended = true;
      await this.#iterator.return?.();
    }
  }

  #checkAvailable(n: number): void {
    if (n > this.#buffered) throw new RangeError(`ChunkQueue: ${n} bytes requested, ${this.#buffered} buffered`);
  }

  #advance(k: number): void {
    this.#offset += k;
    this.#buffered -= k;
    this.#consumed += k;
    if (this.#offset < this.#chunks[this.#head]!.length) return;
    this.#chunks[this.#head] = EMPTY; // let the spent chunk be collected
    this.#head++;
    this.#offset = 0;
    if (this.#head === this.#chunks.length) {
      this.#chunks = [];
      this.#head = 0;
    } else if (this.#head >= 1024) {
      this.#chunks = this.#chunks.slice(this.#head);
      this.#head = 0;
    }
  }
}
