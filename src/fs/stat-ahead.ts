import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { errorFromWire } from '../core/worker-error.ts';
import type { StatFields } from './entry-from-stat.ts';
import { type AheadListing, type AheadRequest, type AheadStart, FAILED, NUMBER_FIELDS, VANISHED } from './stat-ahead-format.ts';

/**
 * Runs the stat-ahead walk (stat-ahead-walker.ts's runStatAhead) on a thread that already exists,
 * talking through `port`; returns what to call when the walk is over (the thread may stop then).
 * Without one, StatAhead starts a thread of its own (~18 MiB of RSS for a second V8 isolate).
 */
export type AheadHost = (start: AheadStart, port: MessagePort) => () => void;

/**
 * Entries below which a walk does better without the thread: its start (~50 ms, longer on a busy
 * machine) and its first listing are on the walk's path, and it saves the main thread ~3-4 µs per
 * entry. A 10k-file incremental was no faster with it, 100k was (bench/RESULTS.md, session 6).
 */
export const STAT_AHEAD_MIN_ENTRIES = 30_000;

/** An lstat slower than this (ms) went to the disk (walk.ts's default). */
const SLOW_CALL_MS = 0.05;

/** Entries the thread may read ahead of the walk: a few dozen directories of ~100 entries. */
const DEFAULT_WINDOW = 8192;

/**
 * The source walk's lstat calls on a second thread. On a warm cache a walk of many small files is
 * mostly one synchronous lstat after another (a 100k-file incremental spent 540 of 1305 ms of its
 * main thread in them), while the other core idles. This thread walks the tree ahead of the main
 * thread in the same order and posts each directory's sorted names and stats packed in typed
 * arrays (no BigIntStats on the main thread, so less garbage there), while the main thread decides,
 * compares and stores what it has.
 *
 * The main thread stays in charge: it asks for each directory it enters (`take`), tells the thread
 * about those it will not enter (`skip`), and lists a directory itself whenever the thread has no
 * listing of it (the thread ended). On slow storage the thread makes a directory's calls
 * concurrently, as the serial walk does.
 */
export class StatAhead {
  /** The thread (own) or the port to it (hosted). */
  readonly #channel: Worker | MessagePort;
  readonly #release: () => void;
  readonly #queue: (AheadListing | null)[] = [];
  #wake: (() => void) | null = null;
  #failure: Error | null = null;
  #ended = false;
  #consumed = 0;
  #reported = 0;
  #prune: Uint8Array[] = [];
  readonly #window: number;

  /** The directory it walks. */
  readonly root: Buffer;
  #closed = false;

  /**
   * Starts reading `root` (a directory) at once: started before the walk, the thread's start and
   * the first directories overlap with whatever the caller does meanwhile.
   */
  constructor(root: Buffer, options: { readonly window?: number; readonly slowCallMs?: number; readonly host?: AheadHost } = {}) {
    this.root = root;
    this.#window = Math.max(1, options.window ?? DEFAULT_WINDOW);
    const start: AheadStart = { root, window: this.#window, slowCallMs: options.slowCallMs ?? SLOW_CALL_MS };
    const lost = (why: Error) => {
      if (!this.#ended) this.#failure ??= why;
      this.#ended = true;
      this.#wakeUp();
    };
    if (options.host) {
      const { port1, port2 } = new MessageChannel();
      this.#channel = port1;
      this.#release = options.host(start, port2);
      port1.on('close', () => lost(new Error('stat-ahead thread went away')));
    } else {
      const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
      const worker = new Worker(new URL(`./stat-ahead-worker${ext}`, import.meta.url), {
        workerData: start,
        // its garbage is one BigIntStats per entry, short-lived: a small young generation keeps its RSS low
        resourceLimits: { maxYoungGenerationSizeMb: 2 },
      });
      this.#channel = worker;
      this.#release = () => void worker.terminate();
      worker.on('error', (e) => lost(e));
      worker.on('exit', (code) => lost(new Error(`stat-ahead thread exited (code ${code})`)));
    }
    this.#channel.on('message', (m: AheadListing | null) => {
      this.#queue.push(m);
      if (m === null) this.#ended = true;
      this.#wakeUp();
    });
    // never what keeps the process alive (after the listeners: a 'message' listener refs it)
    this.#channel.unref();
  }

