import { constants as zc, createDeflateRaw, deflateRawSync, type DeflateRaw } from 'node:zlib';

/**
 * Deflates independent runs (each from an empty window, ending with a sync flush) with one zlib
 * state for all of them.
 *
 * A backup of small files deflates one run per file (the stored random files between them break
 * the stream), so per-run overhead counts: `deflateRawSync` builds a whole stream object and a zlib
 * state per call, about 7.5 µs, which was 0.75 s of the compression thread's 4.7 s on 100k files
 * (bench/RESULTS.md). Node has no public synchronous API for a reusable deflate state, so this
 * drives the zlib binding behind a DeflateRaw stream the way Node's own deflateRawSync does
 * (`_handle.writeSync` into `_writeState`), with `reset()` between runs. If a Node release
 * changes those internals, `fast` is false and every run goes through `deflateRawSync`, which
 * produces the same bytes; a test fails then, so the slowdown is noticed.
 */
export class RunDeflater {
  readonly level: number;
  readonly #engine: DeflateRaw | null;
  readonly #handle: ZlibHandle | null;
  readonly #state: Uint32Array | null;
  #error: Error | null = null;
  #arena: Buffer = Buffer.allocUnsafe(ARENA);
  #used = 0;

  constructor(level: number) {
    this.level = level;
    const engine = createDeflateRaw({ level });
    const internals = engine as unknown as { _handle?: unknown; _writeState?: unknown };
    const handle = internals._handle as ZlibHandle | undefined;
    const state = internals._writeState;
    if (
      handle &&
      typeof handle.writeSync === 'function' &&
      typeof handle.reset === 'function' &&
      state instanceof Uint32Array &&
      state.length >= 2
    ) {
      this.#engine = engine;
      this.#handle = handle;
      this.#state = state;
      // zlib reports errors through the stream; keep the first and throw it from the call
      engine.on('error', (e: Error) => (this.#error ??= e));
    } else {
      engine.close();
      this.#engine = null;
      this.#handle = null;
      this.#state = null;
    }
  }

  /** Whether runs go through the reused zlib state (false: one deflateRawSync per run). */
  get fast(): boolean {
    return this.#handle !== null;
  }

  /**
   * Makes the memory of earlier results reusable: what `deflate` returned before this call must no
   * longer be in use.
   */
  recycle(): void {
    this.#used = 0;
  }

  /**
   * Raw deflate of `run` from an empty window, ending with a sync flush (byte-aligned, not final).
   * The result is a view of memory that `recycle()` hands out again.
   */
  deflate(run: Uint8Array): Buffer {
    const handle = this.#handle;
    const state = this.#state;
    if (!handle || !state) return this.#oneShot(run);
    handle.reset();
    // zlib's deflateBound for these parameters, plus the sync flush's empty stored block
    const bound = run.length + (run.length >>> 12) + (run.length >>> 14) + (run.length >>> 25) + 32;
    if (this.#arena.length - this.#used < bound) {
      this.#arena = Buffer.allocUnsafe(Math.max(ARENA, bound));
      this.#used = 0;
    }
    const start = this.#used;
    handle.writeSync(zc.Z_SYNC_FLUSH, run, 0, run.length, this.#arena, start, this.#arena.length - start);
    if (this.#error) throw this.#error;
    // the flush is complete once zlib stops with output space to spare
    if (state[0]! > 0 && state[1] === 0) {
      const outAt = this.#arena.length - state[0]!;
      this.#used = outAt;
      return this.#arena.subarray(start, outAt);
    }
    // zlib ran out of room, which deflateBound's arithmetic says cannot happen: do it the slow way
    return this.#oneShot(run);
  }

  #oneShot(run: Uint8Array): Buffer {
    return deflateRawSync(run, {
      level: this.level,
      finishFlush: zc.Z_SYNC_FLUSH,
      chunkSize: Math.min(64 * 1024, Math.max(64, run.length + 64)),
    });
  }

  /** Frees the zlib state. */
  close(): void {
    this.#engine?.close();
  }
}

/** The part of Node's zlib binding object that deflateRawSync itself uses. */
interface ZlibHandle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
  reset(): void;
}

/** Output memory per arena: a batch's compressed runs share it. */
const ARENA = 256 * 1024;
