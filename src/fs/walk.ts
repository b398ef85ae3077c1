import { constants, lstatSync, promises as fsp, readdirSync, readlinkSync, type Stats } from 'node:fs';
import type { EntryMeta } from '../core/entry.ts';
import type { FileStamp } from '../core/file-stamp.ts';
import { hasHoles } from '../core/holes.ts';
import { ROOT_INDEX, type PathIndex } from '../core/path-index.ts';
import { entryFromStats, statFields, type StatFields } from './entry-from-stat.ts';
import { IdNames } from './ids.ts';
import type { Selection } from './selection.ts';
import { type AheadHost, type DirectoryStats, StatAhead } from './stat-ahead.ts';

/** One selected path of the source tree. `path` is the file-system path (root joined with the index). */
export interface WalkEntry {
  readonly meta: EntryMeta;
  readonly path: Buffer;
  /** A regular file's stamp, for change detection; null for other types. */
  readonly stamp: FileStamp | null;
  /** A regular file with holes (see core/holes.ts); a backup records it, and the estimate counts that record. */
  readonly sparse: boolean;
}

/** Called for each path that cannot be read; the walk skips it and goes on. */
export type WalkErrorHandler = (path: Buffer, error: Error) => void;

export interface WalkOptions {
  readonly ids?: IdNames;
  /**
   * How entries are lstat'ed. 'sync': one synchronous call at a time, the fastest while the
   * metadata is in the page cache (no thread-pool round trip). 'async': a window of
   * statConcurrency concurrent calls per directory, for slow storage (cold cache, network file
   * systems). 'adaptive' (default): synchronous, and a directory switches to the async window
   * as soon as its calls turn out slow.
   */
  readonly statMode?: 'adaptive' | 'sync' | 'async';
  /** Window of concurrent lstat calls per directory in async mode (default 32). */
  readonly statConcurrency?: number;
  /** Adaptive mode: a synchronous lstat slower than this many ms counts as slow (default 0.05). */
  readonly slowCallMs?: number;
  /**
   * List and lstat on a second thread that walks ahead (stat-ahead.ts), in 'sync' and 'adaptive'
   * mode: true for a thread of its own, a host that runs it on a thread that exists, or one
   * started earlier on this root (the walk closes it). For walks of many entries (a backup), where
   * the thread pays for itself.
   */
  readonly statThread?: boolean | AheadHost | StatAhead;
}

const EMPTY = Buffer.alloc(0);
const SLASH = Buffer.from('/');
const { S_IFMT, S_IFLNK, S_IFDIR, S_IFREG } = constants;
/** A synchronous lstat slower than this (ms) went to the disk rather than the cache. */
const SLOW_CALL_MS = 0.05;
/** Consecutive slow calls before a directory switches to concurrent async calls. */
const SLOW_RUN = 2;
/** A synchronous readdir slower than this (ms) had to read the disk. */
const SLOW_LISTING_MS = 1;

/**
 * Duplicity's source iteration (`Select.Iterate`): the root first, then every selected entry in
 * index order (siblings sorted bytewise, a directory before its contents, depth first).
 *
 * A directory that the rules only "scan" is yielded just before the first entry below it that is
 * included, and not at all if there is none. Memory is one sorted name list plus a window of
 * lstat results per directory level: O(depth x width).
 *
 * Errors below the root go to onError and the entry is skipped: an lstat or readlink failure, a
 * directory that cannot be listed (it is still yielded, empty, as duplicity does), and a regular
 * file or directory the process may not read. A path that vanished between readdir and lstat is
 * skipped silently. The root must exist; if it is a symlink it is yielded as such, not followed.
 */
