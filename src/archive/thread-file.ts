import { type MessagePort, Worker } from 'node:worker_threads';
import { errorFromWire, type WireError } from '../core/worker-error.ts';
import type { AheadHost } from '../fs/stat-ahead.ts';
import type { AheadStart } from '../fs/stat-ahead-format.ts';
import { DeflatePool } from './deflate-pool.ts';

/**
 * A file written by a worker thread from batches of tar blocks: gzip (a volume or signature
 * file) or plain (`--no-compression`). The main thread reads source files, computes signatures
 * and packs tar blocks; the worker compresses (deflateParts), hashes and writes while the main
 * thread packs the next batch. zlib in Node's thread pool advances only when the main thread
 * returns to the event loop, so the two used to take turns; for plain files, the SHA1 and the
 * writes were a fifth of the main thread's work on a 1 GiB file. One worker serves every open
 * ThreadFile of the process (a backup's volume and signature file); it runs while one is open.
 */
export class ThreadFile {
  readonly #worker: SharedWorker;
  readonly #file: number;
  readonly #opened: Promise<ThreadFileReply>;
  #closed = false;
  /** gzip with `jobs` > 1: batches may be deflated by the pool (see #writePooled) */
  readonly #pool: { pool: DeflatePool; level: number } | null;
  /** Resolves once every batch so far has been handed to the writer thread, in order. */
  #posted: Promise<void> = Promise.resolve();
  /** Batches for the writer thread not yet posted to it (they wait for earlier ones). */
  #waitingForWriter = 0;
  /** The writer thread has answered: a backlog before that is its start-up, not its speed. */
  #writerRunning = false;

  /**
   * Creates (or truncates) `path`, gzip at deflate `level` or plain (`level` null); `sha1` hashes
   * the file's bytes (see `end`). `jobs` (default 1): threads that may compress it, this file's
   * writer thread and `jobs` − 1 of the DeflatePool; the bytes are the same for any number.
   */
  constructor(path: string, opts: { level: number | null; sha1: boolean; jobs?: number }) {
    this.#worker = SharedWorker.acquire();
    this.#file = this.#worker.newFile();
    const jobs = opts.jobs ?? 1;
    this.#pool = opts.level !== null && jobs > 1 ? { pool: DeflatePool.acquire(jobs - 1), level: opts.level } : null;
    this.#opened = this.#worker.request({ op: 'open', id: 0, file: this.#file, path, level: opts.level, sha1: opts.sha1 }, []);
    this.#opened.then(
      () => (this.#writerRunning = true),
      () => {},
    );
  }

