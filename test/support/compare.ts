/**
 * Exact comparison of two trees on disk (typically a snapshot of the source and a restore).
 *
 * The default is strict about everything duplicity restores: entry types, regular-file content
 * (sha1), permission bits including setuid/setgid/sticky (S_IMODE), uid and gid, whole-second
 * mtimes of files, directories and fifos, symlink targets (raw bytes), device numbers, and the
 * root directory's own metadata. Not compared, because duplicity does not keep them: symlink mtimes
 * (`ROPath.copy()` skips them), atimes, ctimes, hard-link identity (links are stored as separate
 * files), xattrs and ACLs.
 *
 * Known limitations of duplicity's *format* are opt-in relaxations, never silent defaults: see
 * DUPLICITY_FORMAT_LIMITS.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { kindOf, mtimeSeconds, showPath, walkTree } from './walk.ts';

export interface CompareOptions {
  /** Compare uid and gid (default true). */
  readonly owner?: boolean;
  /** Compare mtimes of directories (default true). */
  readonly dirMtime?: boolean;
  /** Compare mtimes of symlinks (default false: duplicity does not restore them). */
  readonly symlinkMtime?: boolean;
  /** Compare the roots' own mode, owner and mtime, not just their contents (default true). */
  readonly rootMeta?: boolean;
  /**
   * What a restore is expected to show for a source mtime. Default: the same value. Duplicity
   * writes `int(st_mtime)` clamped at 0 (`ROPath.get_tarinfo()`), so negative mtimes come back as 0.
   */
  readonly expectedMtime?: (sourceMtime: number) => number;
  /** Also accept this mtime (e.g. either duplicity's 0 or the exact time, in mixed chains). */
  readonly alsoAcceptMtime?: (sourceMtime: number) => number;
  /** Stop after this many differences (default 200). */
  readonly maxDifferences?: number;
}

/**
 * What duplicity 0.8.22 and 3.x cannot carry, verified by test/interop/harness.test.ts:
 * - mtimes before 1970 are stored, and so restored, as 0.
 */
export const DUPLICITY_FORMAT_LIMITS: CompareOptions = Object.freeze({
  expectedMtime: (m: number) => Math.max(m, 0),
});

/**
 * permafrost keeps mtimes before 1970, but a file whose last copy duplicity wrote comes back as 0:
 * in a chain both tools wrote, either is right.
 */
export const MIXED_CHAIN_LIMITS: CompareOptions = Object.freeze({
  expectedMtime: (m: number) => m,
  alsoAcceptMtime: (m: number) => Math.max(m, 0),
});

/** permafrost restoring what permafrost wrote: everything exact. */
export const EXACT: CompareOptions = Object.freeze({});

/**
 * Differences between the trees at `expected` and `actual` (files, directories or anything else),
 * as human-readable lines naming the path (non-printable bytes as \xHH). Empty when they match.
 */
export function compareTrees(expected: string, actual: string, opts: CompareOptions = {}): string[] {
  const max = opts.maxDifferences ?? 200;
  const diffs: string[] = [];
  const exp = walkTree(expected);
  const act = walkTree(actual);
  let i = 0;
  let j = 0;
  while ((i < exp.length || j < act.length) && diffs.length < max) {
    const e = exp[i];
    const a = act[j];
    // Both lists are in the same depth-first bytewise order, so a merge by (component-wise) key works.
    const c = e && a ? compareRel(e.rel, a.rel) : e ? -1 : 1;
    if (c < 0) {
      diffs.push(`${showPath(e!.rel)}: missing from ${actual} (a ${kindOf(e!.stat)} in ${expected})`);
      i = skipSubtree(exp, i);
    } else if (c > 0) {
      diffs.push(`${showPath(a!.rel)}: unexpected ${kindOf(a!.stat)} in ${actual}`);
      j = skipSubtree(act, j);
    } else {
      const isRoot = e!.rel.length === 0;
      diffs.push(...compareEntry(showPath(e!.rel), e!.abs, e!.stat, a!.abs, a!.stat, opts, isRoot));
      const ek = kindOf(e!.stat);
      const ak = kindOf(a!.stat);
      if (ek === 'dir' && ak !== 'dir') i = skipSubtree(exp, i);
      else i++;
      if (ak === 'dir' && ek !== 'dir') j = skipSubtree(act, j);
      else j++;
    }
  }
  if (diffs.length >= max) diffs.push(`(stopped after ${max} differences)`);
  return diffs;
}

