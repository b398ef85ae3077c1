/**
 * Hostile source trees for round-trip tests: built from a declarative spec, then mutated
 * deterministically (by seed) between backups.
 *
 * Every entry gets an explicit whole-second mtime. That matters: duplicity decides "unchanged" from
 * type, mode, owner and int(mtime) alone (size is not compared), so a content change that keeps the
 * mtime is invisible to it by design. The mutation helpers therefore always give changed files a
 * new mtime, and reset the mtimes of the directories they touch, so that a tree is a pure function
 * of (spec, seed, steps) and snapshots compare exactly.
 *
 * Meant to run as root, as CI does: owners are only set as root, and as another user the tree's
 * read-only directories would refuse some mutations.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { Rng } from './rng.ts';
import { joinBytes, kindOf, mtimeSeconds, showPath, toBytes, walkTree } from './walk.ts';
import type { WalkEntry } from './walk.ts';

/** A path relative to the tree root, '/'-separated; a Buffer when it is not valid UTF-8. */
export type RelPath = string | Buffer;

interface Common {
  readonly path: RelPath;
  /** Whole seconds; may be negative or beyond 2038. Defaults to TreeSpec.defaultMtime. */
  readonly mtime?: number;
  /** Applied only when running as root (chown needs it). */
  readonly uid?: number;
  readonly gid?: number;
}
export interface FileSpec extends Common {
  readonly kind: 'file';
  /** Literal content; otherwise `size` bytes generated from `seed` (random unless `text`). */
  readonly content?: string | Buffer;
  readonly size?: number;
  readonly seed?: number;
  readonly text?: boolean;
  readonly mode?: number;
}
export interface DirSpec extends Common {
  readonly kind: 'dir';
  readonly mode?: number;
}
export interface SymlinkSpec extends Common {
  readonly kind: 'symlink';
  /** Raw target, not resolved or checked: dangling and absolute targets are allowed. */
  readonly target: RelPath;
}
export interface FifoSpec extends Common {
  readonly kind: 'fifo';
  readonly mode?: number;
}
/** A second name for an existing file (same inode, so same metadata). */
export interface HardlinkSpec {
  readonly kind: 'hardlink';
  readonly path: RelPath;
  readonly to: RelPath;
}
export type EntrySpec = FileSpec | DirSpec | SymlinkSpec | FifoSpec | HardlinkSpec;

export interface TreeSpec {
  readonly entries: readonly EntrySpec[];
  readonly root?: { readonly mode?: number; readonly mtime?: number };
  /** mtime of entries (and auto-created parents) that do not give one. */
  readonly defaultMtime?: number;
}

export const DEFAULT_MTIME = 1_600_000_000; // 2020-09-13
const isRoot = process.getuid?.() === 0;

/**
 * Creates the tree of `spec` under `root` (created if missing; it should be empty). Parents that
 * the spec does not list are created as 0755 directories. Metadata is applied after all content:
 * owners, then modes (chown clears setuid), then mtimes, directories deepest first, since creating
 * a child changes its parent's mtime.
 */
