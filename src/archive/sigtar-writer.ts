import { endOfArchive } from '../codec/tar/writer.ts';
import type { Encryption } from '../crypto/encryption.ts';
import { FileByteSink } from './byte-sink.ts';

/**
 * Writes a signature tar: one whole tar with an end-of-archive marker (docs/duplicity-format.md §4). The remote copy is
 * encrypted, gzipped or plain as the options say; the local cache always keeps a gzipped copy, so
 * with encryption or --no-compression both are written in one pass.
 */
export class SigtarWriter {
  readonly #remote: FileByteSink;
  readonly #cache: FileByteSink | null;
  #bytes = 0;

  constructor(remotePath: string, cachePath: string, gzip: boolean, encryption: Encryption | null = null, level?: number, jobs?: number) {
    const threads = jobs ? { jobs } : {};
    this.#remote = new FileByteSink(remotePath, { gzip, sha1: false, encryption, level, ...threads });
    this.#cache = gzip && !encryption ? null : new FileByteSink(cachePath, { gzip: true, sha1: false, level, ...threads });
  }

  async add(parts: readonly Buffer[]): Promise<void> {
    for (const p of parts) this.#bytes += p.length;
    await this.#remote.write(parts);
    if (this.#cache) await this.#cache.write(parts);
  }

  /** Closes both files; when the remote copy is gzipped it doubles as the cache copy. */
  async finish(): Promise<{ remoteSize: number; cacheIsRemote: boolean }> {
    const tail = endOfArchive(this.#bytes);
    await this.add([tail]);
    const { size } = await this.#remote.close();
    if (this.#cache) await this.#cache.close();
    return { remoteSize: size, cacheIsRemote: this.#cache === null };
  }

  abort(): void {
    this.#remote.destroy();
    this.#cache?.destroy();
  }
}
