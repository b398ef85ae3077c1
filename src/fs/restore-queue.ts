import { Worker } from 'node:worker_threads';
import { errorFromWire, type WireError } from '../core/worker-error.ts';

/**
 * Creates restored files on a worker thread, so that the kernel's work for each file (create,
 * write, attributes: most of a restore of small files) overlaps with reading the
 * archive on the main thread. Jobs run in the order they are queued, in batches; directory
 * attributes go through the same queue, so a directory gets its mode and mtime after its files.
 * A failed job fails the queue: the error is thrown by the next `check`, `add*` or `drain`.
 */
export class RestoreQueue {
  readonly #worker: Worker;
  #jobs: RestoreJob[] = [];
  #parts: Uint8Array[] = [];
  #bytes = 0;
  #seq = 0;
  /** Batches posted and not answered, with their data bytes. */
  readonly #waiting = new Map<number, number>();
  #inflightBytes = 0;
  /** Called whenever a batch is answered (or the worker fails). */
  #answered: (() => void)[] = [];
  #error: Error | null = null;
  #closed = false;

  constructor() {
    const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
    this.#worker = new Worker(new URL(`./restore-worker${ext}`, import.meta.url), { resourceLimits: { maxYoungGenerationSizeMb: 4 } });
    this.#worker.on('message', (r: RestoreReply) => this.#settle(r));
    this.#worker.on('error', (e) => this.#fail(e));
    this.#worker.on('exit', (code) => { if (!this.#closed) this.#fail(new Error(`restore worker exited (code ${code})`)); });
    // alive only while batches are outstanding: a queue nobody closes cannot hang the process
    // (after the listeners: adding a 'message' listener refs the worker again)
    this.#worker.unref();
  }

  /** Throws the first failure so far. */
  check(): void {
    if (this.#error) throw this.#error;
  }

  /** Queues a regular file `dir/name` with `data` (copied) and its attributes. */
  async addFile(dir: Buffer, name: Buffer, data: readonly Uint8Array[], attrs: Attributes): Promise<void> {
    this.check();
    let length = 0;
    for (const d of data) {
      this.#parts.push(d);
      length += d.byteLength;
    }
    this.#bytes += length;
    this.#jobs.push({ op: 'file', dir, name, length, ...attrs });
    if (this.#bytes >= BATCH_BYTES || this.#jobs.length >= BATCH_JOBS) await this.#post();
  }

  /** Queues the attributes of a directory, applied after every job queued before. */
  async addDir(path: Buffer, attrs: Attributes): Promise<void> {
    this.check();
    this.#jobs.push({ op: 'dir', path, ...attrs });
    if (this.#jobs.length >= BATCH_JOBS) await this.#post();
  }

  /** Waits until every queued job is done; throws if one failed. */
  async drain(): Promise<void> {
    await this.#post();
    while (this.#waiting.size > 0) await new Promise<void>((resolve) => this.#whenAnswered(resolve));
    this.check();
  }

  /** Drains, then stops the worker. */
  async close(): Promise<void> {
    try {
      await this.drain();
    } finally {
      this.#closed = true;
      await this.#worker.terminate();
    }
  }

  async #post(): Promise<void> {
    this.check();
    if (this.#jobs.length === 0) return;
    const data = this.#bytes > 0 ? Buffer.allocUnsafeSlow(this.#bytes) : null;
    if (data) {
      let at = 0;
      for (const p of this.#parts) {
        data.set(p, at);
        at += p.byteLength;
      }
    }
    const seq = ++this.#seq;
    const bytes = this.#bytes;
    this.#waiting.set(seq, bytes);
    if (this.#waiting.size === 1) this.#worker.ref();
    this.#inflightBytes += bytes;
    const ab = data ? (data.buffer as ArrayBuffer) : null;
    this.#worker.postMessage({ seq, jobs: this.#jobs, data: ab }, ab ? [ab] : []);
    this.#jobs = [];
    this.#parts = [];
    this.#bytes = 0;
    while (this.#inflightBytes > MAX_INFLIGHT_BYTES || this.#waiting.size > MAX_INFLIGHT_BATCHES) {
      await new Promise<void>((resolve) => this.#whenAnswered(resolve));
      this.check();
    }
  }

  #whenAnswered(resolve: () => void): void {
    this.#answered.push(resolve);
  }

  #settle(r: RestoreReply): void {
    const bytes = this.#waiting.get(r.seq);
    if (bytes === undefined) return;
    this.#waiting.delete(r.seq);
    if (this.#waiting.size === 0) this.#worker.unref();
    this.#inflightBytes -= bytes;
    if (r.error !== null) this.#error ??= errorFromWire(r.error);
    this.#wake();
  }

  #fail(e: Error): void {
    this.#error ??= e;
    this.#waiting.clear();
    this.#inflightBytes = 0;
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#answered;
    this.#answered = [];
    for (const f of waiters) f();
  }
}

export interface Attributes {
  readonly chown: boolean;
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
  /** mtime in milliseconds since the epoch (may be negative) */
  readonly mtimeMs: number;
}

export type RestoreJob =
  | ({ op: 'file'; dir: Uint8Array; name: Uint8Array; length: number } & Attributes)
  | ({ op: 'dir'; path: Uint8Array } & Attributes);

export interface RestoreReply {
  seq: number;
  /** the first failure of the worker (this batch's or an earlier one's), else null */
  error: WireError | null;
}

const BATCH_BYTES = 256 * 1024;
const BATCH_JOBS = 128;
const MAX_INFLIGHT_BYTES = 8 * 1024 * 1024;
const MAX_INFLIGHT_BATCHES = 16;