export function buildTree(root: string, spec: TreeSpec): void {
  const defaultMtime = spec.defaultMtime ?? DEFAULT_MTIME;
  const rootBytes = Buffer.from(root);
  mkdirSync(root, { recursive: true });
  // Keyed by path so that a directory listed after its children replaces its auto-created parent.
  const metaByPath = new Map<
    string,
    { abs: Buffer; depth: number; kind: string; mode?: number; mtime: number; uid?: number; gid?: number }
  >();

  const ensureParents = (rel: Buffer): void => {
    const parts = splitRel(rel);
    for (let i = 1; i < parts.length; i++) {
      const parentRel = joinParts(parts.slice(0, i));
      const key = parentRel.toString('hex');
      if (metaByPath.has(key)) continue;
      const abs = joinBytes(rootBytes, parentRel);
      mkdirSync(abs, { recursive: true });
      metaByPath.set(key, { abs, depth: i, kind: 'dir', mode: 0o755, mtime: defaultMtime });
    }
  };

  for (const e of spec.entries) {
    const rel = toBytes(e.path);
    const parts = splitRel(rel);
    if (parts.length === 0) throw new Error(`buildTree: empty path in spec`);
    ensureParents(rel);
    const abs = joinBytes(rootBytes, rel);
    switch (e.kind) {
      case 'file':
        writeFileSync(abs, fileContent(e));
        break;
      case 'dir':
        mkdirSync(abs, { recursive: true });
        break;
      case 'symlink':
        symlinkSync(toBytes(e.target), abs);
        break;
      case 'fifo':
        makeFifo(root, abs);
        break;
      case 'hardlink':
        linkSync(joinBytes(rootBytes, toBytes(e.to)), abs);
        continue; // shares the metadata of its target
    }
    metaByPath.set(rel.toString('hex'), {
      abs,
      depth: parts.length,
      kind: e.kind,
      ...('mode' in e && e.mode !== undefined ? { mode: e.mode } : {}),
      mtime: e.mtime ?? defaultMtime,
      ...(e.uid !== undefined ? { uid: e.uid } : {}),
      ...(e.gid !== undefined ? { gid: e.gid } : {}),
    });
  }
  const meta = [...metaByPath.values()];
  meta.push({ abs: rootBytes, depth: 0, kind: 'dir', mode: spec.root?.mode ?? 0o755, mtime: spec.root?.mtime ?? defaultMtime });

  for (const m of meta) {
    if (isRoot && (m.uid !== undefined || m.gid !== undefined)) lchownSync(m.abs, m.uid ?? 0, m.gid ?? 0);
  }
  for (const m of meta) {
    if (m.kind === 'symlink') continue;
    chmodSync(m.abs, m.mode ?? (m.kind === 'dir' ? 0o755 : 0o644));
  }
  const byDepth = [...meta].sort((a, b) => Number(a.kind === 'dir') - Number(b.kind === 'dir') || b.depth - a.depth);
  for (const m of byDepth) setMtime(m.abs, m.mtime, m.kind === 'symlink');
}

function fileContent(e: FileSpec): Buffer {
  if (e.content !== undefined) return toBytes(e.content);
  const size = e.size ?? 0;
  const rng = new Rng(e.seed ?? size);
  return e.text ? rng.text(size) : rng.bytes(size);
}

/** Sets atime and mtime to `seconds` (Date objects, because Node treats negative numbers as "now"). */
export function setMtime(abs: RelPath, seconds: number, isSymlink = false): void {
  const d = new Date(seconds * 1000);
  if (isSymlink) lutimesSync(abs, d, d);
  else utimesSync(abs, d, d);
}

function isDir(abs: Buffer): boolean {
  try {
    return lstatSync(abs).isDirectory();
  } catch {
    return false;
  }
}

function joinParts(parts: readonly Buffer[]): Buffer {
  return Buffer.concat(parts.flatMap((p, j) => (j === 0 ? [p] : [SLASH, p])));
}

const SLASH = Buffer.from('/');

function splitRel(rel: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= rel.length; i++) {
    if (i === rel.length || rel[i] === 0x2f) {
      if (i > start) parts.push(rel.subarray(start, i));
      start = i + 1;
    }
  }
  return parts;
}

/**
 * Node has no mkfifo, and argv cannot carry invalid UTF-8: make the fifo under an ASCII name in
 * the tree root (a plain string path), then rename it into place with the byte path.
 */
function makeFifo(root: string, abs: Buffer): void {
  const tmp = `${root}/.mkfifo-${process.pid}-${fifoCounter++}`;
  execFileSync('mkfifo', ['--', tmp], { stdio: 'ignore' });
  renameSync(tmp, abs);
}
let fifoCounter = 0;