  /**
   * The thread's listing of directory `dir` (or the error listing it gave), or null when the
   * caller must list it itself. Drops the listings of directories the walk passed over (they come
   * before `dir` in the walk's order).
   */
  async take(dir: Buffer): Promise<DirectoryStats | Error | null> {
    for (;;) {
      if (this.#failure) throw this.#failure;
      const head = this.#queue[0];
      if (head === undefined) {
        if (this.#ended) return null;
        // referenced only while waited for: a walk nobody finishes cannot hang the process
        this.#channel.ref();
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#channel.unref();
        continue;
      }
      if (head === null) return null;
      const order = compareWalkOrder(Buffer.from(head.path), dir);
      if (order > 0) return null; // the thread has no listing of it: the caller lists it
      this.#queue.shift();
      this.#consume(head.count);
      if (order === 0) return head.kind === 'listed' ? new DirectoryStats(head) : errorFromWire(head.error!);
    }
  }

  /** The walk will not enter directory `dir`: the thread need not read below it. */
  skip(dir: Buffer): void {
    if (this.#ended) return;
    this.#prune.push(dir);
    this.#report();
  }

  /** Ends the thread's walk (again: nothing). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ended = true;
    if (!(this.#channel instanceof Worker)) this.#channel.close();
    this.#release();
  }

  #consume(count: number): void {
    this.#consumed += count;
    if (this.#consumed - this.#reported >= this.#window / 4) this.#report();
  }

  #report(): void {
    const request: AheadRequest = { consumed: this.#consumed, prune: this.#prune };
    this.#channel.postMessage(request);
    this.#reported = this.#consumed;
    this.#prune = [];
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}

/** One directory's entries as the thread read them. */
export class DirectoryStats {
  /** Sorted bytewise (views into one buffer). */
  readonly names: Buffer[];
  readonly #listing: AheadListing;
  readonly #errors: Map<number, Error> | null;
  readonly #links: Map<number, Buffer> | null;

  constructor(listing: AheadListing) {
    this.#listing = listing;
    const bytes = Buffer.from(listing.names!);
    const ends = listing.ends!;
    this.names = new Array<Buffer>(ends.length);
    let start = 0;
    for (let i = 0; i < ends.length; i++) {
      this.names[i] = bytes.subarray(start, ends[i]);
      start = ends[i]!;
    }
    this.#errors = listing.errors!.length > 0 ? new Map(listing.errors!.map(([i, e]) => [i, errorFromWire(e)])) : null;
    this.#links =
      listing.links!.length > 0 ? new Map(listing.links!.map(([i, b]) => [i, Buffer.from(b.buffer, b.byteOffset, b.length)])) : null;
  }

  /** Entry i's stats; 'vanished' when it was gone before its lstat, or the error of its lstat or readlink. */
  stats(i: number): StatFields | 'vanished' | Error {
    const { status, numbers, stamps } = this.#listing;
    const s = status![i]!;
    if (s === VANISHED) return 'vanished';
    if (s === FAILED) return this.#errors!.get(i)!;
    const n = numbers!;
    const k = i * NUMBER_FIELDS;
    return {
      mode: n[k]!,
      uid: n[k + 1]!,
      gid: n[k + 2]!,
      size: n[k + 3]!,
      rdev: n[k + 4]!,
      dev: n[k + 5]!,
      blocks: n[k + 6]!,
      mtimeMs: n[k + 7]!,
      stamp: { mtimeNs: stamps![i * 3]!, ctimeNs: stamps![i * 3 + 1]!, ino: stamps![i * 3 + 2]! },
    };
  }

  /** A symlink's target (entry i). */
  linkname(i: number): Buffer | undefined {
    return this.#links?.get(i);
  }
}

/**
 * The walk's order of two directory paths below the same root: bytewise, with '/' before every
 * other byte (component by component, as the walk sorts siblings; a directory before its contents).
 */
export function compareWalkOrder(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x !== y) return x === 0x2f ? -1 : y === 0x2f ? 1 : x - y;
  }
  return a.length - b.length;
}
