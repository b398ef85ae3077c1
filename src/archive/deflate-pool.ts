import { Worker } from 'node:worker_threads';
import { errorFromWire, type WireError } from '../core/worker-error.ts';

/** A batch of one gzip file to deflate (see deflateParts), with an output buffer to reuse. */
export interface DeflateJob {
  id: number;
  level: number;
  data: ArrayBuffer;
  length: number;
  lengths: number[];
  out: ArrayBuffer | null;
}

export interface DeflateJobReply {
  id: number;
  /** the input, handed back */
  data: ArrayBuffer;
  /** the raw deflate runs, `outLength` bytes from offset 0 */
  out?: ArrayBuffer;
  outLength: number;
  /** CRC-32 of the input alone (from 0) */
  crc: number;
  error?: WireError;
}

export interface Deflated {
  readonly input: Buffer;
  readonly out: Buffer;
  readonly crc: number;
}

/**
 * Compression threads beside the file writer thread (`--jobs N` gives N − 1 of them): a gzip
 * file's batches are deflated on whichever thread is least busy and written in order by the
 * writer (ThreadFile), like pigz's blocks. The output does not depend on the number of threads:
 * every deflate run starts from an empty window and ends with a sync flush at a place fixed by
 * the data (deflateParts), and the writer joins the batches' CRCs (crc32Combine). One pool serves
 * the process; threads start when a batch finds the others busy and stop with the pool's last
 * user, and an idle pool does not keep the process alive.
 */
export class DeflatePool {
  static #current: DeflatePool | null = null;

  /** The process's pool, allowed to grow to `threads` threads. */
  static acquire(threads: number): DeflatePool {
    const pool = (DeflatePool.#current ??= new DeflatePool());
    pool.#limit = Math.max(pool.#limit, threads);
    pool.#users++;
    return pool;
  }

  readonly #threads: PoolThread[] = [];
  readonly #spare: ArrayBuffer[] = [];
  #limit = 0;
  #users = 0;
  #nextId = 0;
  #failed: Error | null = null;

  private constructor() {}

  /** Jobs in flight on the least busy thread, counting a thread not yet started as idle. */
  get lightestLoad(): number {
    if (this.#threads.length < this.#limit) return 0;
    let min = Number.POSITIVE_INFINITY;
    for (const t of this.#threads) min = Math.min(min, t.pending.size);
    return min;
  }

  /**
   * Deflates `data` (parts of `lengths`) at `level`, taking over its memory (a whole ArrayBuffer
   * at offset 0), which comes back in the result.
   */
  deflate(level: number, data: Buffer, lengths: number[]): Promise<Deflated> {
    if (this.#failed) return Promise.reject(this.#failed);
    const thread = this.#pick();
    const id = ++this.#nextId;
    const out = this.#spare.pop() ?? null;
    const job: DeflateJob = { id, level, data: data.buffer as ArrayBuffer, length: data.length, lengths, out };
    const p = new Promise<Deflated>((resolve, reject) => thread.pending.set(id, { resolve, reject }));
    if (thread.pending.size === 1) thread.worker.ref();
    thread.worker.postMessage(job, out ? [job.data, out] : [job.data]);
    return p;
  }

  /** Hands an output buffer back (once written) for a later job. */
  recycle(out: ArrayBuffer): void {
    if (this.#spare.length < SPARE_LIMIT) this.#spare.push(out);
  }

  release(): void {
    this.#users--;
    if (this.#users > 0) return;
    if (DeflatePool.#current === this) DeflatePool.#current = null;
    this.#spare.length = 0;
    for (const t of this.#threads) {
      t.stopWhenIdle = true;
      if (t.pending.size === 0) void t.worker.terminate();
    }
  }

  #pick(): PoolThread {
    let best: PoolThread | null = null;
    for (const t of this.#threads) if (!best || t.pending.size < best.pending.size) best = t;
    if ((!best || best.pending.size > 0) && this.#threads.length < this.#limit) best = this.#start();
    return best!;
  }

  #start(): PoolThread {
    // The worker module sits next to this one, as .ts when running from source, .js when built.
    const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
    const worker = new Worker(new URL(`./deflate-pool-worker${ext}`, import.meta.url), { resourceLimits: { maxYoungGenerationSizeMb: 2 } });
    const thread: PoolThread = { worker, pending: new Map(), stopWhenIdle: false };
    worker.on('message', (r: DeflateJobReply) => this.#settle(thread, r));
    worker.on('error', (e) => this.#fail(thread, e));
    worker.on('exit', (code) => this.#fail(thread, new Error(`compression thread exited (code ${code})`)));
    // after the listeners: adding a 'message' listener refs the worker again
    worker.unref();
    this.#threads.push(thread);
    return thread;
  }

  #settle(thread: PoolThread, r: DeflateJobReply): void {
    const p = thread.pending.get(r.id);
    if (!p) return;
    thread.pending.delete(r.id);
    if (thread.pending.size === 0) {
      thread.worker.unref();
      if (thread.stopWhenIdle) void thread.worker.terminate();
    }
    if (r.error !== undefined) p.reject(errorFromWire(r.error));
    else p.resolve({ input: Buffer.from(r.data), out: Buffer.from(r.out!, 0, r.outLength), crc: r.crc });
  }

  #fail(thread: PoolThread, e: Error): void {
    if (thread.stopWhenIdle && thread.pending.size === 0) return;
    this.#failed ??= e;
    if (DeflatePool.#current === this) DeflatePool.#current = null;
    for (const p of thread.pending.values()) p.reject(this.#failed);
    thread.pending.clear();
  }
}

interface PoolThread {
  readonly worker: Worker;
  readonly pending: Map<number, { resolve: (r: Deflated) => void; reject: (e: Error) => void }>;
  stopWhenIdle: boolean;
}

/** Output buffers kept for reuse: about as many as batches in flight (byte-sink's queue). */
const SPARE_LIMIT = 16;
