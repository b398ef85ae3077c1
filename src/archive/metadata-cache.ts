import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { createReadStream } from 'node:fs';
import { createGunzip, gzipSync, gunzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import type { Backend } from '../backend/backend.ts';
import { processAlive } from '../core/process-alive.ts';
import { CheckedFiles } from './checked-files.ts';
import { CorruptSignatureError, readSignatureTar, type SignatureEntry } from './signature-reader.ts';

/**
 * The local archive directory (`--archive-dir/--name`, docs/duplicity-format.md §7.8): plaintext manifests and gzipped
 * signature tars, laid out as duplicity lays them out so that both tools can share it. It is only a
 * cache: anything missing is fetched from the target again, and files the target no longer has
 * are dropped.
 */
/** Read size for cached manifests: 128 KiB, out of the 64 KiB Buffer pool. */
const MANIFEST_CHUNK = 128 * 1024;

export class MetadataCache {
  readonly dir: string;
  readonly #checked: CheckedFiles;

  constructor(dir: string) {
    this.dir = dir;
    this.#checked = new CheckedFiles(dir);
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
        return async () => {
          await fsp.rm(file, { force: true });
        };
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

  /** Where a manifest's plaintext copy is cached. */
  manifestPath(remoteName: string): string {
    return path.join(this.dir, localManifestName(remoteName));
  }

  /** The cached plaintext manifest, or null when it is not cached. */
  async cachedManifest(remoteName: string): Promise<Buffer | null> {
    try {
      return await fsp.readFile(this.manifestPath(remoteName));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  /**
   * Feeds the cached plaintext manifest to `consume` in chunks of one reused buffer (each valid
   * only during its call), so that a large manifest is never held whole; false when it is not cached.
   */
  async readCachedManifest(remoteName: string, consume: (chunk: Buffer) => void): Promise<boolean> {
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(this.manifestPath(remoteName), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    try {
      const buf = Buffer.allocUnsafeSlow(MANIFEST_CHUNK);
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, null);
        if (bytesRead === 0) return true;
        consume(buf.subarray(0, bytesRead));
      }
    } finally {
      await fh.close();
    }
  }

  /**
   * A signature file's entries, read from its cached copy, which is fetched from the target when
   * missing, or when it is not known to be intact (see CheckedFiles) and its gzip stream does not
   * inflate whole: then `warn` says which local file was replaced. All of this happens before
   * the caller reads an entry, so a backup has written nothing yet. A copy from the target is
   * parsed whole before it is cached, so its errors name the target's file. The returned entries
   * are read from the cached copy as they are consumed, always up to its gzip trailer; an error
   * there means the local file went bad under an unchanged stat: it is deleted and a
   * DamagedCacheError names it.
   */
  async signatureEntries(
    remoteName: string,
    backend: Backend,
    decode: Decoder,
    warn: (message: string) => void,
  ): Promise<AsyncIterable<SignatureEntry>> {
    const localName = localSignatureName(remoteName);
    const local = path.join(this.dir, localName);
    let st = await fsp.stat(local, { bigint: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (st && !(await this.#checked.trusts(localName, st))) {
      const problem = await gzipProblem(local);
      if (problem === null) {
        await this.#checked.record(localName, st);
      } else {
        warn(`Cached signature file ${local} is damaged (${problem}): replaced with the target's copy`);
        st = null;
      }
    }
    if (!st) {
      const plain = await decode(remoteName, await readAll(await backend.get(remoteName)));
      for await (const _ of readSignatureTar(bufferSource(plain), remoteName)) {
        /* parsed whole: a bad target copy is never cached */
      }
      await this.#writeAtomic(local, gzipSync(plain, { level: 6 }));
      await this.#checked.record(localName, await fsp.stat(local, { bigint: true }));
    }
    return this.#readChecked(local, localName, remoteName);
  }

  async *#readChecked(local: string, localName: string, remoteName: string): AsyncGenerator<SignatureEntry> {
    try {
      yield* readGzippedSignatures(local, remoteName);
    } catch (err) {
      await fsp.rm(local, { force: true });
      await this.#checked.forget(localName);
      throw new DamagedCacheError(local, problemOf(err), { cause: err });
    }
  }

  /** Stores a manifest that was just uploaded. */
  async storeManifest(remoteName: string, plain: Buffer): Promise<void> {
    await this.#writeAtomic(path.join(this.dir, localManifestName(remoteName)), plain);
  }

  /**
   * The same from a plain manifest file (a backup's own), copied: a manifest lists every path of
   * its set, ~40 MB for 1M files, which read whole was the peak of a backup's memory.
   */
  async storeManifestFile(remoteName: string, plainPath: string): Promise<void> {
    await this.ensure();
    const dest = path.join(this.dir, localManifestName(remoteName));
    const tmp = `${dest}.tmp-${randomBytes(4).toString('hex')}`;
    await fsp.copyFile(plainPath, tmp);
    await fsp.rename(tmp, dest);
  }

  /** Stores a signature tar (already gzipped) that was just uploaded, by copying `gzPath`. */
  async storeSignatures(remoteName: string, gzPath: string): Promise<void> {
    const dest = path.join(this.dir, localSignatureName(remoteName));
    const tmp = `${dest}.tmp-${randomBytes(4).toString('hex')}`;
    await fsp.copyFile(gzPath, tmp);
    await fsp.rename(tmp, dest);
    await this.#checked.record(path.basename(dest), await fsp.stat(dest, { bigint: true }));
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

/**
 * A cached file that was known to be intact fails to read: the local copy went bad (the target's
 * is not concerned). The file is already deleted, so the next run fetches it again.
 */
export class DamagedCacheError extends Error {
  readonly file: string;
  constructor(file: string, detail: string, options?: { cause?: unknown }) {
    super(
      `the cached signature file ${file} is damaged (${detail}); it was deleted, and the next run fetches the target's copy again`,
      options,
    );
    this.name = 'DamagedCacheError';
    this.file = file;
  }
}

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

/**
 * A cached (gzipped) signature tar's entries. The gzip stream is read to its trailer even when the
 * tar ends before it or the caller stops early, so that its CRC checks every byte that was used.
 */
async function* readGzippedSignatures(file: string, remoteName: string): AsyncGenerator<SignatureEntry> {
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  // inflated ahead in 64 KiB pieces: big enough that the comparison does not wait for one 16 KiB
  // round trip after another, small enough that most die young. 256 KiB pieces lived long enough
  // to be promoted, and up to 60 MiB of them waited for a full GC (bench/RESULTS.md, issue 18)
  const plain = raw.pipe(createGunzip({ chunkSize: 64 * 1024 }));
  raw.on('error', (e) => plain.destroy(e));
  const chunks = plain[Symbol.asyncIterator]();
  // without return(): the tar reader leaves the rest of the stream to the drain below
  const tarSource: AsyncIterable<Buffer> = { [Symbol.asyncIterator]: () => ({ next: () => chunks.next() }) };
  let failed = false;
  try {
    yield* readSignatureTar(tarSource, remoteName);
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    if (failed) plain.destroy();
    else
      while (!(await chunks.next()).done) {
        /* to the trailer */
      }
  }
}

/**
 * Why a cached signature file cannot be used, or null when its gzip stream inflates whole with
 * the right CRC and size. Only the gzip layer is checked: it is what goes wrong in a local file
 * (cut short, overwritten, rotten), and it costs a fifth of parsing the tar as well (100k files,
 * 16 MB gzipped: 0.15-0.3 s against ~1.05 s). The tar inside was parsed when it was fetched, or
 * written by a backup.
 */
async function gzipProblem(file: string): Promise<string | null> {
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  const plain = raw.pipe(createGunzip({ chunkSize: 256 * 1024 }));
  raw.on('error', (e) => plain.destroy(e));
  try {
    for await (const _ of plain) {
      /* inflate to the trailer */
    }
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

async function* bufferSource(bytes: Buffer): AsyncGenerator<Buffer> {
  yield bytes;
}

function problemOf(err: unknown): string {
  return err instanceof CorruptSignatureError ? err.detail : (err as Error).message;
}

/** Plain bytes of a gzip file, for small metadata. */
export function gunzipMetadata(bytes: Buffer): Buffer {
  return gunzipSync(bytes);
}
