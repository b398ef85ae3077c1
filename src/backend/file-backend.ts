import { createReadStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import {
  BackendError,
  type Backend,
  type ConditionalStore,
  type Leftovers,
  type PutOptions,
  type RemoteObjectInfo,
  type TaggedObject,
} from './backend.ts';

/**
 * A directory as a target. Writes go to a hidden temporary name in the same directory and are
 * hard-linked into place, which fails when the name exists: a crash never leaves a half-written
 * object under a real name, and no object is ever replaced.
 */
export class FileBackend implements Backend, Leftovers {
  readonly displayUrl: string;
  readonly #dir: string;
  #ensured = false;
  readonly conditional: ConditionalStore;

  constructor(dir: string, displayUrl: string) {
    this.#dir = dir;
    this.displayUrl = displayUrl;
    this.conditional = {
      read: (name) => this.#readTagged(name),
      write: (name, bytes, expect) => this.#writeIf(name, bytes, expect),
      remove: (name, tag) => this.#removeIf(name, tag),
    };
  }

  async list(): Promise<RemoteObjectInfo[]> {
    let names: string[];
    try {
      names = await fsp.readdir(this.#dir);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return [];
      throw this.#wrap(err, 'list');
    }
    const out: RemoteObjectInfo[] = [];
    for (const name of names) {
      if (name.startsWith(TEMP_PREFIX)) continue;
      try {
        const st = await fsp.stat(path.join(this.#dir, name));
        if (st.isFile()) out.push({ name, size: st.size });
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw this.#wrap(err, `stat ${name}`);
      }
    }
    return out;
  }

  async putFile(localPath: string, name: string, options: PutOptions): Promise<void> {
    checkName(name);
    await this.#ensureDir();
    const tmp = this.#tempName();
    try {
      if (!(options.consumeLocal && (await moved(localPath, tmp)))) await fsp.copyFile(localPath, tmp);
      const fh = await fsp.open(tmp, 'r+');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      await this.#linkNew(tmp, name);
    } catch (err) {
      throw err instanceof BackendError ? err : this.#wrap(err, `write ${name}`);
    } finally {
      await fsp.rm(tmp, { force: true });
    }
  }

  /** link() never replaces: the one atomic "create under this name if absent" of POSIX file systems. */
  async #linkNew(tmp: string, name: string): Promise<void> {
    const dest = path.join(this.#dir, name);
    try {
      try {
        await fsp.link(tmp, dest);
      } catch (err) {
        // file systems without hard links (some FUSE and SMB mounts): an exclusive copy, not atomic
        if (!isErrno(err, 'EPERM') && !isErrno(err, 'ENOTSUP') && !isErrno(err, 'EOPNOTSUPP') && !isErrno(err, 'ENOSYS')) throw err;
        await fsp.copyFile(tmp, dest, fsp.constants.COPYFILE_EXCL);
      }
    } catch (err) {
      if (isErrno(err, 'EEXIST'))
        throw new BackendError('exists', `${this.displayUrl}: ${name} already exists; it is never replaced`, { cause: err });
      throw err;
    }
  }

  // --- conditional writes (the target lock) -------------------------------------------------
  // Tags are content hashes: every version of a lock object carries a unique token. Replacing or
  // deleting version T "only if unchanged" first creates a claim file for T exclusively (O_EXCL),
  // which only one process can do; the claimer checks that the object is still T and renames the
  // new version over it (atomic: the name never goes missing). A claim whose process died inside
  // this millisecond step is followed, once stale, by a claim of the next generation.

  async #readTagged(name: string): Promise<TaggedObject | null> {
    checkName(name);
    const file = path.join(this.#dir, name);
    try {
      const fh = await fsp.open(file, 'r');
      try {
        const st = await fh.stat();
        const bytes = await fh.readFile();
        return { bytes, tag: contentTag(bytes), modified: Math.floor(st.mtimeMs / 1000) };
      } finally {
        await fh.close();
      }
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return null;
      throw this.#wrap(err, `read ${name}`);
    }
  }

  async #writeIf(name: string, bytes: Buffer, expect: 'absent' | { readonly tag: string }): Promise<string | null> {
    checkName(name);
    await this.#ensureDir();
    const tmp = this.#tempName();
    try {
      await fsp.writeFile(tmp, bytes, { flush: true });
      if (expect === 'absent') {
        try {
          await this.#linkNew(tmp, name);
        } catch (err) {
          if (err instanceof BackendError && err.code === 'exists') return null;
          throw err;
        }
      } else {
        const replaced = await this.#whileClaimed(name, expect.tag, () => fsp.rename(tmp, path.join(this.#dir, name)));
        if (!replaced) return null;
      }
      return contentTag(bytes);
    } catch (err) {
      throw err instanceof BackendError ? err : this.#wrap(err, `write ${name}`);
    } finally {
      await fsp.rm(tmp, { force: true });
    }
  }

  async #removeIf(name: string, tag: string): Promise<boolean> {
    checkName(name);
    try {
      return await this.#whileClaimed(name, tag, () => fsp.unlink(path.join(this.#dir, name)));
    } catch (err) {
      throw err instanceof BackendError ? err : this.#wrap(err, `delete ${name}`);
    }
  }

  /** Runs `change` if this process gets the claim on version `tag` of `name` and it is still that version. */
  async #whileClaimed(name: string, tag: string, change: () => Promise<void>): Promise<boolean> {
    const stem = `${TEMP_PREFIX}claim-${contentTag(Buffer.from(`${name}\0${tag}`)).slice(0, 32)}-`;
    const made: string[] = [];
    try {
      for (let generation = 0; ; generation++) {
        const claim = path.join(this.#dir, `${stem}${generation}`);
        try {
          await (await fsp.open(claim, 'wx')).close();
          made.push(claim);
          break;
        } catch (err) {
          if (!isErrno(err, 'EEXIST')) throw err;
          const st = await fsp.stat(claim).catch(() => null);
          // another process holds a live claim: it decides; a claim removed just now means done
          if (st === null || Date.now() - st.mtimeMs < CLAIM_STALE_MS) return false;
        }
      }
      const current = await this.#readTagged(name);
      if (current === null || current.tag !== tag) return false;
      await change();
      return true;
    } finally {
      // version `tag` is gone now or was already: its claims serve no one any more
      for (const c of made) await fsp.rm(c, { force: true });
    }
  }

  #tempName(): string {
    return path.join(this.#dir, `${TEMP_PREFIX}${randomBytes(6).toString('hex')}`);
  }

  async get(name: string): Promise<AsyncIterable<Buffer>> {
    checkName(name);
    const p = path.join(this.#dir, name);
    try {
      await fsp.access(p);
    } catch (err) {
      throw this.#wrap(err, `read ${name}`);
    }
    return createReadStream(p, { highWaterMark: 1 << 20 });
  }

  /** A hard link when the temp dir shares the target's file system: no copy of the volume. */
  async getToFile(name: string, localPath: string): Promise<void> {
    checkName(name);
    const source = path.join(this.#dir, name);
    try {
      try {
        await fsp.link(source, localPath);
      } catch (err) {
        if (!isErrno(err, 'EXDEV') && !isErrno(err, 'EPERM') && !isErrno(err, 'EMLINK')) throw err;
        await fsp.copyFile(source, localPath);
      }
    } catch (err) {
      throw this.#wrap(err, `read ${name}`);
    }
  }

  async head(name: string): Promise<RemoteObjectInfo | null> {
    checkName(name);
    try {
      const st = await fsp.stat(path.join(this.#dir, name));
      return { name, size: st.size };
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return null;
      throw this.#wrap(err, `stat ${name}`);
    }
  }

  async delete(names: readonly string[]): Promise<void> {
    for (const name of names) {
      checkName(name);
      try {
        await fsp.unlink(path.join(this.#dir, name));
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw this.#wrap(err, `delete ${name}`);
      }
    }
  }

  async listLeftovers(): Promise<string[]> {
    try {
      return (await fsp.readdir(this.#dir)).filter((n) => n.startsWith(TEMP_PREFIX));
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return [];
      throw this.#wrap(err, 'list');
    }
  }

  async close(): Promise<void> {}

  async #ensureDir(): Promise<void> {
    if (this.#ensured) return;
    try {
      await fsp.mkdir(this.#dir, { recursive: true });
      this.#ensured = true;
    } catch (err) {
      // a recursive mkdir reports ENOENT where the real cause is e.g. EROFS: ask once more plainly
      const real = isErrno(err, 'ENOENT')
        ? await fsp.mkdir(this.#dir).then(
            () => null,
            (e: unknown) => e,
          )
        : err;
      if (real === null) {
        this.#ensured = true;
        return;
      }
      throw this.#wrap(real, 'create the target directory');
    }
  }

  #wrap(err: unknown, what: string): BackendError {
    const code = errnoCode(err);
    const kind = code === 'ENOENT' ? 'not-found' : code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? 'access' : 'io';
    return new BackendError(kind, `${this.displayUrl}: cannot ${what}: ${code ?? (err as Error).message}`, { cause: err });
  }
}

const TEMP_PREFIX = '.permafrost-tmp-';
/** A claim lives for milliseconds; one this old belongs to a process that died inside it. */
const CLAIM_STALE_MS = 60_000;

function contentTag(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Moves a file when source and target share a file system (no copy); false when they do not. */
async function moved(from: string, to: string): Promise<boolean> {
  try {
    await fsp.rename(from, to);
    return true;
  } catch (err) {
    if (isErrno(err, 'EXDEV')) return false;
    throw err;
  }
}

/** Remote names are flat; a name with a separator would escape the target directory. */
function checkName(name: string): void {
  if (name.length === 0 || name.includes('/') || name.includes('\0') || name === '.' || name === '..') {
    throw new BackendError('config', `invalid remote file name ${JSON.stringify(name)}`);
  }
}

function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

function isErrno(err: unknown, code: string): boolean {
  return errnoCode(err) === code;
}
