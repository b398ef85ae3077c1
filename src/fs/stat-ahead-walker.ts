import { type BigIntStats, constants, promises as fsp, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import type { MessagePort } from 'node:worker_threads';
import { errorToWire, type WireError } from '../core/worker-error.ts';
import { msFromNs } from './entry-from-stat.ts';
import { type AheadListing, type AheadRequest, type AheadStart, FAILED, NUMBER_FIELDS, VANISHED } from './stat-ahead-format.ts';

/**
 * The work of the thread behind StatAhead (see there), on `port`: walks the tree depth first in
 * the walk's order (a directory's listing sorted bytewise, then each child directory in turn),
 * lstats every entry of a directory and posts the directory's names and stats packed in typed
 * arrays. It runs at most `window` entries ahead of what the main thread has consumed, and
 * leaves out the subtrees the main thread says it will not enter. A directory whose listing or
 * lstat calls turn out slow (cold storage) gets the rest of its lstat calls concurrently on the
 * thread pool, as the serial walk does; here that never holds up the main thread.
 */
const { S_IFMT, S_IFLNK, S_IFDIR } = constants;
const SLASH = 0x2f;
/** A listing slower than this (ms) had to read the disk (walk.ts's rule). */
const SLOW_LISTING_MS = 1;
/** Consecutive slow lstat calls before a directory counts as slow (walk.ts's rule). */
const SLOW_RUN = 2;
/** Concurrent lstat calls for a slow directory (walk.ts's default window). */
const CONCURRENT_CALLS = 32;

/** What the walk talks through: a worker's parentPort, or a MessagePort handed to a thread. */
export type AheadPort = Pick<MessagePort, 'on' | 'postMessage'>;

/** Walks ahead on `port` (a worker's parentPort or a port handed to a thread) until it closes. */
export function runStatAhead(port: AheadPort, start: AheadStart): void {
  /** Directories still to list, the next one last. */
  const stack: Buffer[] = [Buffer.from(start.root)];
  /** Paths (latin1) of directories the main thread will not enter. */
  const pruned = new Set<string>();
  let sent = 0;
  let consumed = 0;
  let scheduled = false;
  let ended = false;
  /** A directory's concurrent calls are under way. */
  let waiting = false;

  port.on('message', (msg: AheadRequest) => {
    consumed = Math.max(consumed, msg.consumed);
    for (const p of msg.prune) pruned.add(Buffer.from(p).toString('latin1'));
    schedule();
  });
  // the main thread closed its end: the walk is over
  port.on('close', () => {
    stack.length = 0;
    ended = true;
  });
  schedule();

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    // one directory per turn of the event loop, so that acknowledgements and prunes arrive between
    setImmediate(step);
  }

  function step(): void {
    scheduled = false;
    if (waiting) return;
    while (stack.length > 0 && sent - consumed < start.window) {
      const dir = stack.pop()!;
      if (isPruned(dir)) continue;
      const listing = listDirectory(dir);
      if (listing instanceof Promise) {
        waiting = true;
        void listing.then((l) => {
          waiting = false;
          post(l);
          schedule();
        });
        return;
      }
      post(listing);
      if (stack.length > 0 && sent - consumed < start.window) {
        schedule();
        return;
      }
    }
    if (stack.length === 0 && !ended) {
      ended = true;
      port.postMessage(null); // the end of the walk
    }
  }

  function post(listing: AheadListing): void {
    if (ended) return; // the main thread closed its end meanwhile
    sent += listing.count;
    const transfer = listing.names
      ? [listing.names, listing.ends!.buffer, listing.numbers!.buffer, listing.stamps!.buffer, listing.status!.buffer]
      : [];
    port.postMessage(listing, transfer as ArrayBuffer[]);
  }

  function isPruned(dir: Buffer): boolean {
    if (pruned.size === 0) return false;
    let p = dir.toString('latin1');
    const rootLength = start.root.length;
    while (p.length > rootLength) {
      if (pruned.has(p)) return true;
      p = p.slice(0, p.lastIndexOf('/'));
    }
    return false;
  }

  function listDirectory(dir: Buffer): AheadListing | Promise<AheadListing> {
    const path = dir.buffer.slice(dir.byteOffset, dir.byteOffset + dir.length) as ArrayBuffer;
    let listing: string[];
    const t0 = performance.now();
    try {
      listing = readdirSync(dir, { encoding: 'latin1' });
    } catch (e) {
      return { path, kind: 'error', error: errorToWire(e), count: 0 };
    }
    // a listing that went to the disk means a cold directory: its inodes will be cold too
    const coldListing = performance.now() - t0 > SLOW_LISTING_MS;
    listing.sort();
    const n = listing.length;
    let total = 0;
    for (const name of listing) total += name.length;
    const names = Buffer.allocUnsafeSlow(total);
    const ends = new Uint32Array(n);
    let offset = 0;
    for (let i = 0; i < n; i++) {
      offset += names.write(listing[i]!, offset, 'latin1');
      ends[i] = offset;
    }
    const prefix = dir[dir.length - 1] === SLASH ? dir : Buffer.concat([dir, Buffer.of(SLASH)]);
    const childPath = (i: number): Buffer => Buffer.concat([prefix, names.subarray(i === 0 ? 0 : ends[i - 1]!, ends[i]!)]);
    const numbers = new Float64Array(n * NUMBER_FIELDS);
    const stamps = new BigInt64Array(n * 3);
    const status = new Uint8Array(n);
    const isDir = new Uint8Array(n);
    const errors: [number, WireError][] = [];
    const links: [number, Uint8Array][] = [];
    const store = (i: number, st: BigIntStats, linkname: Buffer | null): void => {
      const mode = Number(st.mode);
      if (linkname !== null) links.push([i, linkname]);
      const k = i * NUMBER_FIELDS;
      numbers[k] = mode;
      numbers[k + 1] = Number(st.uid);
      numbers[k + 2] = Number(st.gid);
      numbers[k + 3] = Number(st.size);
      numbers[k + 4] = Number(st.rdev);
      numbers[k + 5] = Number(st.dev);
      numbers[k + 6] = Number(st.blocks);
      numbers[k + 7] = msFromNs(st.mtimeNs);
      stamps[i * 3] = st.mtimeNs;
      stamps[i * 3 + 1] = st.ctimeNs;
      stamps[i * 3 + 2] = st.ino;
      if ((mode & S_IFMT) === S_IFDIR) isDir[i] = 1;
    };
    const fail = (i: number, e: unknown): void => {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR')
        status[i] = VANISHED; // gone since the listing
      else {
        status[i] = FAILED;
        errors.push([i, errorToWire(e)]);
      }
    };
    const finish = (): AheadListing => {
      // a directory's path waits on the stack: copied out of Buffer.concat's 64 KiB pool block, which
      // it would keep alive (a stack of a few hundred directories pinned ~15 MiB at a million files)
      for (let i = n - 1; i >= 0; i--) if (isDir[i]) stack.push(ownCopy(childPath(i)));
      return { path, kind: 'listed', count: n, names: names.buffer as ArrayBuffer, ends, numbers, stamps, status, errors, links };
    };

    let i = 0;
    if (!coldListing) {
      let slowRun = 0;
      while (i < n) {
        const child = childPath(i);
        const t1 = performance.now();
        try {
          const st = lstatSync(child, { bigint: true });
          store(i, st, (Number(st.mode) & S_IFMT) === S_IFLNK ? readlinkSync(child, { encoding: 'buffer' }) : null);
        } catch (e) {
          fail(i, e);
        }
        i++;
        if (performance.now() - t1 <= start.slowCallMs) slowRun = 0;
        else if (++slowRun >= SLOW_RUN) break;
      }
    }
    if (i === n) return finish();
    // cold storage: the rest of the directory with concurrent calls (walk.ts's async mode, here)
    let next = i;
    const statNext = async (): Promise<void> => {
      while (next < n) {
        const k = next++;
        const child = childPath(k);
        try {
          const st = await fsp.lstat(child, { bigint: true });
          store(k, st, (Number(st.mode) & S_IFMT) === S_IFLNK ? await fsp.readlink(child, { encoding: 'buffer' }) : null);
        } catch (e) {
          fail(k, e);
        }
      }
    };
    return Promise.all(Array.from({ length: Math.min(CONCURRENT_CALLS, n - i) }, statNext)).then(finish);
  }
}

/** `b` in a buffer of its own (Buffer.from would slice the shared pool again). */
function ownCopy(b: Buffer): Buffer {
  const own = Buffer.allocUnsafeSlow(b.length);
  b.copy(own);
  return own;
}
