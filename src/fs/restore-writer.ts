import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { constants, promises as fsp, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import type { EntryMeta } from '../core/entry.ts';
import { compareIndex, indexStartsWith, indexToDisplay, type PathIndex } from '../core/path-index.ts';
import { IdNames } from './ids.ts';
import { RestoreQueue } from './restore-queue.ts';
import { restoreTempName } from './restore-leftovers.ts';
import { SparseFileWriter } from './sparse-writer.ts';

const execFileAsync = promisify(execFile);
const SLASH = Buffer.from('/');

export interface RestoreOptions {
  /** --numeric-owner: use the archive's numeric ids, never its user and group names. */
  readonly numericOwner?: boolean;
  /** chown restored entries (--do-not-restore-ownership turns it off). Default: only as root. */
  readonly restoreOwnership?: boolean;
  /** --force: write into a non-empty target, replacing what is in the way. */
  readonly force?: boolean;
  /**
   * Restore only this subtree (--file-to-restore), written *as* the target: the entry at this
   * index becomes the target path itself, entries outside it are ignored.
   */
  readonly subtree?: PathIndex;
  readonly ids?: IdNames;
}

/** Data of a regular file, in order. */
export type ChunkSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/**
 * Writes a restored tree below a target directory, entry by entry, in index order
 * (`duplicity/patchdir.py:Write_ROPaths` semantics):
 * - the entry with the empty index is the target itself; a non-directory there is written *as*
 *   the target (single-file restore);
 * - directories are created on arrival and get their owner, mode and mtime when left, after
 *   their contents;
 * - every other entry is created under a temporary name in its final directory and renamed into
 *   place once complete, so a failure never leaves a partial file under the real name (small
 *   files, below, get the same guarantee differently);
 * - ownership is applied before the mode (chown clears setuid/setgid); symlinks get lchown and
 *   lutimes (duplicity skips their mtime, restoring it is harmless);
 * - names come only from validated index components and every parent is a directory this writer
 *   created or checked with lstat, so nothing can land outside the target, even through
 *   symlinks in the archive;
 * - a regular file recorded as sparse (`meta.sparse`) gets holes for its zero blocks
 *   (SparseFileWriter), unless it is small enough for the queue below;
 * - without --force, regular files of up to SMALL_FILE bytes are gathered in memory and created
 *   by worker threads (RestoreQueue: under their real name, which must not exist, and removed
 *   again on an error; the rename per file doubled the kernel's work), which also apply the
 *   directories' attributes once their files are done: the kernel's work per file runs on two
 *   cores and overlaps with reading the archive. A failure there is thrown by a later `write`
 *   or by `finish`.
 */
export class RestoreWriter {
  readonly #target: Buffer;
  readonly #numericOwner: boolean;
  readonly #chown: boolean;
  readonly #force: boolean;
  readonly #subtree: PathIndex;
  readonly #ids: IdNames;
  /** Directories entered and not yet left, outermost first. */
  readonly #stack: DirFrame[] = [];
  #last: PathIndex | null = null;
  #checkedTarget = false;
  #tempCounter = 0;
  /** Started with the first small file (without --force); closed by `finish`. */
  #queue: RestoreQueue | null = null;
  /** Who owns a file the queue creates, before any chown (see creatorBelow). */
  #creator: { uid: number; gid: number } | null = null;

  constructor(target: Buffer, options: RestoreOptions = {}) {
    if (target.length === 0) throw new Error('restore target path is empty');
    if (target.includes(0)) throw new Error('restore target path contains a NUL byte');
    this.#target = target.length > 1 && target[target.length - 1] === 0x2f ? stripTrailingSlashes(target) : target;
    this.#numericOwner = options.numericOwner ?? false;
    this.#chown = options.restoreOwnership ?? process.geteuid?.() === 0;
    this.#force = options.force ?? false;
    this.#subtree = options.subtree ?? [];
    this.#ids = options.ids ?? new IdNames();
  }

  /**
   * Writes one entry; `data` is required for regular files and ignored otherwise. Returns false
   * when the entry lies outside the restored subtree. Indexes must strictly increase.
   */
  async write(meta: EntryMeta, data?: ChunkSource): Promise<boolean> {
    this.#queue?.check();
    if (!indexStartsWith(meta.index, this.#subtree)) return false;
    const index = this.#subtree.length === 0 ? meta.index : meta.index.slice(this.#subtree.length);
    if (this.#last !== null && compareIndex(this.#last, index) >= 0) {
      throw new Error(`restore entries out of order: ${indexToDisplay(index)} after ${indexToDisplay(this.#last)}`);
    }
    this.#last = index;
    if (!this.#checkedTarget) {
      this.#checkedTarget = true;
      if (!this.#force && !(await isEmptyOrMissingDir(this.#target))) {
        throw new Error(`Restore destination directory ${this.#target.toString()} already exists. Will not overwrite.`);
      }
    }

    if (index.length === 0) return this.#writeTarget(meta, data);
    const name = index[index.length - 1]!;
    checkComponent(name);
    const parent = this.#openParent(index) ?? (await this.#enterParent(index));
    // a small file given whole (most of a restore of small files) goes straight to the queue
    if (meta.type === 'reg' && !this.#force && Array.isArray(data) && (await this.#queueWhole(parent.path, name, meta, data))) return true;
    const path = Buffer.concat([parent.path, SLASH, name]);

    if (meta.type === 'dir') {
      await this.#makeDir(path, true);
      this.#stack.push({ index, path, meta });
      return true;
    }
    if (meta.type === 'reg' && !this.#force) {
      await this.#writeSmallOrHere(parent.path, name, path, meta, data);
      return true;
    }
    const temp = await this.#createTemp(parent.path, meta, data);
    await this.#moveIntoPlace(temp, path);
    return true;
  }

  /**
   * Leaves every open directory, applying its attributes, and waits for the files still queued.
   * Call once after the last entry (also after a failure: it stops the worker).
   */
  async finish(): Promise<void> {
    try {
      while (this.#stack.length > 0) await this.#leave(this.#stack.pop()!);
    } finally {
      const queue = this.#queue;
      this.#queue = null;
      if (queue) await queue.close();
    }
  }

  /**
   * A regular file: gathered in memory and queued when it is small, else written here as it
   * streams in. Nothing is created before the data is complete, so a failing source leaves
   * nothing behind.
   */
  async #writeSmallOrHere(dir: Buffer, name: Buffer, path: Buffer, meta: EntryMeta, data: ChunkSource | undefined): Promise<void> {
    if (data === undefined) throw new Error(`no data for regular file ${indexToDisplay(meta.index)}`);
    const chunks: Uint8Array[] = [];
    let total = 0;
    const it = Symbol.asyncIterator in data ? data[Symbol.asyncIterator]() : data[Symbol.iterator]();
    for (;;) {
      const r = await it.next();
      if (r.done) break;
      chunks.push(r.value);
      total += r.value.byteLength;
      if (total > SMALL_FILE) {
        const rest = (async function* () {
          yield* chunks;
          for (;;) {
            const n = await it.next();
            if (n.done) return;
            yield n.value;
          }
        })();
        const temp = await this.#writeRegular(dir, meta, rest);
        await this.#moveIntoPlace(temp, path);
        return;
      }
    }
    await this.#queueFile(dir, name, meta, chunks);
  }

  /** A regular file whose data is all here: queued when small (true), else left to the caller. */
  async #queueWhole(dir: Buffer, name: Buffer, meta: EntryMeta, chunks: readonly Uint8Array[]): Promise<boolean> {
    let total = 0;
    for (const c of chunks) total += c.byteLength;
    if (total > SMALL_FILE) return false;
    await this.#queueFile(dir, name, meta, chunks);
    return true;
  }

  async #queueFile(dir: Buffer, name: Buffer, meta: EntryMeta, chunks: readonly Uint8Array[]): Promise<void> {
    if (!this.#queue) {
      this.#creator = await creatorBelow(this.#target);
      this.#queue = new RestoreQueue();
    }
    const owner = this.#owner(meta);
    // a new file already belongs to whom it should (most restores): a chown per file is 6% of the kernel's work
    const chown = this.#chown && (owner.uid !== this.#creator?.uid || owner.gid !== this.#creator.gid);
    await this.#queue.addFile(dir, name, chunks, {
      chown,
      uid: owner.uid,
      gid: owner.gid,
      mode: meta.mode,
      mtimeMs: dateOf(meta.mtime).getTime(),
    });
  }

  async #writeTarget(meta: EntryMeta, data: ChunkSource | undefined): Promise<boolean> {
    const existing = await lstatOrNull(this.#target);
    if (meta.type === 'dir') {
      if (existing === null) {
        await fsp.mkdir(parentOf(this.#target), { recursive: true });
        try {
          await fsp.mkdir(this.#target, { mode: 0o700 });
        } catch (e) {
          // shards restored side by side with --force into one new destination: another made it first
          if (!this.#force || (e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
          const now = await fsp.lstat(this.#target);
          if (!now.isDirectory()) throw e;
          await writableUntilLeft(this.#target, now);
        }
      } else if (!existing.isDirectory()) {
        if (!this.#force) throw new Error(`restore target ${this.#target.toString()} exists and is not a directory`);
        await fsp.unlink(this.#target);
        await fsp.mkdir(this.#target, { mode: 0o700 });
      } else await writableUntilLeft(this.#target, existing);
      this.#stack.push({ index: [], path: this.#target, meta });
      return true;
    }
    const parent = parentOf(this.#target);
    await fsp.mkdir(parent, { recursive: true });
    const temp = await this.#createTemp(parent, meta, data);
    // Duplicity deletes whatever is at the target (an empty directory after the emptiness check).
    if (existing?.isDirectory()) await fsp.rm(this.#target, { recursive: true, force: true });
    await fsp.rename(temp, this.#target);
    return true;
  }

  /** The innermost open directory when it is `index`'s parent (most entries), else null. */
  #openParent(index: PathIndex): DirFrame | null {
    const top = this.#stack[this.#stack.length - 1];
    if (top === undefined || top.index.length !== index.length - 1) return null;
    for (let i = top.index.length - 1; i >= 0; i--) if (!top.index[i]!.equals(index[i]!)) return null;
    return top;
  }

  /** Pops the directories that do not contain `index` and makes sure its parent is open. */
  async #enterParent(index: PathIndex): Promise<DirFrame> {
    const parentIndex = index.slice(0, -1);
    for (;;) {
      const top = this.#stack[this.#stack.length - 1];
      if (top === undefined || indexStartsWith(parentIndex, top.index)) break;
      this.#stack.pop();
      await this.#leave(top);
    }
    if (this.#stack.length === 0) {
      // No entry for the target itself: use (or create) it as a plain directory.
      await this.#writeTargetImplicitly();
    }
    // Directories missing from the archive are created with default attributes.
    for (;;) {
      const top = this.#stack[this.#stack.length - 1]!;
      if (top.index.length === parentIndex.length) return top;
      const name = parentIndex[top.index.length]!;
      checkComponent(name);
      const path = Buffer.concat([top.path, SLASH, name]);
      await this.#makeDir(path);
      this.#stack.push({ index: parentIndex.slice(0, top.index.length + 1), path, meta: null });
    }
  }

  async #writeTargetImplicitly(): Promise<void> {
    const existing = await lstatOrNull(this.#target);
    if (existing === null) await fsp.mkdir(this.#target, { recursive: true });
    else if (!existing.isDirectory()) throw new Error(`restore target ${this.#target.toString()} is not a directory`);
    this.#stack.push({ index: [], path: this.#target, meta: null });
  }

  /**
   * Creates a directory (0700 until left) or, with --force, reuses or replaces what is there. A
   * reused directory that the archive describes (`described`) gets its mode when left, so until
   * then it is made writable for us: an earlier restore may have left it read-only.
   */
  async #makeDir(path: Buffer, described = false): Promise<void> {
    try {
      await fsp.mkdir(path, { mode: 0o700 });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const st = await fsp.lstat(path);
    if (st.isDirectory()) {
      if (this.#force) {
        if (described) await writableUntilLeft(path, st);
        return;
      }
      throw new Error(`${path.toString()} already exists`);
    }
    if (!this.#force) throw new Error(`${path.toString()} already exists and is not a directory`);
    await fsp.unlink(path);
    await fsp.mkdir(path, { mode: 0o700 });
  }

  async #leave(frame: DirFrame): Promise<void> {
    if (frame.meta === null) return;
    if (this.#queue) {
      await this.#queue.addDir(frame.path, {
        chown: this.#chown,
        ...this.#owner(frame.meta),
        mode: frame.meta.mode,
        mtimeMs: dateOf(frame.meta.mtime).getTime(),
      });
      return;
    }
    const { uid, gid } = this.#owner(frame.meta);
    if (this.#chown) await fsp.lchown(frame.path, uid, gid);
    await fsp.chmod(frame.path, frame.meta.mode);
    await fsp.lutimes(frame.path, new Date(), dateOf(frame.meta.mtime));
  }

  /** The entry, complete with attributes, under a fresh temporary name in `dir`. */
  async #createTemp(dir: Buffer, meta: EntryMeta, data: ChunkSource | undefined): Promise<Buffer> {
    switch (meta.type) {
      case 'reg':
        return this.#writeRegular(dir, meta, data);
      case 'sym': {
        const temp = await this.#withFreshName(dir, (p) => fsp.symlink(meta.linkname, p));
        const { uid, gid } = this.#owner(meta);
        if (this.#chown) await fsp.lchown(temp, uid, gid);
        await fsp.lutimes(temp, new Date(), dateOf(meta.mtime));
        return temp;
      }
      case 'fifo':
      case 'chr':
      case 'blk': {
        const temp = await this.#makeSpecial(dir, meta);
        await this.#applyByPath(temp, meta);
        return temp;
      }
      case 'dir':
        throw new Error('directories are not written through a temporary name');
    }
  }

  /**
   * Regular files use synchronous calls: restores are dominated by small files, whose handful of
   * syscalls each cost far less than a thread-pool round trip apiece.
   */
  async #writeRegular(dir: Buffer, meta: EntryMeta, data: ChunkSource | undefined): Promise<Buffer> {
    if (data === undefined) throw new Error(`no data for regular file ${indexToDisplay(meta.index)}`);
    let fd = -1;
    const temp = await this.#withFreshName(dir, async (p) => {
      fd = fs.openSync(p, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    });
    try {
      if (meta.sparse) {
        // only files that had holes when backed up: a preallocated file stays allocated
        const sparse = new SparseFileWriter(fd);
        for await (const chunk of data) sparse.write(chunk);
        sparse.finish();
      } else {
        for await (const chunk of data) {
          let off = 0;
          while (off < chunk.byteLength) off += fs.writeSync(fd, chunk, off, chunk.byteLength - off);
        }
      }
      const { uid, gid } = this.#owner(meta);
      if (this.#chown) fs.fchownSync(fd, uid, gid);
      fs.fchmodSync(fd, meta.mode);
      fs.futimesSync(fd, new Date(), dateOf(meta.mtime));
      fs.closeSync(fd);
    } catch (e) {
      try {
        fs.closeSync(fd);
      } catch {
        /* already closed */
      }
      await fsp.unlink(temp).catch(() => {});
      throw e;
    }
    return temp;
  }

  /**
   * Node cannot mknod, so coreutils does it. Arguments must be strings, so the node is made under
   * an ASCII name in the nearest directory whose path survives UTF-8 decoding, then renamed (by
   * Buffer path) into `dir`.
   */
  async #makeSpecial(dir: Buffer, meta: EntryMeta): Promise<Buffer> {
    let cwd = dir;
    while (!Buffer.from(cwd.toString('utf8'), 'utf8').equals(cwd)) cwd = parentOf(cwd);
    const cwdString = cwd.toString('utf8');
    const made = await this.#withFreshName(cwd, async (_p, name) => {
      const args =
        meta.type === 'fifo'
          ? ['mkfifo', ['-m', '600', '--', name]]
          : ['mknod', ['-m', '600', '--', name, meta.type === 'chr' ? 'c' : 'b', String(meta.devmajor), String(meta.devminor)]];
      try {
        await execFileAsync(args[0] as string, args[1] as string[], { cwd: cwdString });
      } catch (e) {
        const stderr = String((e as { stderr?: unknown }).stderr ?? '').trim();
        // Report an existing name as EEXIST so a fresh one is tried.
        if (/File exists/.test(stderr)) throw Object.assign(new Error(stderr), { code: 'EEXIST' });
        throw new Error(`cannot create ${meta.type} ${indexToDisplay(meta.index)}: ${stderr || (e as Error).message}`);
      }
    });
    if (cwd === dir) return made;
    try {
      return await this.#withFreshName(dir, async (p) => {
        if (await lstatOrNull(p)) throw Object.assign(new Error('exists'), { code: 'EEXIST' });
        await fsp.rename(made, p);
      });
    } catch (e) {
      await fsp.rm(made, { force: true }).catch(() => {});
      throw e;
    }
  }

  async #applyByPath(path: Buffer, meta: EntryMeta): Promise<void> {
    const { uid, gid } = this.#owner(meta);
    if (this.#chown) await fsp.lchown(path, uid, gid);
    await fsp.chmod(path, meta.mode);
    await fsp.lutimes(path, new Date(), dateOf(meta.mtime));
  }

  /** Runs `create` on `dir/.permafrost-restore.N` until a name is free; returns that path. */
  async #withFreshName(dir: Buffer, create: (path: Buffer, name: string) => Promise<unknown>): Promise<Buffer> {
    for (let attempt = 0; attempt < 1000; attempt++) {
      const name = restoreTempName(++this.#tempCounter);
      const path = Buffer.concat([dir, SLASH, Buffer.from(name)]);
      try {
        await create(path, name);
        return path;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
    throw new Error(`cannot find a free temporary name in ${dir.toString()}`);
  }

  /** Renames a finished temporary entry onto its real name, clearing the way with --force. */
  async #moveIntoPlace(temp: Buffer, path: Buffer): Promise<void> {
    // Without --force the target started empty and indexes strictly increase, so nothing can be
    // in the way; with it, a directory must go first (rename replaces only non-directories).
    if (this.#force) {
      const existing = await lstatOrNull(path);
      if (existing?.isDirectory()) await fsp.rm(path, { recursive: true, force: true });
    }
    try {
      fs.renameSync(temp, path);
    } catch (e) {
      await fsp.rm(temp, { force: true }).catch(() => {});
      throw e;
    }
  }

  /** Duplicity's rule: the name's id on this system when it exists, else the archived number. */
  #owner(meta: EntryMeta): { uid: number; gid: number } {
    if (this.#numericOwner) return { uid: meta.uid, gid: meta.gid };
    return { uid: this.#ids.uidOf(meta.uname) ?? meta.uid, gid: this.#ids.gidOf(meta.gname) ?? meta.gid };
  }
}

/**
 * The owner and group of a file created anywhere below `target` while the restore runs: this
 * process's effective ids, or the target's group when the target is setgid (Linux then gives new
 * files, and new directories with the bit again, the directory's group). The directories below
 * the target get their own modes only after their files. null when unknown (no chown skipped).
 */
async function creatorBelow(target: Buffer): Promise<{ uid: number; gid: number } | null> {
  const uid = process.geteuid?.();
  const gid = process.getegid?.();
  if (uid === undefined || gid === undefined) return null;
  const st = await lstatOrNull(target);
  if (st === null || !st.isDirectory()) return null;
  return { uid, gid: st.mode & S_ISGID ? st.gid : gid };
}

/**
 * An existing directory we are about to write into and give its archived mode when left: owner
 * write and search added if they are missing (a non-root restore --force over an earlier restore
 * of read-only directories would fail with EACCES). Root needs neither.
 */
async function writableUntilLeft(path: Buffer, st: Stats): Promise<void> {
  const uid = process.geteuid?.();
  if (uid === undefined || uid === 0 || st.uid !== uid || (st.mode & 0o300) === 0o300) return;
  await fsp.chmod(path, (st.mode & 0o7777) | 0o300);
}

interface DirFrame {
  readonly index: PathIndex;
  readonly path: Buffer;
  /** null for directories the archive did not describe: left as created. */
  readonly meta: EntryMeta | null;
}

/** The "refuses a non-empty destination" rule: true when `path` does not exist or is an empty directory. */
export async function isEmptyOrMissingDir(path: Buffer): Promise<boolean> {
  const st = await lstatOrNull(path);
  if (st === null) return true;
  if (!st.isDirectory()) return false;
  const dir = await fsp.opendir(path);
  try {
    return (await dir.read()) === null;
  } finally {
    await dir.close().catch(() => {});
  }
}

async function lstatOrNull(path: Buffer): Promise<Stats | null> {
  try {
    return await fsp.lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** A component from an archive must name an entry inside its directory, nothing else. */
function checkComponent(name: Buffer): void {
  if (name.length === 0) throw new Error('empty path component in restore entry');
  if (name.includes(0x2f) || name.includes(0)) {
    throw new Error(`invalid path component ${JSON.stringify(name.toString('latin1'))} in restore entry`);
  }
  if (name[0] === 0x2e && (name.length === 1 || (name.length === 2 && name[1] === 0x2e))) {
    throw new Error(`path component ${JSON.stringify(name.toString('latin1'))} in restore entry`);
  }
}

/** Node turns negative numbers into "now"; a Date carries pre-1970 times through. */
function dateOf(seconds: number): Date {
  const date = new Date(seconds * 1000);
  if (Number.isNaN(date.getTime())) throw new Error(`mtime ${seconds} is out of range`);
  return date;
}

/** dirname on bytes (latin1 maps every byte to one char and back). */
function parentOf(path: Buffer): Buffer {
  return Buffer.from(dirname(path.toString('latin1')), 'latin1');
}

/** Regular files up to this size go to the worker; larger ones stream through this thread. */
const SMALL_FILE = 1024 * 1024;
const S_ISGID = 0o2000;

function stripTrailingSlashes(p: Buffer): Buffer {
  let end = p.length;
  while (end > 1 && p[end - 1] === 0x2f) end--;
  return p.subarray(0, end);
}
