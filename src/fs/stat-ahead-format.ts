import type { WireError } from '../core/worker-error.ts';

/** What the stat-ahead thread is started with. */
export interface AheadStart {
  /** The walk's root (a directory), bytes. */
  readonly root: Uint8Array;
  /** Entries it may post beyond those the main thread has consumed. */
  readonly window: number;
  /** An lstat slower than this (ms) counts as slow. */
  readonly slowCallMs: number;
}

/** Main thread to stat-ahead thread. */
export interface AheadRequest {
  /** Entries consumed so far (all posted listings up to some point). */
  readonly consumed: number;
  /** Directories (paths) the walk will not enter: their subtrees need no listing. */
  readonly prune: readonly Uint8Array[];
}

/**
 * One directory as the stat-ahead thread read it ('listed': names sorted bytewise, with their
 * stats; 'error': the listing failed). The thread posts null at the end of its walk.
 */
export interface AheadListing {
  readonly path: ArrayBuffer;
  readonly kind: 'listed' | 'error';
  /** Entries posted (the listing's length; 0 for 'error'). */
  readonly count: number;
  readonly error?: WireError;
  /** The names' bytes end to end; name i ends at ends[i]. */
  readonly names?: ArrayBuffer;
  readonly ends?: Uint32Array;
  /** NUMBER_FIELDS per entry: mode, uid, gid, size, rdev, dev, blocks, mtimeMs. */
  readonly numbers?: Float64Array;
  /** 3 per entry: mtime and ctime in ns, inode, as the bigint lstat gives them. */
  readonly stamps?: BigInt64Array;
  /** Per entry: 0 stat'ed, VANISHED (gone before its lstat), FAILED (error in `errors`). */
  readonly status?: Uint8Array;
  readonly errors?: readonly [number, WireError][];
  /** Symlinks' targets. */
  readonly links?: readonly [number, Uint8Array][];
}

export const NUMBER_FIELDS = 8;
export const VANISHED = 1;
export const FAILED = 2;
