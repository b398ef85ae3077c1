import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { createReadStream } from 'node:fs';
import { createGunzip, gzipSync, gunzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import type { Backend } from '../backend/backend.ts';
import { processAlive } from '../core/process-alive.ts';

/**
 * The local archive directory (`--archive-dir/--name`, spec §7.8): plaintext manifests and gzipped
 * signature tars, laid out as duplicity lays them out so that both tools can share it. It is only a
 * cache: anything missing is fetched from the target again, and files the target no longer has
 * are dropped.
 */
export class MetadataCache {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  async ensure(): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true });
  }

  /**
   * Takes the cache's lock, so that two runs never write one backup at once. A lock left by a
   * process that no longer exists is taken over.
   */
  async lock(): Promise<() => Promise<void>> {
    await this.ensure();
    const file = path.join(this.dir, LOCK_NAME);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fh = await fsp.open(file, 'wx');
        await fh.writeFile(`${process.pid}\n`);
        await fh.close();
        return async () => { await fsp.rm(file, { force: true }); };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const holder = Number((await fsp.readFile(file, 'utf8').catch(() => '')).trim());
        if (Number.isInteger(holder) && holder > 0 && processAlive(holder)) {
          throw new LockedError(`another permafrost run (pid ${holder}) holds the lock ${file}`);
        }
        await fsp.rm(file, { force: true });
      }
    }
    throw new LockedError(`cannot take the lock ${file}`);
  }

  /** The plaintext manifest, from the cache or else from the target (then cached). */
  async manifest(remoteName: string, backend: Backend, decode: Decoder): Promise<Buffer> {
    const local = path.join(this.dir, localManifestName(remoteName));
    try {
      return await fsp.readFile(local);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const bytes = await decode(remoteName, await readAll(await backend.get(remoteName)));
    await this.#writeAtomic(local, bytes);
    return bytes;
  }

  /** A signature tar's plain bytes as a stream, from the cache or else from the target (then cached). */
  async signatures(remoteName: string, backend: Backend, decode: Decoder): Promise<AsyncIterable<Buffer>> {
    const local = path.join(this.dir, localSignatureName(remoteName));
    try {
      await fsp.access(local);
    } catch {
      const plain = await decode(remoteName, await readAll(await backend.get(remoteName)));
      await this.#writeAtomic(local, gzipSync(plain, { level: 6 }));
    }
    // inflated ahead in big pieces: the thread pool keeps a few MiB ready while the walk runs, so
    // the comparison does not wait for one 16 KiB round trip after another
    return createReadStream(local, { highWaterMark: 1 << 20 }).pipe(createGunzip({ chunkSize: 256 * 1024 }));
  }

  /** Stores a manifest that was just uploaded. */
  async storeManifest(remoteName: string, plain: Buffer): Promise<void> {
    await this.#writeAtomic(path.join(this.dir, localManifestName(remoteName)), plain);
  }

  /** Stores a signature tar (already gzipped) that was just uploaded, by copying `gzPath`. */
  async storeSignatures(remoteName: string, gzPath: string): Promise<void> {
    const dest = path.join(this.dir, localSignatureName(remoteName));
    const tmp = `${dest}.tmp-${randomBytes(4).toString('hex')}`;
    await fsp.copyFile(gzPath, tmp);
    await fsp.rename(tmp, dest);
  }

  /**
   * Drops cached metadata whose remote file is gone (duplicity: local metadata is not
   * authoritative). `isMetadata` tells which local names are ours to manage.
   */
  async prune(remoteNames: readonly string[], isMetadata: (localName: string) => boolean): Promise<string[]> {
    const wanted = new Set<string>();
    for (const n of remoteNames) {
      wanted.add(localManifestName(n));
      wanted.add(localSignatureName(n));
    }
    let local: string[];
    try {
      local = await fsp.readdir(this.dir);
    } catch {
      return [];
    }
    const removed: string[] = [];
    for (const name of local) {
      if (name === LOCK_NAME || wanted.has(name) || !isMetadata(name)) continue;
      await fsp.rm(path.join(this.dir, name), { force: true });
      removed.push(name);
    }
    return removed;
  }

  async #writeAtomic(dest: string, bytes: Buffer): Promise<void> {
    await this.ensure();
    const tmp = `${dest}.tmp-${randomBytes(4).toString('hex')}`;
    await fsp.writeFile(tmp, bytes);
    await fsp.rename(tmp, dest);
  }
}

/** Turns a remote file's bytes into plain bytes (gunzip; decryption comes with the encryption issue). */
export type Decoder = (remoteName: string, bytes: Buffer) => Promise<Buffer>;

export class LockedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LockedError';
  }
}

const LOCK_NAME = 'permafrost.lock';

export function localManifestName(remoteName: string): string {
  return stripLayerSuffix(remoteName);
}

export function localSignatureName(remoteName: string): string {
  return `${stripLayerSuffix(remoteName)}.gz`;
}

function stripLayerSuffix(name: string): string {
  return name.replace(/\.(gpg|gz|g|z)$/, '');
}

export async function readAll(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of source) parts.push(chunk);
  return Buffer.concat(parts);
}

/** Plain bytes of a gzip file, for small metadata. */
export function gunzipMetadata(bytes: Buffer): Buffer {
  return gunzipSync(bytes);
}