/** Throws an AssertionError listing the differences (up to 60) when the trees differ. */
export function assertSameTree(expected: string, actual: string, opts: CompareOptions = {}, what = ''): void {
  const diffs = compareTrees(expected, actual, opts);
  if (diffs.length === 0) return;
  const shown = diffs.slice(0, 60);
  assert.fail(
    `${what ? `${what}: ` : ''}${diffs.length} difference(s) between ${expected} and ${actual}:\n  ` +
      shown.join('\n  ') +
      (diffs.length > shown.length ? `\n  … and ${diffs.length - shown.length} more` : ''),
  );
}

function compareEntry(
  name: string,
  eAbs: Buffer,
  e: BigIntStats,
  aAbs: Buffer,
  a: BigIntStats,
  opts: CompareOptions,
  isRoot: boolean,
): string[] {
  const out: string[] = [];
  const ek = kindOf(e);
  const ak = kindOf(a);
  if (ek !== ak) return [`${name}: type ${ek} expected, got ${ak}`];
  const meta = !isRoot || opts.rootMeta !== false;

  if (ek === 'file') {
    if (e.size !== a.size) out.push(`${name}: size ${e.size} expected, got ${a.size}`);
    else {
      const eh = sha1(eAbs);
      const ah = sha1(aAbs);
      if (eh !== ah) out.push(`${name}: content differs (sha1 ${eh} expected, got ${ah})`);
    }
  } else if (ek === 'symlink') {
    const et = readlinkSync(eAbs, { encoding: 'buffer' });
    const at = readlinkSync(aAbs, { encoding: 'buffer' });
    if (!et.equals(at)) out.push(`${name}: symlink target ${showPath(et)} expected, got ${showPath(at)}`);
  } else if (ek === 'chr' || ek === 'blk') {
    if (e.rdev !== a.rdev) out.push(`${name}: device ${e.rdev} expected, got ${a.rdev}`);
  }
  if (!meta) return out;

  if (ek !== 'symlink') {
    const em = Number(e.mode & 0o7777n);
    const am = Number(a.mode & 0o7777n);
    if (em !== am) out.push(`${name}: mode ${em.toString(8).padStart(4, '0')} expected, got ${am.toString(8).padStart(4, '0')}`);
  }
  if (opts.owner !== false && (e.uid !== a.uid || e.gid !== a.gid)) {
    out.push(`${name}: owner ${e.uid}:${e.gid} expected, got ${a.uid}:${a.gid}`);
  }
  const wantMtime = ek === 'symlink' ? opts.symlinkMtime === true : ek === 'dir' ? opts.dirMtime !== false : true;
  if (wantMtime) {
    const src = mtimeSeconds(e);
    const em = opts.expectedMtime ? opts.expectedMtime(src) : src;
    const am = mtimeSeconds(a);
    if (em !== am && !(opts.alsoAcceptMtime && opts.alsoAcceptMtime(src) === am))
      out.push(`${name}: mtime ${em}${em !== src ? ` (from ${src})` : ''} expected, got ${am}`);
  }
  return out;
}

function sha1(abs: Buffer): string {
  return createHash('sha1').update(readFileSync(abs)).digest('hex');
}

/** Component-wise bytewise order, the order walkTree produces. */
function compareRel(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let k = 0; k < n; k++) {
    if (a[k] !== b[k]) {
      if (a[k] === 0x2f) return -1;
      if (b[k] === 0x2f) return 1;
      return a[k]! - b[k]!;
    }
  }
  return a.length - b.length;
}

/** Index just past entry `i` and all its descendants (they follow it, deeper, in walk order). */
function skipSubtree(list: readonly { depth: number }[], i: number): number {
  const d = list[i]!.depth;
  let k = i + 1;
  while (k < list.length && list[k]!.depth > d) k++;
  return k;
}
