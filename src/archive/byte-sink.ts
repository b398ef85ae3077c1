import { createWriteStream, type WriteStream } from 'node:fs';
import { createHash, type Hash } from 'node:crypto';
import { createGzip, constants as zc, type Gzip, type ZlibOptions } from 'node:zlib';
import { once } from 'node:events';
import { OpenPgpEncryptor } from '../codec/openpgp/encrypt.ts';
import type { Encryption } from '../crypto/encryption.ts';

/**
 * A file being written, optionally through gzip (level 6, as duplicity) or OpenPGP encryption (as
 * duplicity's gpg: spec §6), that hashes and counts the bytes that reach the disk. Writes are
 * batched so that many small tar blocks cost few stream calls; compression happens in zlib's
 * thread pool, off the main thread.
 */
export class FileByteSink {
  readonly path: string;
  readonly #file: WriteStream;
  readonly #gzip: Gzip | null;
  readonly #sha1: Hash | null;
  readonly #fileDone: Promise<void>;
  readonly #encryption: Encryption | null;
  #encryptor: Promise<OpenPgpEncryptor> | null = null;
  #encryptorNow: OpenPgpEncryptor | null = null;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #rawBytes = 0;
  #diskBytes = 0;
  #error: Error | null = null;
  readonly #batchPool: Buffer[] = [];