  /** Resolves once the file is created and its header written (gzip); to the header's length. */
  async opened(): Promise<number> {
    return (await this.#opened).written;
  }

  /**
   * Compresses (gzip) and appends `data`, whose consecutive parts have `lengths` (see deflateParts),
   * taking over its memory, which must be a whole ArrayBuffer of its own (offset 0). Resolves, in
   * call order, to the bytes written and the input buffer, handed back for reuse.
   */
  write(data: Buffer, lengths: number[]): Promise<{ written: number; input: Buffer }> {
    const ab = data.buffer;
    if (!(ab instanceof ArrayBuffer) || data.byteOffset !== 0) throw new Error('ThreadFile.write needs a buffer that owns its memory');
    if (this.#pool) return this.#writePooled(data, lengths, this.#pool);
    return this.#worker
      .request({ op: 'data', id: 0, file: this.#file, data: ab, length: data.length, lengths }, [ab])
      .then((r) => ({ written: r.written, input: Buffer.from(r.data!) }));
  }

  /** Writes the trailer (gzip) and closes the file: its size, and its SHA1 (hex) when asked for. */
  async end(): Promise<{ size: number; sha1: string | null }> {
    this.#closed = true;
    try {
      await this.#posted;
      const r = await this.#worker.request({ op: 'end', id: 0, file: this.#file }, []);
      return { size: r.size!, sha1: r.sha1 ?? null };
    } finally {
      this.#worker.release();
      this.#pool?.pool.release();
    }
  }

  /** Abandons the file: the worker closes and deletes it after what is already queued. */
  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#pool) {
      // after the batches still being compressed are handed over (or have failed)
      const { pool } = this.#pool;
      void this.#posted
        .catch(() => {})
        .then(() => {
          this.#worker.request({ op: 'drop', id: 0, file: this.#file }, []).catch(() => {});
          this.#worker.release();
          pool.release();
        });
      return;
    }
    this.#worker.request({ op: 'drop', id: 0, file: this.#file }, []).catch(() => {});
    this.#worker.release();
  }

  /**
   * A batch deflated by the writer thread while it keeps up (fewer than WRITER_BACKLOG requests in
   * flight), is still starting, or has less in flight than the pool's least busy thread, else by
   * the pool: when the main thread is the slower side (small files) a pool thread is not needed.
   * Either way the writer receives the batches in call order, so the file is the same.
   */
  #writePooled(
    data: Buffer,
    lengths: number[],
    { pool, level }: { pool: DeflatePool; level: number },
  ): Promise<{ written: number; input: Buffer }> {
    const worker = this.#worker;
    const file = this.#file;
    const raw = data.length;
    let handed: Promise<{ reply: Promise<ThreadFileReply>; input: Buffer | null }>;
    const load = worker.load + this.#waitingForWriter;
    if (!this.#writerRunning || load < WRITER_BACKLOG || load <= pool.lightestLoad) {
      const ab = data.buffer as ArrayBuffer;
      this.#waitingForWriter++;
      handed = this.#posted.then(() => {
        this.#waitingForWriter--;
        return { reply: worker.request({ op: 'data', id: 0, file, data: ab, length: raw, lengths }, [ab]), input: null };
      });
    } else {
      const deflated = pool.deflate(level, data, lengths);
      handed = Promise.all([deflated, this.#posted]).then(([d]) => {
        const out = d.out.buffer as ArrayBuffer;
        return {
          reply: worker.request({ op: 'deflated', id: 0, file, data: out, length: d.out.length, crc: d.crc, rawLength: raw }, [out]),
          input: d.input,
        };
      });
    }
    const posted = handed.then(() => {});
    // a failure reaches the caller through the returned promise; this one only orders the next
    posted.catch(() => {});
    this.#posted = posted;
    return handed.then(async ({ reply, input }) => {
      const r = await reply;
      if (input) pool.recycle(r.data!);
      return { written: r.written, input: input ?? Buffer.from(r.data!) };
    });
  }
}

/**
 * Runs the source walk's lstat calls (fs/stat-ahead.ts) on the file writer thread, which an
 * incremental backup leaves idle most of the time, rather than on a thread of their own (a second
 * V8 isolate, ~18 MiB of RSS). The thread stays up until the walk is over.
 */
export const statAheadOnWriterThread: AheadHost = (start, port) => {
  const worker = SharedWorker.acquire();
  // the answer only says it started; a failure closes the port, which the walk notices
  worker.request({ op: 'stat-ahead', id: 0, file: 0, start, port }, [port]).catch(() => {});
  return () => worker.release();
};

/** Requests in flight at the writer thread beyond which a gzip batch goes to the DeflatePool. */
const WRITER_BACKLOG = 6;

export type ThreadFileRequest =
  /** level null: a plain file */
  | { op: 'open'; id: number; file: number; path: string; level: number | null; sha1: boolean }
  | { op: 'data'; id: number; file: number; data: ArrayBuffer; length: number; lengths: number[] }
  /** a batch deflated by the DeflatePool: `rawLength` input bytes whose CRC-32 is `crc` */
  | { op: 'deflated'; id: number; file: number; data: ArrayBuffer; length: number; crc: number; rawLength: number }
  | { op: 'end'; id: number; file: number }
  | { op: 'drop'; id: number; file: number }
  /** run the source walk's stat-ahead (fs/stat-ahead-walker.ts) on this thread, talking through `port` */
  | { op: 'stat-ahead'; id: number; file: number; start: AheadStart; port: MessagePort };