// ---------------------------------------------------------------------------------------------
// The standard hostile tree

export interface HostileOptions {
  /** Number of small files (default 150). */
  readonly smallFiles?: number;
  /** Size of the large file (default 1.5 MiB + 12345 bytes: several volumes at --volsize 1). */
  readonly largeSize?: number;
}

export const LARGE_FILE = 'big/large.bin';
export const INVALID_UTF8_NAME = Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x2d, 0xc3, 0x28]); // "bad\xff\xfe-\xc3("
export const NEGATIVE_MTIME = -315_619_200; // 1960-01-01
export const AFTER_2038_MTIME = 4_102_444_800; // 2100-01-01

/**
 * A tree that exercises everything duplicity's format must carry: many small files, a file larger
 * than 1 MiB, sizes at and around multiples of 64 KiB, empty files and directories, symlinks
 * (relative, absolute, dangling, looping, non-UTF-8 target), awkward names (spaces, quotes,
 * backslash, newline, tab, non-ASCII, invalid UTF-8, leading dash, 255-byte name), deep nesting with
 * paths over 100 bytes, modes 0600/0755/04755/02755/01777/0700/0555, mtimes before 1970 and after
 * 2038, a fifo, a hard link, and (as root) owners with and without a name.
 */
export function hostileTreeSpec(seed: number, opts: HostileOptions = {}): TreeSpec {
  const rng = new Rng(seed);
  const entries: EntrySpec[] = [];
  const smallCount = opts.smallFiles ?? 150;
  const spread = (): number => DEFAULT_MTIME - rng.int(86_400 * 365 * 5);

  for (let i = 0; i < smallCount; i++) {
    const size = i % 10 === 0 ? 0 : rng.int(3000);
    entries.push({
      kind: 'file',
      path: `small/f${String(i).padStart(3, '0')}.txt`,
      size,
      seed: seed * 1000 + i,
      text: true,
      mtime: spread(),
    });
  }
  entries.push({ kind: 'file', path: LARGE_FILE, size: opts.largeSize ?? 1_572_864 + 12_345, seed: seed + 7, mtime: spread() });
  for (const [name, size] of [
    ['64k.bin', 65_536],
    ['128k.bin', 131_072],
    ['192k.bin', 196_608],
    ['64k-1.bin', 65_535],
    ['64k+1.bin', 65_537],
  ] as const) {
    entries.push({ kind: 'file', path: `exact/${name}`, size, seed: seed + size, mtime: spread() });
  }

  entries.push({ kind: 'file', path: 'empty', content: '' });
  entries.push({ kind: 'dir', path: 'emptydir' });
  entries.push({ kind: 'dir', path: 'nested/emptyleaf', mode: 0o700 });

  const names: RelPath[] = [
    'name with spaces.txt',
    `it's "quoted".txt`,
    'back\\slash.txt',
    'new\nline.txt',
    'tab\tname.txt',
    'ünïcødé ☃ 日本語.txt',
    '-leading-dash',
    ' leading space',
    'trailing space ',
    '.hidden',
    '#hash%percent&amp*star?q',
    'x'.repeat(255),
    INVALID_UTF8_NAME,
  ];
  for (const n of names) {
    entries.push({
      kind: 'file',
      path: Buffer.concat([Buffer.from('names/'), toBytes(n)]),
      size: 1 + rng.int(200),
      seed: rng.next(),
      text: true,
    });
  }
  entries.push({ kind: 'dir', path: 'names/dir with spaces & ü' });
  entries.push({ kind: 'file', path: 'names/dir with spaces & ü/inner\nfile', content: 'inner\n' });

  let deep = 'deep';
  for (let i = 1; i <= 12; i++) deep += `/level-${String(i).padStart(2, '0')}-abcdefgh`;
  entries.push({ kind: 'file', path: `${deep}/leaf-with-a-rather-long-name-to-pass-the-ustar-limits.txt`, content: 'deep\n' });

  entries.push({ kind: 'file', path: 'modes/0600', content: 'secret\n', mode: 0o600 });
  entries.push({ kind: 'file', path: 'modes/0755', content: '#!/bin/sh\necho hi\n', mode: 0o755 });
  entries.push({ kind: 'file', path: 'modes/04755', content: 'setuid\n', mode: 0o4755 });
  entries.push({ kind: 'file', path: 'modes/0400', content: 'read only\n', mode: 0o400 });
  entries.push({ kind: 'dir', path: 'modes/dir02755', mode: 0o2755 });
  entries.push({ kind: 'dir', path: 'modes/sticky01777', mode: 0o1777 });
  entries.push({ kind: 'dir', path: 'modes/private0700', mode: 0o700 });
  entries.push({ kind: 'file', path: 'modes/readonly0555/inside', content: 'in a read-only dir\n' });
  entries.push({ kind: 'dir', path: 'modes/readonly0555', mode: 0o555 });

  entries.push({ kind: 'file', path: 'times/before-1970', content: 'old\n', mtime: NEGATIVE_MTIME });
  entries.push({ kind: 'file', path: 'times/epoch-0', content: 'zero\n', mtime: 0 });
  entries.push({ kind: 'file', path: 'times/after-2038', content: 'future\n', mtime: AFTER_2038_MTIME });
  entries.push({ kind: 'file', path: 'times/2038-boundary', content: 'y2038\n', mtime: 2 ** 31 + 17 });
  entries.push({ kind: 'dir', path: 'times/dir-after-2038', mtime: AFTER_2038_MTIME + 1 });

  entries.push({ kind: 'symlink', path: 'links/to-file', target: '../small/f001.txt', mtime: 1_500_000_000 });
  entries.push({ kind: 'symlink', path: 'links/to-dir', target: '../small' });
  entries.push({ kind: 'symlink', path: 'links/absolute', target: '/etc/hostname' });
  entries.push({ kind: 'symlink', path: 'links/dangling', target: 'does/not/exist' });
  entries.push({ kind: 'symlink', path: 'links/loop', target: 'loop' });
  entries.push({ kind: 'symlink', path: 'links/odd target', target: Buffer.concat([Buffer.from('tar get\n'), INVALID_UTF8_NAME]) });

  entries.push({ kind: 'fifo', path: 'special/fifo', mode: 0o640 });
  entries.push({ kind: 'hardlink', path: 'special/hardlink-to-f002', to: 'small/f002.txt' });
  entries.push({ kind: 'file', path: 'owners/nameless-uid', content: 'owned by 4321\n', uid: 4321, gid: 4321 });
  entries.push({ kind: 'file', path: 'owners/nobody', content: 'owned by nobody\n', uid: 65534, gid: 65534 });

  return { entries, root: { mode: 0o755, mtime: DEFAULT_MTIME + 1 } };
}

