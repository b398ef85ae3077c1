import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { errorFromWire, type WireError } from '../core/worker-error.ts';

/**
 * Creates restored files on worker threads, so that the kernel's work for each file (create,
 * write, attributes: most of a restore of small files) overlaps with reading the archive on the
 * main thread, and runs on two cores: creating 40k files took 0.89 s on one thread and 0.52 s on
 * two (bench/RESULTS.md). Files go out in batches to the workers in turn; files of one directory
 * may be created by either, in any order. A directory's attributes (its mode and mtime) are
 * applied only once every job queued before it is done, so its files can no longer change its
 * mtime, and a parent that its mode closes is closed after everything below it (consecutive
 * directory jobs go out together, in order, to one worker). A failed job fails the queue: the
 * error is thrown by the next `check`, `add*` or `drain`.
 */
export class RestoreQueue {
  readonly #workers: Worker[] = [];
  /** Batches posted to each worker and not answered. */
  readonly #pendingPerWorker: number[] = [];
  /** Files in the batch being gathered. */
  #files = 0;
  /** The batch being gathered: each file's record (FILE_RECORD), path and data, copied in as it is added. */
  #batch: Buffer | null = null;
  #used = 0;
  /** Batch buffers the workers handed back, reused so that no batch waits for a GC to be freed. */
  readonly #free: ArrayBuffer[] = [];
  /** Queue position of the next job added, and of the first job of the batch being gathered. */
  #nextOrder = 0;
  #batchFirst = 0;
  /** Directory jobs waiting for the jobs queued before them, in queue order. */
  #dirs: { order: number; job: DirJob }[] = [];
  #seq = 0;
  #turn = 0;
  /** Batches posted and not answered: their data bytes and the queue position of their first job. */
  readonly #waiting = new Map<number, { bytes: number; first: number; worker: number }>();
  #inflightBytes = 0;
  /** Called whenever a batch is answered (or a worker fails). */
  #answered: (() => void)[] = [];
  #error: Error | null = null;
  #closed = false;