export async function* walkSource(
  root: Buffer,
  selection: Selection,
  onError: WalkErrorHandler,
  options: WalkOptions = {},
): AsyncGenerator<WalkEntry> {
  const ids = options.ids ?? new IdNames();
  const mode = options.statMode ?? 'adaptive';
  const window = Math.max(1, options.statConcurrency ?? 32);
  const slowCallMs = options.slowCallMs ?? SLOW_CALL_MS;
  const access = new AccessCheck();
  const markerNames = selection.markerNames;
  const needsNames = selection.needsNames;

  const rootStats = statFields(await fsp.lstat(root, { bigint: true }));
  const rootMeta = entryFromStats(ROOT_INDEX, rootStats, await readlinkIf(root, rootStats), ids);
  if (rootMeta === null) throw new Error(`backup source ${root.toString()} is a socket or of an unknown type`);
  yield {
    meta: rootMeta,
    path: root,
    stamp: rootMeta.type === 'reg' ? rootStats.stamp : null,
    sparse: rootMeta.type === 'reg' && hasHoles(rootStats.size, rootStats.blocks),
  };
  if (rootMeta.type !== 'dir') return;

  const ahead = startAhead(root, options.statThread, mode, slowCallMs);

  const finish = (path: Buffer, index: PathIndex, stats: StatFields, linkname: Buffer, markers: readonly boolean[] | null): Prepared => {
    const meta = entryFromStats(index, stats, linkname, ids);
    return meta === null ? SKIP : { meta, stats, path, markers }; // null: a socket
  };

  const prepareSync = (path: Buffer, index: PathIndex): Prepared => {
    let stats: StatFields;
    let linkname = EMPTY;
    try {
      // bigint: the exact nanosecond times and inode for change detection, at no extra syscall
      stats = statFields(lstatSync(path, { bigint: true }));
      if ((stats.mode & S_IFMT) === S_IFLNK) linkname = readlinkSync(path, { encoding: 'buffer' });
    } catch (e) {
      return vanished(e) ? SKIP : { error: e as Error, path };
    }
    const markers = (stats.mode & S_IFMT) === S_IFDIR && markerNames.length > 0 ? markersPresentSync(path, markerNames) : null;
    return finish(path, index, stats, linkname, markers);
  };

  const prepareAhead = (frame: Frame, dir: DirectoryStats, i: number): Prepared => {
    const component = frame.names[i]!;
    const path = joinPath(frame.prefix, component);
    const stats = dir.stats(i);
    if (stats === 'vanished') return SKIP;
    if (stats instanceof Error) return { error: stats, path };
    const kind = stats.mode & S_IFMT;
    const linkname = kind === S_IFLNK ? (dir.linkname(i) ?? EMPTY) : EMPTY;
    const markers = kind === S_IFDIR && markerNames.length > 0 ? markersPresentSync(path, markerNames) : null;
    return finish(path, [...frame.index, component], stats, linkname, markers);
  };

  const prepareAsync = async (path: Buffer, index: PathIndex): Promise<Prepared> => {
    let stats: StatFields;
    let linkname = EMPTY;
    try {
      stats = statFields(await fsp.lstat(path, { bigint: true }));
      if ((stats.mode & S_IFMT) === S_IFLNK) linkname = await fsp.readlink(path, { encoding: 'buffer' });
    } catch (e) {
      return vanished(e) ? SKIP : { error: e as Error, path };
    }
    const markers = (stats.mode & S_IFMT) === S_IFDIR && markerNames.length > 0 ? await markersPresent(path, markerNames) : null;
    return finish(path, index, stats, linkname, markers);
  };

  const openFrame = async (path: Buffer, index: PathIndex, name: string, delayed: WalkEntry | null): Promise<Frame | null> => {
    const read = ahead === null ? null : await ahead.take(path);
    if (read instanceof Error) {
      if (!vanished(read)) onError(path, read);
      return null;
    }
    const prefix = path.length > 0 && path[path.length - 1] === 0x2f ? path : withSlash(path);
    if (read !== null) {
      return { index, prefix, name, names: read.names, next: 0, started: 0, pending: null, slowRun: 0, delayed, ahead: read };
    }
    let names: Buffer[];
    let isAsync = mode === 'async';
    try {
      let listing: string[];
      if (mode === 'async') {
        listing = await fsp.readdir(path, { encoding: 'latin1' });
      } else {
        // Listings are one call per directory; synchronous is cheapest, even when slow.
        const t0 = performance.now();
        listing = readdirSync(path, { encoding: 'latin1' });
        // A listing that went to the disk means a cold directory: its inodes will be cold too.
        isAsync = mode === 'adaptive' && performance.now() - t0 > SLOW_LISTING_MS;
      }
      names = sortedNames(listing);
    } catch (e) {
      if (!vanished(e)) onError(path, e as Error);
      return null;
    }
    return {
      index,
      prefix,
      name,
      names,
      next: 0,
      started: 0,
      pending: isAsync ? new Array(names.length) : null,
      slowRun: 0,
      delayed,
      ahead: null,
    };
  };

  // the stat-ahead thread ends with the walk, however the walk ends (a consumer may stop early)
  try {
    const stack: Frame[] = [];
    const rootFrame = await openFrame(root, ROOT_INDEX, selection.rootName, null);
    if (rootFrame !== null) stack.push(rootFrame);

    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      if (frame.next >= frame.names.length) {
        stack.pop();
        continue;
      }
      const i = frame.next++;
      let prepared: Prepared;
      if (frame.ahead !== null) {
        prepared = prepareAhead(frame, frame.ahead, i);
      } else if (frame.pending === null) {
        const t0 = performance.now();
        prepared = prepareSync(joinPath(frame.prefix, frame.names[i]!), [...frame.index, frame.names[i]!]);
        if (mode === 'adaptive') {
          if (performance.now() - t0 <= slowCallMs) frame.slowRun = 0;
          else if (++frame.slowRun >= SLOW_RUN) {
            frame.pending = new Array(frame.names.length);
            frame.started = frame.next;
          }
        }
      } else {
        const pending = frame.pending;
        const limit = Math.min(frame.names.length, i + window);
        while (frame.started < limit) {
          const k = frame.started++;
          const component = frame.names[k]!;
          pending[k] = prepareAsync(Buffer.concat([frame.prefix, component]), [...frame.index, component]);
        }
        prepared = await pending[i]!;
        pending[i] = undefined;
      }
      if (prepared === SKIP) continue;
      if ('error' in prepared) {
        onError(prepared.path, prepared.error);
        continue;
      }

      const { meta, stats, path } = prepared;
      const name = needsNames ? selection.childName(frame.name, frame.names[i]!) : '';
      const decision = selection.decide({
        name,
        type: meta.type,
        dev: stats.dev,
        mtimeMs: stats.mtimeMs,
        markers: prepared.markers,
        index: meta.index,
      });
      if (decision === 'exclude') {
        if (meta.type === 'dir') ahead?.skip(path);
        continue;
      }
      if ((meta.type === 'reg' || meta.type === 'dir') && !access.surelyReadable(stats) && !(await access.canRead(path))) {
        onError(path, Object.assign(new Error(`permission denied reading ${path.toString()}`), { code: 'EACCES' }));
        if (meta.type === 'dir') ahead?.skip(path);
        continue;
      }
      if (decision === 'scan' && meta.type !== 'dir') continue;

      const entry: WalkEntry = {
        meta,
        path,
        stamp: meta.type === 'reg' ? stats.stamp : null,
        sparse: meta.type === 'reg' && hasHoles(stats.size, stats.blocks),
      };
      if (decision === 'include') {
        if (frame.delayed !== null) yield* flushDelayed(stack);
        yield entry;
      }
      if (meta.type === 'dir') {
        const child = await openFrame(path, meta.index, name, decision === 'scan' ? entry : null);
        if (child !== null) stack.push(child);
      }
    }
  } finally {
    ahead?.close();
  }
}

