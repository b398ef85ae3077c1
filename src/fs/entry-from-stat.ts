import { constants, promises as fsp, type BigIntStats, type Stats } from 'node:fs';
import type { EntryMeta, EntryType } from '../core/entry.ts';
import type { FileStamp } from '../core/file-stamp.ts';
import type { PathIndex } from '../core/path-index.ts';
import type { IdNames } from './ids.ts';

const { S_IFMT, S_IFREG, S_IFDIR, S_IFLNK, S_IFIFO, S_IFCHR, S_IFBLK } = constants;
const EMPTY = Buffer.alloc(0);
const TWO_32 = 2 ** 32;

/** The stored type for an st_mode; null for sockets and anything else duplicity skips. */
export function entryTypeOf(mode: number): EntryType | null {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return 'reg';
    case S_IFDIR:
      return 'dir';
    case S_IFLNK:
      return 'sym';
    case S_IFIFO:
      return 'fifo';
    case S_IFCHR:
      return 'chr';
    case S_IFBLK:
      return 'blk';
    default:
      return null;
  }
}

/** S_IMODE: permissions plus setuid, setgid and sticky. */
export function imode(mode: number): number {
  return mode & 0o7777;
}

/**
 * Python's `int(st_mtime)`: truncation toward zero, so -1.5 s becomes -1. Node's mtimeMs and
 * Python's st_mtime are both doubles rounded from (sec, nsec); they can disagree only when nsec
 * lies within a few nanoseconds of a second boundary.
 */
export function mtimeSeconds(mtimeMs: number): number {
  return Math.trunc(mtimeMs / 1000) + 0; // + 0 turns -0 into 0
}

/** glibc's gnu_dev_major for a Linux dev_t (held exactly in a double below 2^53). */
export function devMajor(rdev: number): number {
  const hi = Math.floor(rdev / TWO_32);
  const lo = rdev % TWO_32;
  return ((lo >>> 8) & 0xfff) | ((hi & 0xfffff000) >>> 0);
}

/** glibc's gnu_dev_minor. */
export function devMinor(rdev: number): number {
  const hi = Math.floor(rdev / TWO_32);
  const lo = rdev % TWO_32;
  return ((lo & 0xff) | ((lo >>> 12) & 0xfff00)) + (hi & 0xfff) * 0x100000;
}

/** The lstat fields entry metadata is made of. */
export type MetaStats = Pick<Stats, 'mode' | 'uid' | 'gid' | 'size' | 'rdev' | 'mtimeMs'>;

/**
 * The fields of a bigint lstat the walk uses, as numbers, plus the stamp (exact nanosecond times,
 * which the number form rounds to about a quarter of a microsecond).
 */
export interface StatFields extends MetaStats {
  readonly dev: number;
  /** 512-byte blocks allocated (fewer than the size needs: the file has holes) */
  readonly blocks: number;
  readonly stamp: FileStamp;
}

export function statFields(st: BigIntStats): StatFields {
  return {
    mode: Number(st.mode),
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: Number(st.size),
    rdev: Number(st.rdev),
    dev: Number(st.dev),
    blocks: Number(st.blocks),
    mtimeMs: msFromNs(st.mtimeNs),
    stamp: { mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs, ino: st.ino },
  };
}

const NS_PER_SEC = 1_000_000_000n;

/**
 * The double Node's number lstat gives as mtimeMs (sec * 1e3 + nsec / 1e6, the same operations in
 * the same order), so that mtimeSeconds keeps rounding as python's st_mtime does.
 */
export function msFromNs(ns: bigint): number {
  let sec = ns / NS_PER_SEC;
  let nsec = ns % NS_PER_SEC;
  if (nsec < 0n) {
    sec -= 1n;
    nsec += NS_PER_SEC;
  }
  return Number(sec) * 1e3 + Number(nsec) / 1e6;
}

/** EntryMeta for an lstat result; null when the type is not stored (sockets). */
export function entryFromStats(index: PathIndex, st: MetaStats, linkname: Buffer, ids: IdNames): EntryMeta | null {
  const type = entryTypeOf(st.mode);
  if (type === null) return null;
  const isDev = type === 'chr' || type === 'blk';
  return {
    index,
    type,
    mode: imode(st.mode),
    uid: st.uid,
    gid: st.gid,
    uname: ids.userName(st.uid),
    gname: ids.groupName(st.gid),
    mtime: mtimeSeconds(st.mtimeMs),
    size: type === 'reg' ? st.size : 0,
    linkname: type === 'sym' ? linkname : EMPTY,
    devmajor: isDev ? devMajor(st.rdev) : 0,
    devminor: isDev ? devMinor(st.rdev) : 0,
  };
}

export interface StatEntry {
  readonly meta: EntryMeta;
  readonly stats: Stats;
}

/**
 * lstat (and readlink for symlinks) of one path. Returns null for sockets and other skipped
 * types; file-system errors propagate to the caller.
 */
export async function lstatEntry(path: Buffer, index: PathIndex, ids: IdNames): Promise<StatEntry | null> {
  const stats = await fsp.lstat(path, { bigint: false });
  const linkname = (stats.mode & S_IFMT) === S_IFLNK ? await fsp.readlink(path, { encoding: 'buffer' }) : EMPTY;
  const meta = entryFromStats(index, stats, linkname, ids);
  return meta === null ? null : { meta, stats };
}