export interface ThreadFileReply {
  id: number;
  /** bytes this request added to the file */
  written: number;
  /** the input batch, handed back */
  data?: ArrayBuffer;
  size?: number;
  sha1?: string | null;
  error?: WireError;
}

/**
 * Starts the file writer thread now, ahead of the first file it will write: its start (~50 ms of
 * Node's own work on this machine, docs/performance.md "Start-up") then runs beside the main
 * thread's listing, walk and comparison instead of before the first volume. Returns the function
 * that gives it up (call it once the run is over; the thread stops when its last file is done).
 */
export function startFileWriterThread(): () => void {
  const worker = SharedWorker.acquire();
  let held = true;
  return () => {
    if (held) worker.release();
    held = false;
  };
}

/**
 * The process's compression thread, started on first use and stopped when its last file is
 * done. It keeps the process alive only while requests are outstanding, so a file that is never
 * closed cannot hang the process.
 */
class SharedWorker {
  static #current: SharedWorker | null = null;

  static acquire(): SharedWorker {
    const w = (SharedWorker.#current ??= new SharedWorker());
    w.#users++;
    return w;
  }

  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (r: ThreadFileReply) => void; reject: (e: Error) => void }>();
  #users = 0;
  #nextId = 0;
  #nextFile = 0;
  #failed: Error | null = null;
  #stopWhenIdle = false;

  private constructor() {
    // The worker module sits next to this one, as .ts when running from source, .js when built.
    // The smallest young generation V8 gives (2 MiB of new space; 4 MiB before, the same CPU): its
    // garbage is a few views and arrays per batch.
    const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
    this.#worker = new Worker(new URL(`./thread-file-worker${ext}`, import.meta.url), { resourceLimits: { maxYoungGenerationSizeMb: 2 } });
    this.#worker.on('message', (r: ThreadFileReply) => this.#settle(r));
    this.#worker.on('error', (e) => this.#fail(e));
    this.#worker.on('exit', (code) => this.#fail(new Error(`file writer thread exited (code ${code})`)));
    // after the listeners: adding a 'message' listener refs the worker again
    this.#worker.unref();
  }

  /** Requests in flight. */
  get load(): number {
    return this.#pending.size;
  }

  newFile(): number {
    return ++this.#nextFile;
  }

  request(req: ThreadFileRequest, transfer: (ArrayBuffer | MessagePort)[]): Promise<ThreadFileReply> {
    if (this.#failed) return Promise.reject(this.#failed);
    const id = ++this.#nextId;
    req.id = id;
    const p = new Promise<ThreadFileReply>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    if (this.#pending.size === 1) this.#worker.ref();
    this.#worker.postMessage(req, transfer);
    return p;
  }

  release(): void {
    this.#users--;
    if (this.#users > 0) return;
    if (SharedWorker.#current === this) SharedWorker.#current = null;
    // queued requests (a dropped file's) are answered first: terminate once they are
    this.#stopWhenIdle = true;
    if (this.#pending.size === 0) void this.#worker.terminate();
  }

  #settle(r: ThreadFileReply): void {
    const p = this.#pending.get(r.id);
    if (!p) return;
    this.#pending.delete(r.id);
    if (this.#pending.size === 0) {
      this.#worker.unref();
      if (this.#stopWhenIdle) void this.#worker.terminate();
    }
    if (r.error !== undefined) p.reject(errorFromWire(r.error));
    else p.resolve(r);
  }

  #fail(e: Error): void {
    if (this.#stopWhenIdle && this.#pending.size === 0) return;
    this.#failed ??= e;
    if (SharedWorker.#current === this) SharedWorker.#current = null;
    for (const p of this.#pending.values()) p.reject(this.#failed);
    this.#pending.clear();
  }
}