// ---------------------------------------------------------------------------------------------
// Mutations

/**
 * Primitive edits. Each sets the mtime of what it creates or changes (and of the parent directory)
 * to `mtime`, so that the result is deterministic and visible to duplicity's change detection.
 */
export class TreeMutator {
  readonly root: Buffer;
  readonly mtime: number;
  readonly rng: Rng;
  readonly log: string[] = [];
  readonly #touchedDirs = new Map<string, Buffer>();

  constructor(root: string, seed: number, mtime: number) {
    this.root = Buffer.from(root);
    this.rng = new Rng(seed);
    this.mtime = mtime;
  }

  abs(rel: RelPath): Buffer {
    return joinBytes(this.root, rel);
  }

  addFile(rel: RelPath, size: number, text = true): void {
    writeFileSync(this.abs(rel), text ? this.rng.text(size) : this.rng.bytes(size));
    this.#finish(rel, `add file ${showPath(rel)} (${size} bytes)`);
  }

  addDir(rel: RelPath, children = 1): void {
    mkdirSync(this.abs(rel));
    for (let i = 0; i < children; i++) {
      const child = joinBytes(rel, `child-${i}`);
      writeFileSync(this.abs(child), this.rng.text(this.rng.int(500)));
      setMtime(this.abs(child), this.mtime);
    }
    this.#finish(rel, `add dir ${showPath(rel)} with ${children} file(s)`);
  }