  constructor(threads: number = defaultThreads()) {
    const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
    for (let i = 0; i < Math.max(1, threads); i++) {
      const worker = new Worker(new URL(`./restore-worker${ext}`, import.meta.url), { resourceLimits: { maxYoungGenerationSizeMb: 4 } });
      worker.on('message', (r: RestoreReply) => this.#settle(r));
      worker.on('error', (e) => this.#fail(e, i));
      worker.on('exit', (code) => {
        if (!this.#closed) this.#fail(new Error(`restore worker exited (code ${code})`), i);
      });
      // alive only while batches are outstanding: a queue nobody closes cannot hang the process
      // (after the listeners: adding a 'message' listener refs the worker again)
      worker.unref();
      this.#workers.push(worker);
      this.#pendingPerWorker.push(0);
    }
  }

  /** Throws the first failure so far. */
  check(): void {
    if (this.#error) throw this.#error;
  }

  /**
   * Queues a regular file `dir/name` with `data` and its attributes. The path and the data are
   * copied into the batch at once, so the caller's buffers (slices of the archive's inflated
   * chunks) die young instead of waiting, pinned by a batch, for a full GC.
   */
  async addFile(dir: Uint8Array, name: Uint8Array, data: readonly Uint8Array[], attrs: Attributes): Promise<void> {
    this.check();
    let length = 0;
    for (const d of data) length += d.byteLength;
    const pathLength = dir.byteLength + 1 + name.byteLength;
    const need = FILE_RECORD + pathLength + length;
    if (this.#batch !== null && this.#used + need > this.#batch.length) await this.#postFiles();
    if (this.#batch === null) {
      this.#batch = this.#takeBuffer(need);
      this.#used = 0;
      this.#batchFirst = this.#nextOrder;
    }
    const batch = this.#batch;
    const record = this.#used;
    batch.writeUInt32LE(pathLength, record);
    batch.writeUInt32LE(length, record + 4);
    batch.writeUInt32LE(attrs.mode, record + 8);
    batch.writeUInt32LE(attrs.uid, record + 12);
    batch.writeUInt32LE(attrs.gid, record + 16);
    batch.writeUInt32LE(attrs.chown ? 1 : 0, record + 20);
    batch.writeDoubleLE(attrs.mtimeMs, record + 24);
    const path = record + FILE_RECORD;
    batch.set(dir, path);
    batch[path + dir.byteLength] = SLASH;
    batch.set(name, path + dir.byteLength + 1);
    let at = path + pathLength;
    for (const d of data) {
      batch.set(d, at);
      at += d.byteLength;
    }
    this.#used = at;
    this.#nextOrder++;
    this.#files++;
    if (this.#files >= BATCH_JOBS || this.#used >= BATCH_BYTES - MIN_ROOM) await this.#postFiles();
  }

  /** Queues the attributes of a directory, applied after every job queued before. */
  async addDir(path: Buffer, attrs: Attributes): Promise<void> {
    this.check();
    await this.#postFiles();
    this.#dirs.push({ order: this.#nextOrder++, job: { path, ...attrs } });
    this.#postReadyDirs();
  }

  /** Waits until every queued job is done; throws if one failed. */
  async drain(): Promise<void> {
    await this.#postFiles();
    while ((this.#waiting.size > 0 || this.#dirs.length > 0) && this.#error === null) {
      this.#postReadyDirs();
      await new Promise<void>((resolve) => this.#whenAnswered(resolve));
    }
    this.check();
  }

  /**
   * Drains, then stops the workers; after a failure, once the batches already posted are answered
   * (a worker stopped in the middle of a file would leave it partial under its real name).
   */
  async close(): Promise<void> {
    try {
      await this.drain();
    } finally {
      while (this.#waiting.size > 0) await new Promise<void>((resolve) => this.#whenAnswered(resolve));
      this.#closed = true;
      await Promise.all(this.#workers.map((w) => w.terminate()));
    }
  }

  async #postFiles(): Promise<void> {
    this.check();
    if (this.#batch === null) return;
    const worker = this.#turn;
    this.#turn = (this.#turn + 1) % this.#workers.length;
    this.#send(worker, { seq: 0, files: this.#files, data: this.#batch.buffer as ArrayBuffer }, this.#used, this.#batchFirst);
    this.#files = 0;
    this.#batch = null;
    this.#used = 0;
    while (this.#inflightBytes > MAX_INFLIGHT_BYTES || this.#waiting.size > MAX_INFLIGHT_BATCHES) {
      await new Promise<void>((resolve) => this.#whenAnswered(resolve));
      this.check();
    }
  }

  /** A batch buffer for at least `need` bytes: a returned one when it is large enough. */
  #takeBuffer(need: number): Buffer {
    if (need <= BATCH_BYTES) {
      const ab = this.#free.pop();
      return ab ? Buffer.from(ab) : Buffer.allocUnsafeSlow(BATCH_BYTES);
    }
    return Buffer.allocUnsafeSlow(need);
  }

  /**
   * Posts, as one ordered batch to one worker, the waiting directory jobs that every job queued
   * before them (files and directories) is done for, apart from directory jobs of the same batch.
   */
  #postReadyDirs(): void {
    if (this.#dirs.length === 0 || this.#error) return;
    let oldestBusy = Infinity;
    for (const b of this.#waiting.values()) oldestBusy = Math.min(oldestBusy, b.first);
    let n = 0;
    while (n < this.#dirs.length && this.#dirs[n]!.order < oldestBusy) n++;
    if (n === 0) return;
    const ready = this.#dirs.splice(0, n);
    const worker = this.#turn;
    this.#turn = (this.#turn + 1) % this.#workers.length;
    this.#send(worker, { seq: 0, dirs: ready.map((d) => d.job) }, 0, ready[0]!.order);
  }

  #send(worker: number, batch: RestoreBatch, bytes: number, first: number): void {
    batch.seq = ++this.#seq;
    this.#waiting.set(batch.seq, { bytes, first, worker });
    if (this.#pendingPerWorker[worker]!++ === 0) this.#workers[worker]!.ref();
    this.#inflightBytes += bytes;
    this.#workers[worker]!.postMessage(batch, 'data' in batch ? [batch.data] : []);
  }

  #whenAnswered(resolve: () => void): void {
    this.#answered.push(resolve);
  }

  #settle(r: RestoreReply): void {
    const batch = this.#waiting.get(r.seq);
    if (batch === undefined) return;
    this.#waiting.delete(r.seq);
    if (--this.#pendingPerWorker[batch.worker]! === 0) this.#workers[batch.worker]!.unref();
    this.#inflightBytes -= batch.bytes;
    if (r.data !== null && r.data.byteLength === BATCH_BYTES && this.#free.length < MAX_INFLIGHT_BATCHES) this.#free.push(r.data);
    if (r.error !== null) this.#error ??= errorFromWire(r.error);
    this.#postReadyDirs();
    this.#wake();
  }

  /** Worker `index` died: nothing it was sent will be answered (the others' batches still are). */
  #fail(e: Error, index: number): void {
    this.#error ??= e;
    for (const [seq, batch] of this.#waiting) {
      if (batch.worker !== index) continue;
      this.#waiting.delete(seq);
      this.#inflightBytes -= batch.bytes;
    }
    this.#dirs = [];
    this.#pendingPerWorker[index] = 0;
    this.#workers[index]!.unref();
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#answered;
    this.#answered = [];
    for (const f of waiters) f();
  }
}

/** Two threads where there are two cores or more: the kernel's file creation measured 1.7x faster. */
function defaultThreads(): number {
  return Math.min(2, availableParallelism());
}

export interface Attributes {
  readonly chown: boolean;
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
  /** mtime in milliseconds since the epoch (may be negative) */
  readonly mtimeMs: number;
}

export type DirJob = { path: Uint8Array } & Attributes;

/**
 * What a worker is sent: `files` records packed in `data` (transferred; structured clones of
 * 128 job objects a batch cost more than the copy), or directory jobs.
 */
export type RestoreBatch = { seq: number; files: number; data: ArrayBuffer } | { seq: number; dirs: DirJob[] };

/**
 * A file's record in a batch: path length, data length, mode, uid, gid, whether to chown (u32
 * little-endian each), mtime in ms (f64), then the path and the data.
 */
export const FILE_RECORD = 32;

export interface RestoreReply {
  seq: number;
  /** the first failure of the worker (this batch's or an earlier one's), else null */
  error: WireError | null;
  /** the batch's data, handed back (transferred) for reuse */
  data: ArrayBuffer | null;
}

const SLASH = 0x2f;
const BATCH_BYTES = 256 * 1024;
/** A batch with less room than this left goes out (most files are larger). */
const MIN_ROOM = 4 * 1024;
const BATCH_JOBS = 128;
const MAX_INFLIGHT_BYTES = 8 * 1024 * 1024;
const MAX_INFLIGHT_BATCHES = 16;