/** A directory's prefix and a name, in a buffer of their own: Buffer.concat's list and checks cost more, per entry. */
function joinPath(prefix: Buffer, name: Buffer): Buffer {
  const out = Buffer.allocUnsafe(prefix.length + name.length);
  out.set(prefix, 0);
  out.set(name, prefix.length);
  return out;
}

function startAhead(root: Buffer, option: WalkOptions['statThread'], mode: string, slowCallMs: number): StatAhead | null {
  if (option instanceof StatAhead) {
    if (!option.root.equals(root)) throw new Error('walkSource: the stat-ahead thread reads another directory');
    return option;
  }
  if (!option || mode === 'async') return null;
  return new StatAhead(root, { slowCallMs, ...(typeof option === 'function' ? { host: option } : {}) });
}

interface Frame {
  readonly index: PathIndex;
  /** The directory's path with a trailing '/'. */
  readonly prefix: Buffer;
  /** Decoded full name, for the selection rules ('' when they do not look at names). */
  readonly name: string;
  readonly names: Buffer[];
  next: number;
  /** Async mode: children whose lstat has been started; null while the frame is synchronous. */
  started: number;
  pending: (Promise<Prepared> | undefined)[] | null;
  /** Consecutive slow synchronous calls (adaptive mode). */
  slowRun: number;
  /** A scanned directory not yielded yet; yielded once something below it is included. */
  delayed: WalkEntry | null;
  /** The stat-ahead thread's listing and stats of the directory; null when listed here. */
  readonly ahead: DirectoryStats | null;
}

interface Ready {
  readonly meta: EntryMeta;
  readonly stats: StatFields;
  readonly path: Buffer;
  readonly markers: readonly boolean[] | null;
}
interface Failed {
  readonly error: Error;
  readonly path: Buffer;
}
const SKIP = Symbol('skip');
type Prepared = Ready | Failed | typeof SKIP;

/** Delayed directories always form the top of the stack; yield them outermost first. */
function* flushDelayed(stack: Frame[]): Generator<WalkEntry> {
  let first = stack.length;
  while (first > 0 && stack[first - 1]!.delayed !== null) first--;
  for (let k = first; k < stack.length; k++) {
    const frame = stack[k]!;
    yield frame.delayed!;
    frame.delayed = null;
  }
}