  addSymlink(rel: RelPath, target: RelPath): void {
    symlinkSync(toBytes(target), this.abs(rel));
    this.#finish(rel, `add symlink ${showPath(rel)} -> ${showPath(target)}`, true);
  }

  remove(rel: RelPath): void {
    rmSync(this.abs(rel), { recursive: true, force: true });
    this.#touchParent(rel);
    this.log.push(`delete ${showPath(rel)}`);
  }

  /** New content of a new size, same inode. */
  rewrite(rel: RelPath, size?: number, text = true): void {
    const n = size ?? this.rng.int(4000);
    writeFileSync(this.abs(rel), text ? this.rng.text(n) : this.rng.bytes(n));
    this.#finishChanged(rel, `rewrite ${showPath(rel)} (${n} bytes)`);
  }

  /** Overwrites `length` bytes in the middle (size kept), or inserts them there (size grows). */
  editMiddle(rel: RelPath, length: number, insert: boolean): void {
    const abs = this.abs(rel);
    const size = lstatSync(abs).size;
    const at = Math.floor(size / 2) + this.rng.int(4096);
    const patch = this.rng.bytes(length);
    if (insert) {
      const old = readFileSync(abs);
      const fd = openSync(abs, 'w');
      try {
        writeSync(fd, old, 0, at);
        writeSync(fd, patch);
        writeSync(fd, old, at);
      } finally {
        closeSync(fd);
      }
    } else {
      const fd = openSync(abs, 'r+');
      try {
        writeSync(fd, patch, 0, length, at);
      } finally {
        closeSync(fd);
      }
    }
    this.#finishChanged(rel, `${insert ? 'insert' : 'overwrite'} ${length} bytes at ${at} of ${showPath(rel)}`);
  }

  /** Replaces whatever is at `rel` by a directory holding one file. */
  replaceWithDir(rel: RelPath): void {
    const was = this.#kind(rel);
    rmSync(this.abs(rel), { recursive: true, force: true });
    this.addDir(rel, 1);
    this.log.push(`  (that was a ${was} → dir)`);
  }

  /** Replaces whatever is at `rel` by a regular file. */
  replaceWithFile(rel: RelPath): void {
    const was = this.#kind(rel);
    rmSync(this.abs(rel), { recursive: true, force: true });
    this.addFile(rel, this.rng.int(2000));
    this.log.push(`  (that was a ${was} → file)`);
  }

  /** Replaces whatever is at `rel` by a symlink (dangling or not). */
  replaceWithSymlink(rel: RelPath, target: RelPath): void {
    const was = this.#kind(rel);
    rmSync(this.abs(rel), { recursive: true, force: true });
    this.addSymlink(rel, target);
    this.log.push(`  (that was a ${was} → symlink)`);
  }

  /** Points an existing symlink elsewhere. */
  retarget(rel: RelPath, target: RelPath): void {
    rmSync(this.abs(rel));
    symlinkSync(toBytes(target), this.abs(rel));
    this.#finish(rel, `retarget ${showPath(rel)} -> ${showPath(target)}`, true);
  }

  /** Mode change only: content and mtime stay (duplicity must still see it, through the mode). */
  chmod(rel: RelPath, mode: number): void {
    chmodSync(this.abs(rel), mode);
    this.log.push(`chmod ${mode.toString(8)} ${showPath(rel)}`);
  }

  /** mtime change only. */
  touch(rel: RelPath): void {
    setMtime(this.abs(rel), this.mtime);
    this.log.push(`touch ${showPath(rel)}`);
  }

