import { lstatSync, readdirSync } from 'node:fs';
import type { BigIntStats } from 'node:fs';

/** One path of a tree on disk, as the test helpers see it. */
export interface WalkEntry {
  /** Path relative to the walked root, components joined by '/'; empty for the root itself. */
  readonly rel: Buffer;
  /** Absolute path (root + rel), as bytes: names may be invalid UTF-8. */
  readonly abs: Buffer;
  readonly depth: number;
  readonly stat: BigIntStats;
}

export type FileKind = 'file' | 'dir' | 'symlink' | 'fifo' | 'chr' | 'blk' | 'socket';

/**
 * Every path under `root` (the root first), depth first with siblings in bytewise order: the same
 * order duplicity uses (directory before its contents, component-wise comparison).
 */
export function walkTree(root: string | Buffer): WalkEntry[] {
  const out: WalkEntry[] = [];
  const rootAbs = typeof root === 'string' ? Buffer.from(root) : root;
  const visit = (abs: Buffer, rel: Buffer, depth: number): void => {
    const stat = lstatSync(abs, { bigint: true });
    out.push({ rel, abs, depth, stat });
    if (!stat.isDirectory()) return;
    const names = readdirSync(abs, { encoding: 'buffer' }).sort(Buffer.compare);
    for (const name of names) {
      visit(joinBytes(abs, name), rel.length === 0 ? name : joinBytes(rel, name), depth + 1);
    }
  };
  visit(rootAbs, Buffer.alloc(0), 0);
  return out;
}

export function kindOf(stat: BigIntStats): FileKind {
  if (stat.isFile()) return 'file';
  if (stat.isDirectory()) return 'dir';
  if (stat.isSymbolicLink()) return 'symlink';
  if (stat.isFIFO()) return 'fifo';
  if (stat.isCharacterDevice()) return 'chr';
  if (stat.isBlockDevice()) return 'blk';
  return 'socket';
}

/** `a/b` as bytes. */
export function joinBytes(a: string | Buffer, b: string | Buffer): Buffer {
  return Buffer.concat([toBytes(a), SLASH, toBytes(b)]);
}

export function toBytes(p: string | Buffer): Buffer {
  return typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
}

/**
 * A path for humans: printable ASCII as is, everything else (newlines, invalid UTF-8, non-ASCII)
 * as \xHH, so that two different names never print the same.
 */
export function showPath(p: string | Buffer): string {
  const b = toBytes(p);
  if (b.length === 0) return '.';
  let s = '';
  for (const byte of b) {
    s += byte >= 0x20 && byte < 0x7f && byte !== 0x5c ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return s;
}

/** Whole seconds of an mtime, rounding towards minus infinity (so -0.5 s is -1, as stat shows). */
export function mtimeSeconds(stat: BigIntStats): number {
  const ns = stat.mtimeNs;
  const s = ns / 1_000_000_000n;
  return Number(ns < 0n && s * 1_000_000_000n !== ns ? s - 1n : s);
}

const SLASH = Buffer.from('/');
