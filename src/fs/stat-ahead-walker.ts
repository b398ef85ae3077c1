import { constants, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import type { MessagePort } from 'node:worker_threads';
import { errorToWire, type WireError } from '../core/worker-error.ts';
import { msFromNs } from './entry-from-stat.ts';
import { type AheadListing, type AheadRequest, type AheadStart, FAILED, NUMBER_FIELDS, VANISHED } from './stat-ahead-format.ts';

/**
 * The work of the thread behind StatAhead (see there), on `port`: walks the tree depth first in the walk's order (a
 * directory's listing sorted bytewise, then each child directory in turn), lstats every entry of
 * a directory and posts the directory's names and stats packed in typed arrays. It runs at most
 * `window` entries ahead of what the main thread has consumed, and leaves out the subtrees the
 * main thread says it will not enter. A directory whose listing or lstat calls turn out slow (cold
 * storage) is posted as 'slow' without stats and not entered: the main thread walks it itself
 * with concurrent calls.
 */
const { S_IFMT, S_IFLNK, S_IFDIR } = constants;
const SLASH = 0x2f;
/** A listing slower than this (ms) had to read the disk (walk.ts's rule). */
const SLOW_LISTING_MS = 1;
/**
 * Consecutive slow lstat calls before a directory counts as slow: more than the main thread's 2,
 * because here a call preempted by another thread only delays this thread, not the walk.
 */
const SLOW_RUN = 4;

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
    while (stack.length > 0 && sent - consumed < start.window) {
      const dir = stack.pop()!;
      if (isPruned(dir)) continue;
      const listing = listDirectory(dir);
      sent += listing.count;
      const transfer = listing.names
        ? [listing.names, listing.ends!.buffer, listing.numbers!.buffer, listing.stamps!.buffer, listing.status!.buffer]
        : [];
      port.postMessage(listing, transfer as ArrayBuffer[]);
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

  function listDirectory(dir: Buffer): AheadListing {
    const path = dir.buffer.slice(dir.byteOffset, dir.byteOffset + dir.length) as ArrayBuffer;
    let listing: string[];
    const t0 = performance.now();
    try {
      listing = readdirSync(dir, { encoding: 'latin1' });
    } catch (e) {
      return { path, kind: 'error', error: errorToWire(e), count: 0 };
    }
    if (performance.now() - t0 > SLOW_LISTING_MS) return { path, kind: 'slow', count: 0 };
    listing.sort();
    const n = listing.length;
    let total = 0;
    for (const name of listing) total += name.length;
    const names = Buffer.allocUnsafeSlow(total);
    const ends = new Uint32Array(n);
    const numbers = new Float64Array(n * NUMBER_FIELDS);
    const stamps = new BigInt64Array(n * 3);
    const status = new Uint8Array(n);
    const errors: [number, WireError][] = [];
    const links: [number, Uint8Array][] = [];
    const childDirs: Buffer[] = [];
    const prefix = dir[dir.length - 1] === SLASH ? dir : Buffer.concat([dir, Buffer.of(SLASH)]);
    let offset = 0;
    let slowRun = 0;
    for (let i = 0; i < n; i++) {
      const nameLength = names.write(listing[i]!, offset, 'latin1');
      const name = names.subarray(offset, offset + nameLength);
      offset += nameLength;
      ends[i] = offset;
      const child = Buffer.concat([prefix, name]);
      const t1 = performance.now();
      try {
        const st = lstatSync(child, { bigint: true });
        const mode = Number(st.mode);
        if ((mode & S_IFMT) === S_IFLNK) links.push([i, readlinkSync(child, { encoding: 'buffer' })]);
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
        if ((mode & S_IFMT) === S_IFDIR) childDirs.push(child);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') status[i] = VANISHED;
        else {
          status[i] = FAILED;
          errors.push([i, errorToWire(e)]);
        }
      }
      if (performance.now() - t1 <= start.slowCallMs) slowRun = 0;
      else if (++slowRun >= SLOW_RUN) return { path, kind: 'slow', count: 0 };
    }
    for (let k = childDirs.length - 1; k >= 0; k--) stack.push(childDirs[k]!);
    return { path, kind: 'listed', count: n, names: names.buffer as ArrayBuffer, ends, numbers, stamps, status, errors, links };
  }
}