  /** Gives every directory touched by the edits so far the mutation's mtime; call once at the end. */
  settleDirs(): void {
    const dirs = [...this.#touchedDirs.values()].sort((a, b) => b.length - a.length);
    for (const d of dirs) {
      try {
        if (lstatSync(d).isDirectory()) setMtime(d, this.mtime);
      } catch {
        // removed by a later edit
      }
    }
    this.#touchedDirs.clear();
  }

  #kind(rel: RelPath): string {
    return kindOf(lstatSync(this.abs(rel), { bigint: true }));
  }

  #finish(rel: RelPath, message: string, isSymlink = false): void {
    setMtime(this.abs(rel), this.mtime, isSymlink);
    this.#touchParent(rel);
    this.log.push(message);
  }

  /**
   * Content changed in place: the new mtime must differ from the old one, or duplicity (which does
   * not compare sizes or contents) would rightly consider the file unchanged.
   */
  #finishChanged(rel: RelPath, message: string): void {
    const before = mtimeSeconds(lstatSync(this.abs(rel), { bigint: true }));
    setMtime(this.abs(rel), before === this.mtime ? this.mtime + 1 : this.mtime);
    this.log.push(message);
  }

  #touchParent(rel: RelPath): void {
    const b = toBytes(rel);
    const slash = b.lastIndexOf(0x2f);
    const parent = slash < 0 ? this.root : joinBytes(this.root, b.subarray(0, slash));
    this.#touchedDirs.set(parent.toString('hex'), parent);
  }
}

/**
 * One round of edits between two backups, chosen by `seed` and `step` from the tree as it is:
 * rewrites (new size, same size, emptied, a 64 KiB+ file with new random content), an edit in the
 * middle of the largest file (overwrite on odd steps, insert on even ones), deletes (a file and a
 * non-empty directory), symlink→file, symlink→dir, a symlink retarget, file→dir, file→symlink,
 * dir→file, dir→symlink, a chmod-only and a touch-only change, then adds (small file, 70000-byte and
 * 128 KiB files, a directory, a symlink, a hostile name). The largest file and its ancestors are never deleted or replaced.
 * Returns a log of what was done, for failure messages.
 */