  /** `encryption` wins over `gzip`: an encrypted file is compressed inside, never gzipped (spec §1.3). */
  constructor(path: string, opts: { gzip: boolean; sha1: boolean; encryption?: Encryption | null }) {
    this.path = path;
    this.#encryption = opts.encryption ?? null;
    this.#file = createWriteStream(path, { highWaterMark: 1 << 20 });
    this.#sha1 = opts.sha1 ? createHash('sha1') : null;
    this.#fileDone = new Promise((resolve, reject) => {
      this.#file.on('close', () => resolve());
      this.#file.on('error', (e) => { this.#error ??= e; reject(e); });
    });
    this.#fileDone.catch(() => {});
    if (opts.gzip && !this.#encryption) {
      // A deep input queue lets the packer run ahead while zlib compresses in its thread.
      // writableHighWaterMark (a stream option zlib passes on) lets the packer queue GZIP_QUEUE bytes
      const options = { level: 6, chunkSize: 256 * 1024, memLevel: 8, strategy: zc.Z_DEFAULT_STRATEGY, writableHighWaterMark: GZIP_QUEUE };
      this.#gzip = createGzip(options as ZlibOptions);
      this.#gzip.on('data', (chunk: Buffer) => this.#toDisk(chunk));
      this.#gzip.on('error', (e) => { this.#error ??= e; });
    } else {
      this.#gzip = null;
    }
  }

  /** Uncompressed bytes accepted so far. */
  get rawBytes(): number {
    return this.#rawBytes;
  }

  /**
   * A conservative estimate of the file's size if it were closed now: bytes on disk plus bytes not
   * yet compressed, counted as if incompressible.
   */
  get estimatedSize(): number {
    if (this.#encryption) return this.#diskBytes + this.#pendingBytes + (this.#encryptorNow?.queuedBytes ?? 0);
    if (!this.#gzip) return this.#rawBytes;
    return this.#diskBytes + this.#pendingBytes + this.#gzip.writableLength;
  }

  async write(parts: readonly Buffer[]): Promise<void> {
    for (const p of parts) {
      if (p.length === 0) continue;
      this.#pending.push(p);
      this.#pendingBytes += p.length;
      this.#rawBytes += p.length;
    }
    if (this.#pendingBytes >= BATCH) await this.#flush();
  }

  /** Finishes the file; returns its size and SHA1 (hex) when hashing. */
  async close(): Promise<{ size: number; sha1: string | null }> {
    await this.#flush();
    if (this.#encryption) {
      await (await this.#openEncryptor()).end();
    } else if (this.#gzip) {
      this.#gzip.end();
      await once(this.#gzip, 'end');
    }
    this.#file.end();
    await this.#fileDone;
    if (this.#error) throw this.#error;
    return { size: this.#diskBytes, sha1: this.#sha1 ? this.#sha1.digest('hex') : null };
  }

  /** Abandons the file (the caller deletes it). */
  destroy(): void {
    this.#encryptorNow?.destroy();
    this.#gzip?.destroy();
    this.#file.destroy();
  }

  async #flush(): Promise<void> {
    if (this.#error) throw this.#error;
    if (this.#pendingBytes === 0) return;
    if (this.#encryption) {
      const buf = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending, this.#pendingBytes);
      this.#pending = [];
      this.#pendingBytes = 0;
      await (await this.#openEncryptor()).write(buf);
    } else {
      const { chunk, release } = this.#takeBatch();
      if (this.#gzip) {
        if (!this.#gzip.write(chunk, release)) await waitDrain(this.#gzip);
      } else {
        this.#sha1?.update(chunk);
        this.#diskBytes += chunk.length;
        this.#file.write(chunk, release);
      }
    }
    if (this.#file.writableNeedDrain) await waitDrain(this.#file);
    if (this.#error) throw this.#error;
  }

  /**
   * Copies the pending parts into one batch buffer, reused once the stream is done with it: a
   * fresh buffer per batch would leave dead native memory waiting for a full GC (it is promoted
   * while queued), which is most of a backup's memory on many small files.
   */
  #takeBatch(): { chunk: Buffer; release: () => void } {
    const size = this.#pendingBytes;
    const pooled = size <= BATCH_CAPACITY ? this.#batchPool.pop() ?? Buffer.allocUnsafe(BATCH_CAPACITY) : null;
    const buf = pooled ?? Buffer.allocUnsafe(size);
    let at = 0;
    for (const p of this.#pending) at += p.copy(buf, at);
    this.#pending = [];
    this.#pendingBytes = 0;
    const release = pooled ? () => { if (this.#batchPool.length < POOL_LIMIT) this.#batchPool.push(pooled); } : () => {};
    return { chunk: buf.subarray(0, size), release };
  }

  /** The encryptor, once this file's key (an S2K or public-key operation) and signer are ready. */
  #openEncryptor(): Promise<OpenPgpEncryptor> {
    this.#encryptor ??= Promise.all([this.#encryption!.messageKey(), this.#encryption!.messageSigner()]).then(([key, signer]) => {
      this.#encryptorNow = new OpenPgpEncryptor({
        key,
        signer,
        compression: this.#encryption!.compression,
        output: (chunks) => { for (const c of chunks) this.#toDisk(c); },
      });
      return this.#encryptorNow;
    });
    return this.#encryptor;
  }

  #toDisk(chunk: Buffer): void {
    this.#sha1?.update(chunk);
    this.#diskBytes += chunk.length;
    this.#file.write(chunk);
  }
}

const BATCH = 256 * 1024;
/** A batch is flushed once it reaches BATCH, so it holds at most one more tar block (64 KiB + headers). */
const BATCH_CAPACITY = BATCH + 80 * 1024;
/** Enough batches for the queue of the stream they go to. */
const POOL_LIMIT = 16;
/** Bytes that may wait for zlib: enough to keep its thread busy, bounded so memory stays flat. */
const GZIP_QUEUE = 2 * 1024 * 1024;

async function waitDrain(stream: NodeJS.WritableStream & { once: (e: string, f: (...a: unknown[]) => void) => unknown }): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onDrain = () => { cleanup(); resolve(); };
    const onError = (e: unknown) => { cleanup(); reject(e); };
    const cleanup = () => {
      stream.removeListener('drain', onDrain);
      stream.removeListener('error', onError);
    };
    stream.once('drain', onDrain);
    stream.once('error', onError);
  });
}
