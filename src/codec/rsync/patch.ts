/**
 * Streaming librsync patcher (docs/duplicity-format.md §5.3): consumes a delta in chunks of any size and writes the new
 * file, reading COPY ranges from the basis (the old file) through a random-access reader.
 *
 * Untrusted deltas are validated (see `DeltaParser`); a COPY past the end of the basis is an error.
 * Memory stays bounded whatever the delta says: literals stream through 64 KiB output pieces, and
 * copies are read in pieces of at most 1 MiB.
 */

import { DeltaEvent, DeltaParser } from './delta-parser.ts';

/**
 * Reads `length` bytes of the basis at `offset`. At the end of the basis it may return fewer
 * (an empty Buffer at or past it) or throw. It must not modify a returned Buffer afterwards.
 * The patcher never asks for bytes past `basisLength` when that option is given.
 */
export type BasisReader = (offset: number, length: number) => Promise<Buffer>;
/**
 * Receives the next bytes of the new file. A chunk is either the patcher's own buffer or (part
 * of) a basis read; never a view of a delta chunk, so callers may reuse those. The sink may keep it.
 */
export type OutputSink = (chunk: Buffer) => Promise<void> | void;

export interface DeltaPatcherOptions {
  /** Basis length if known: COPYs beyond it fail before anything is read. */
  basisLength?: number;
}

/** Largest single basis read. */
const MAX_READ = 1024 * 1024;
/**
 * When the basis length is known, small COPYs read at least this much, and later COPYs inside
 * the range are served from it: consecutive blocks of a basis are usually copied in order.
 */
const READ_AHEAD = 64 * 1024;
/** Output is gathered into pieces of this size; basis reads at least this large go out directly. */
const OUTPUT_PIECE = 64 * 1024;

export class DeltaPatcher {
  readonly #readBasis: BasisReader | null;
  readonly #sink: OutputSink;
  readonly #basisLength: number | undefined;
  readonly #parser = new DeltaParser();
  #cache: Buffer = Buffer.alloc(0);
  #cacheOffset = 0;
  #outPiece: Buffer = Buffer.allocUnsafe(OUTPUT_PIECE);
  #outFill = 0;
  #written = 0;
  #busy = false;
  #finished = false;
  #failed = false;

  /** `readBasis` may be null when there is no basis: any COPY is then an error. */
  constructor(readBasis: BasisReader | null, sink: OutputSink, options: DeltaPatcherOptions = {}) {
    this.#readBasis = readBasis;
    this.#sink = sink;
    this.#basisLength = options.basisLength;
  }

  /** Bytes of the new file produced so far. */
  get bytesWritten(): number {
    return this.#written;
  }

  /** Applies the next delta bytes. Calls must not overlap: await each before the next. */
  async write(chunk: Uint8Array): Promise<void> {
    await this.#exclusive(async () => {
      const parser = this.#parser;
      parser.push(chunk);
      for (let ev = parser.next(); ev !== DeltaEvent.NeedInput; ev = parser.next()) {
        if (ev === DeltaEvent.Literal) await this.#emit(parser.literal, false);
        else if (ev === DeltaEvent.Copy) await this.#copy(parser.copyOffset, parser.copyLength);
      }
    });
  }

  /** Ends the delta: checks it was complete and flushes the output. */
  async end(): Promise<void> {
    await this.#exclusive(async () => {
      this.#parser.finish();
      this.#finished = true;
      await this.#flushOutput();
    });
  }

  async #exclusive(work: () => Promise<void>): Promise<void> {
    if (this.#busy) throw new Error('DeltaPatcher: overlapping calls; await each write() first');
    if (this.#finished) throw new Error('DeltaPatcher: used after end()');
    if (this.#failed) throw new Error('DeltaPatcher: used after an error');
    this.#busy = true;
    try {
      await work();
    } catch (err) {
      this.#failed = true;
      throw err;
    } finally {
      this.#busy = false;
    }
  }

  async #copy(offset: number, length: number): Promise<void> {
    if (this.#readBasis === null) throw new Error(`rsync delta has a COPY (${offset}+${length}) but there is no basis`);
    if (this.#basisLength !== undefined && offset + length > this.#basisLength) {
      throw new Error(`rsync delta COPY ${offset}+${length} goes beyond the basis end (${this.#basisLength} bytes)`);
    }
    while (length > 0) {
      const cacheEnd = this.#cacheOffset + this.#cache.length;
      if (offset < this.#cacheOffset || offset >= cacheEnd) {
        const readAhead = this.#basisLength === undefined ? length : Math.min(Math.max(length, READ_AHEAD), this.#basisLength - offset);
        const want = Math.min(MAX_READ, readAhead);
        this.#cache = await this.#readBasis(offset, want);
        this.#cacheOffset = offset;
        if (this.#cache.length === 0) {
          throw new Error(`rsync delta COPY ${offset}+${length} goes beyond the basis end (${offset})`);
        }
        if (this.#cache.length > want) throw new Error(`basis reader returned ${this.#cache.length} bytes for ${want}`);
        continue;
      }
      const n = Math.min(length, cacheEnd - offset);
      const start = offset - this.#cacheOffset;
      await this.#emit(this.#cache.subarray(start, start + n), true);
      offset += n;
      length -= n;
    }
  }

  /** `shareable`: the sink may be handed `data` itself rather than a copy. */
  async #emit(data: Buffer, shareable: boolean): Promise<void> {
    this.#written += data.length;
    if (shareable && data.length >= OUTPUT_PIECE) {
      await this.#flushOutput();
      await this.#sink(data);
      return;
    }
    let p = 0;
    while (p < data.length) {
      const n = Math.min(data.length - p, OUTPUT_PIECE - this.#outFill);
      data.copy(this.#outPiece, this.#outFill, p, p + n);
      this.#outFill += n;
      p += n;
      if (this.#outFill === OUTPUT_PIECE) await this.#flushOutput();
    }
  }

  async #flushOutput(): Promise<void> {
    if (this.#outFill === 0) return;
    const piece = this.#outPiece.subarray(0, this.#outFill);
    // The sink may keep the piece, so it is never reused.
    this.#outPiece = Buffer.allocUnsafe(OUTPUT_PIECE);
    this.#outFill = 0;
    await this.#sink(piece);
  }
}

/** Applies a whole delta to an in-memory basis. */
export async function applyDelta(basis: Buffer, delta: Uint8Array): Promise<Buffer> {
  const pieces: Buffer[] = [];
  const patcher = new DeltaPatcher(
    async (offset, length) => basis.subarray(offset, offset + length),
    (chunk) => {
      pieces.push(chunk);
    },
    { basisLength: basis.length },
  );
  await patcher.write(delta);
  await patcher.end();
  return Buffer.concat(pieces);
}
