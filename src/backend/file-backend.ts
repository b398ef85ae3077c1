import { createReadStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { BackendError, type Backend, type PutOptions, type RemoteObjectInfo } from './backend.ts';

/**
 * A directory as a target. Writes go to a hidden temporary name in the same directory and are
 * renamed into place, so a crash never leaves a half-written object under a real name.
 */
export class FileBackend implements Backend {
  readonly displayUrl: string;
  readonly #dir: string;
  #ensured = false;

  constructor(dir: string, displayUrl: string) {
    this.#dir = dir;
    this.displayUrl = displayUrl;
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
    const tmp = path.join(this.#dir, `${TEMP_PREFIX}${randomBytes(6).toString('hex')}`);
    try {
      if (!(options.consumeLocal && (await moved(localPath, tmp)))) await fsp.copyFile(localPath, tmp);
      const fh = await fsp.open(tmp, 'r+');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsp.rename(tmp, path.join(this.#dir, name));
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw this.#wrap(err, `write ${name}`);
    }
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
      const real = isErrno(err, 'ENOENT') ? await fsp.mkdir(this.#dir).then(() => null, (e: unknown) => e) : err;
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