/**
 * A listing read as latin1 (one char per byte, so nothing is lost whatever the names' encoding),
 * sorted bytewise (latin1 char codes are the bytes) and turned into name buffers. Half the CPU of
 * a listing as buffers, which makes a separately allocated buffer per name (bench/walk.ts).
 */
/**
 * The names as buffers, views of one buffer of the listing's own: they live as long as their
 * directory is walked, and small buffers from Node's shared 64 KiB pool would keep the whole pool
 * block alive that long, with everything else cut from it meanwhile, until V8 moves it to the old
 * generation, where it waits for a full GC (bench/RESULTS.md, issue 18, session 6: memory).
 */
function sortedNames(listing: string[]): Buffer[] {
  listing.sort();
  let total = 0;
  for (const name of listing) total += name.length;
  const block = Buffer.allocUnsafeSlow(total);
  const names = new Array<Buffer>(listing.length);
  let at = 0;
  for (let i = 0; i < listing.length; i++) {
    const name = listing[i]!;
    // latin1: one byte per char, so the string's length is the name's
    block.write(name, at, name.length, 'latin1');
    names[i] = block.subarray(at, at + name.length);
    at += name.length;
  }
  return names;
}

/** `dir` and a slash, in a buffer of its own (see sortedNames). */
function withSlash(dir: Buffer): Buffer {
  const out = Buffer.allocUnsafeSlow(dir.length + 1);
  dir.copy(out, 0);
  out[dir.length] = 0x2f;
  return out;
}

function isPlainName(name: Buffer): boolean {
  if (name.length === 0 || name.includes(0x2f) || name.includes(0)) return false;
  return !(name[0] === 0x2e && (name.length === 1 || (name.length === 2 && name[1] === 0x2e)));
}

function vanished(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function readlinkIf(path: Buffer, stats: Pick<Stats, 'mode'>): Promise<Buffer> {
  return (stats.mode & S_IFMT) === S_IFLNK ? fsp.readlink(path, { encoding: 'buffer' }) : EMPTY;
}

/**
 * exclude-if-present: whether each marker is an entry of the directory. An lstat of dir/marker
 * answers that without listing the directory; when the directory cannot be searched (no x
 * permission) fall back to listing it as duplicity does. null when neither works.
 */
async function markersPresent(dir: Buffer, markers: readonly Buffer[]): Promise<boolean[] | null> {
  const out: boolean[] = [];
  for (const marker of markers) {
    if (!isPlainName(marker)) {
      out.push(false); // never an entry of a listing, though lstat would resolve it
      continue;
    }
    try {
      await fsp.lstat(Buffer.concat([dir, SLASH, marker]));
      out.push(true);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        out.push(false);
        continue;
      }
      try {
        const names = await fsp.readdir(dir, { encoding: 'buffer' });
        return markers.map((m) => names.some((n) => n.equals(m)));
      } catch {
        return null;
      }
    }
  }
  return out;
}

function markersPresentSync(dir: Buffer, markers: readonly Buffer[]): boolean[] | null {
  const out: boolean[] = [];
  for (const marker of markers) {
    if (!isPlainName(marker)) {
      out.push(false); // never an entry of a listing, though lstat would resolve it
      continue;
    }
    try {
      lstatSync(Buffer.concat([dir, SLASH, marker]));
      out.push(true);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        out.push(false);
        continue;
      }
      try {
        const names = readdirSync(dir, { encoding: 'buffer' });
        return markers.map((m) => names.some((n) => n.equals(m)));
      } catch {
        return null;
      }
    }
  }
  return out;
}

/**
 * Duplicity skips (with a warning) regular files and directories that `os.access(R_OK)` denies.
 * Root passes that check for every file, so it is skipped; otherwise the mode bits decide and
 * access(2) confirms a denial (ACLs can grant more than the bits say).
 */
class AccessCheck {
  readonly #uid = process.geteuid?.() ?? 0;
  readonly #groups = new Set<number>([process.getegid?.() ?? 0, ...(process.getgroups?.() ?? [])]);

  /** True when no access(2) call is needed: root, or the mode bits grant read. */
  surelyReadable(st: Pick<Stats, 'mode' | 'uid' | 'gid'>): boolean {
    if (this.#uid === 0) return true;
    const kind = st.mode & S_IFMT;
    if (kind !== S_IFREG && kind !== S_IFDIR) return true;
    const bit = st.uid === this.#uid ? 0o400 : this.#groups.has(st.gid) ? 0o040 : 0o004;
    return (st.mode & bit) !== 0;
  }

  async canRead(path: Buffer): Promise<boolean> {
    try {
      await fsp.access(path, constants.R_OK);
      return true;
    } catch {
      return false;
    }
  }
}