export function mutateTree(root: string, seed: number, step: number, mtime: number): string[] {
  const m = new TreeMutator(root, seed * 7919 + step, mtime);
  const all = walkTree(root).slice(1);
  const largest = all
    .filter((e) => e.stat.isFile())
    .reduce<WalkEntry | undefined>((a, e) => (a && a.stat.size >= e.stat.size ? a : e), undefined);
  if (!largest) throw new Error('mutateTree: the tree has no regular file');
  const protectedRel = largest.rel;
  const isProtected = (e: WalkEntry): boolean =>
    e.rel.equals(protectedRel) ||
    (protectedRel.length > e.rel.length && protectedRel[e.rel.length] === 0x2f && protectedRel.subarray(0, e.rel.length).equals(e.rel));
  const taken = new Set<string>();
  // Each entry is used by one edit at most, and never below a directory another edit replaced.
  const free = (e: WalkEntry): boolean => {
    if (isProtected(e)) return false;
    for (const t of taken) {
      const tb = Buffer.from(t, 'hex');
      if (e.rel.equals(tb)) return false;
      if (e.rel.length > tb.length && e.rel[tb.length] === 0x2f && e.rel.subarray(0, tb.length).equals(tb)) return false;
      if (tb.length > e.rel.length && tb[e.rel.length] === 0x2f && tb.subarray(0, e.rel.length).equals(e.rel)) return false;
    }
    return true;
  };
  const take = (pred: (e: WalkEntry) => boolean): WalkEntry | undefined => {
    const candidates = all.filter((e) => pred(e) && free(e));
    if (candidates.length === 0) return undefined;
    const e = m.rng.pick(candidates);
    taken.add(e.rel.toString('hex'));
    return e;
  };
  const regular = (e: WalkEntry): boolean => e.stat.isFile() && e.stat.nlink === 1n;
  const descendants = (d: WalkEntry): number =>
    all.filter((e) => e.rel.length > d.rel.length && e.rel[d.rel.length] === 0x2f && e.rel.subarray(0, d.rel.length).equals(d.rel)).length;
  const smallDir = (e: WalkEntry): boolean => e.stat.isDirectory() && e.depth >= 1 && descendants(e) <= 30;
  const dirs = all.filter((e) => e.stat.isDirectory() && !isProtected(e));
  // Picked when needed, among the directories that the edits so far left in place.
  const someDir = (): Buffer => {
    const live = dirs.filter((d) => isDir(m.abs(d.rel)));
    return live.length > 0 ? m.rng.pick(live).rel : Buffer.from('.');
  };
  const at = (dir: Buffer, name: RelPath): Buffer => (dir.equals(Buffer.from('.')) ? toBytes(name) : joinBytes(dir, name));

  // Edits of existing entries first (they need the entries to exist), additions last.
  const edited = take(regular);
  if (edited) m.rewrite(edited.rel);
  const sameSize = take(regular);
  if (sameSize) m.rewrite(sameSize.rel, Number(sameSize.stat.size));
  const emptied = take(regular);
  if (emptied) m.rewrite(emptied.rel, 0);
  // New random content over 64 KiB: the delta is one long literal, so it spans multivol_diff chunks.
  const replaced = take((e) => regular(e) && e.stat.size >= 65_536n);
  if (replaced) m.rewrite(replaced.rel, Number(replaced.stat.size), false);
  m.editMiddle(largest.rel, 1000 + m.rng.int(3000), step % 2 === 0);

  const gone = take(regular);
  if (gone) m.remove(gone.rel);
  // A directory with some content, so that every child gets its own deleted entry.
  const goneDir = take((e) => smallDir(e) && descendants(e) >= 1);
  if (goneDir) m.remove(goneDir.rel);

  const linkToFile = take((e) => e.stat.isSymbolicLink());
  if (linkToFile) m.replaceWithFile(linkToFile.rel);
  const linkToDir = take((e) => e.stat.isSymbolicLink());
  if (linkToDir) m.replaceWithDir(linkToDir.rel);
  const relink = take((e) => e.stat.isSymbolicLink());
  if (relink) m.retarget(relink.rel, `retargeted-${step}`);
  const toDir = take(regular);
  if (toDir) m.replaceWithDir(toDir.rel);
  const toLink = take(regular);
  if (toLink) m.replaceWithSymlink(toLink.rel, step % 2 === 0 ? 'dangling-now' : '../empty');
  const dirToFile = take(smallDir);
  if (dirToFile) m.replaceWithFile(dirToFile.rel);
  const dirToLink = take(smallDir);
  if (dirToLink) m.replaceWithSymlink(dirToLink.rel, '.');

  const chmodded = take(regular);
  if (chmodded) m.chmod(chmodded.rel, Number(chmodded.stat.mode & 0o7777n) === 0o600 ? 0o644 : 0o600);
  const touched = take(regular);
  if (touched) m.touch(touched.rel);

  m.addFile(at(someDir(), `added-${step}-small.txt`), m.rng.int(3000));
  m.addFile(at(someDir(), `added-${step}-70000.bin`), 70_000, false);
  m.addFile(at(someDir(), `added-${step}-128k.bin`), 131_072, false);
  m.addFile(at(someDir(), Buffer.concat([Buffer.from(`added-${step} \n'"\\ `), INVALID_UTF8_NAME])), 10);
  m.addDir(at(someDir(), `added-dir-${step}`), 2);
  m.addSymlink(at(someDir(), `added-link-${step}`), `target-${step}`);
  m.settleDirs();
  return m.log;
}
