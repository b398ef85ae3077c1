import { createWriteStream, type WriteStream } from 'node:fs';
import { createHash, type Hash } from 'node:crypto';
import { OpenPgpEncryptor } from '../codec/openpgp/encrypt.ts';
import type { Encryption } from '../crypto/encryption.ts';
import { ThreadFile } from './thread-file.ts';

/**
 * The deflate level of gzip volumes and signatures and of the compression inside encrypted ones
 * (`--compress-level`). duplicity writes level 6; level 1 measured 1.5x faster on a backup of
 * small files for 2.6% more bytes (bench/RESULTS.md), and any level reads back the same way.
 */
export const DEFAULT_COMPRESS_LEVEL = 1;

/**
 * A file being written, plain, through gzip (as duplicity's GzipWriteFile) or OpenPGP encryption
 * (as duplicity's gpg: docs/duplicity-format.md §6), that hashes and counts the bytes that reach the disk. Writes are
 * batched so that many small tar blocks cost few calls. Plain and gzip files are hashed and
 * written by a worker thread (ThreadFile), which also compresses gzip ones, storing parts that
 * look incompressible instead of deflating them (deflateParts).
 */
export class FileByteSink {
  readonly path: string;
  /** encrypted files; null otherwise (the worker writes them) */
  readonly #file: WriteStream | null;
  readonly #threadFile: ThreadFile | null;
  readonly #sha1: Hash | null;
  readonly #level: number;
  readonly #fileDone: Promise<void>;
  readonly #encryption: Encryption | null;
  #encryptor: Promise<OpenPgpEncryptor> | null = null;
  #encryptorNow: OpenPgpEncryptor | null = null;
  #pendingLengths: number[] = [];
  #pendingBytes = 0;
  /** Batches handed to the worker and not yet written, oldest first. */
  readonly #inflight: { raw: number; written: Promise<void> }[] = [];
  #inflightBytes = 0;
  /** An upper bound of what the batches in flight will write (see sizeBound). */
  #inflightBound = 0;
  /** Resolves when every batch handed to the worker so far is written. */
  #written: Promise<void> = Promise.resolve();
  #rawBytes = 0;
  #diskBytes = 0;
  #error: Error | null = null;
  readonly #batchPool: Buffer[] = [];
  /** The batch being filled (its first #pendingBytes bytes); null before the first write. */
  #batch: Buffer | null = null;

  /**
   * `encryption` wins over `gzip`: an encrypted file is compressed inside, never gzipped (docs/duplicity-format.md §1.3).
   * `jobs`: threads that may compress a gzip file (ThreadFile); the bytes do not depend on it.
   */
  constructor(path: string, opts: { gzip: boolean; sha1: boolean; encryption?: Encryption | null; level?: number; jobs?: number }) {
    this.path = path;
    this.#level = opts.level ?? DEFAULT_COMPRESS_LEVEL;
    this.#encryption = opts.encryption ?? null;
    if (!this.#encryption) {
      this.#file = null;
      this.#sha1 = null;
      this.#threadFile = new ThreadFile(path, {
        level: opts.gzip ? this.#level : null,
        sha1: opts.sha1,
        ...(opts.jobs ? { jobs: opts.jobs } : {}),
      });
      this.#fileDone = Promise.resolve();
      this.#track(
        this.#threadFile.opened().then((written) => ({ written })),
        0,
      );
      return;
    }
    this.#threadFile = null;
    this.#file = createWriteStream(path, { highWaterMark: 1 << 20 });
    this.#sha1 = opts.sha1 ? createHash('sha1') : null;
    const file = this.#file;
    this.#fileDone = new Promise((resolve, reject) => {
      file.on('close', () => resolve());
      file.on('error', (e) => {
        this.#error ??= e;
        reject(e);
      });
    });
    this.#fileDone.catch(() => {});
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
    return this.#diskBytes + this.#pendingBytes + this.#inflightBytes;
  }

  /**
   * The file's size if it were closed now, exactly, once every batch in flight is written (the
   * trailer aside): what a volume is cut by, so that the cut does not depend on how fast the
   * threads were. Encrypted files: estimatedSize.
   */
  async settledSize(): Promise<number> {
    if (this.#encryption) return this.estimatedSize;
    await this.#written;
    if (this.#error) throw this.#error;
    return this.#diskBytes + this.#pendingBytes;
  }

  /** At least settledSize(), known now: batches in flight counted at deflate's worst expansion. */
  get sizeBound(): number {
    if (this.#encryption) return this.estimatedSize;
    return this.#diskBytes + this.#pendingBytes + this.#inflightBound;
  }

  /**
   * Appends `parts`, copied into the batch at once: the caller may reuse their memory as soon as
   * this call returns (before it resolves).
   */
  async write(parts: readonly Buffer[]): Promise<void> {
    this.#copyIn(parts);
    if (this.#pendingBytes >= BATCH) await this.#flush();
  }

  /** Finishes the file; returns its size and SHA1 (hex) when hashing. */
  async close(): Promise<{ size: number; sha1: string | null }> {
    await this.#flush();
    if (this.#threadFile) {
      await this.#written;
      if (this.#error) throw this.#error;
      const { size, sha1 } = await this.#threadFile.end();
      return { size, sha1 };
    }
    await (await this.#openEncryptor()).end();
    this.#file!.end();
    await this.#fileDone;
    if (this.#error) throw this.#error;
    return { size: this.#diskBytes, sha1: this.#sha1 ? this.#sha1.digest('hex') : null };
  }

  /** Abandons the file (the caller deletes it; the worker deletes the files it writes too). */
  destroy(): void {
    // replies the worker still sends must not count for an abandoned file
    this.#error ??= new Error(`${this.path}: abandoned`);
    this.#encryptorNow?.destroy();
    this.#threadFile?.destroy();
    this.#file?.destroy();
  }

  async #flush(): Promise<void> {
    if (this.#error) throw this.#error;
    if (this.#pendingBytes === 0) return;
    if (this.#threadFile) {
      const lengths = this.#pendingLengths;
      const chunk = this.#takeBatch();
      const raw = chunk.length; // write() takes the chunk's memory away
      const written = this.#threadFile.write(chunk, lengths).then(({ written, input }) => {
        if (input.length === BATCH_CAPACITY && this.#batchPool.length < POOL_LIMIT) this.#batchPool.push(input);
        return { written };
      });
      this.#track(written, raw, lengths.length);
      while (this.#inflightBytes > WORKER_QUEUE) await this.#inflight[0]!.written;
      if (this.#error) throw this.#error;
      return;
    }
    // the encryptor may keep what it is given; the batch buffer is filled again
    const buf = Buffer.from(this.#batch!.subarray(0, this.#pendingBytes));
    this.#pendingLengths = [];
    this.#pendingBytes = 0;
    await (await this.#openEncryptor()).write(buf);
    if (this.#file!.writableNeedDrain) await waitDrain(this.#file!);
    if (this.#error) throw this.#error;
  }

  /**
   * Copies `parts` into the batch buffer at once. Holding the parts until the batch
   * is full instead kept a few hundred KiB of small buffers (file data, tar headers, signatures)
   * alive across many allocations, so V8 promoted them, and their dead memory then waited for a
   * full GC: 10–40 MiB of the main thread's memory on a backup of small files.
   */
  #copyIn(parts: readonly Buffer[]): void {
    let size = 0;
    for (const p of parts) size += p.length;
    if (size === 0) return;
    const need = this.#pendingBytes + size;
    let batch = this.#batch;
    if (batch === null || need > batch.length) {
      // a batch holds BATCH plus one call's parts (a 64 KiB tar block); larger calls (a big
      // file's signature) get a buffer of their own size
      const fresh =
        need <= BATCH_CAPACITY ? (this.#batchPool.pop() ?? Buffer.allocUnsafeSlow(BATCH_CAPACITY)) : Buffer.allocUnsafeSlow(need);
      if (batch !== null) {
        batch.copy(fresh, 0, 0, this.#pendingBytes);
        if (batch.length === BATCH_CAPACITY && this.#batchPool.length < POOL_LIMIT) this.#batchPool.push(batch);
      }
      batch = this.#batch = fresh;
    }
    let at = this.#pendingBytes;
    for (const p of parts) {
      if (p.length === 0) continue;
      at += p.copy(batch, at);
      this.#pendingLengths.push(p.length);
    }
    this.#pendingBytes = at;
    this.#rawBytes += size;
  }

  /**
   * The filled batch, for the worker, which takes the buffer's memory over (so it must be its
   * own, not a slice of Node's pool) and hands it back when done, to be reused: a fresh buffer per
   * batch would leave dead native memory waiting for a full GC (it is promoted while queued).
   */
  #takeBatch(): Buffer {
    const size = this.#pendingBytes;
    const buf = this.#batch!;
    this.#batch = null;
    this.#pendingLengths = [];
    this.#pendingBytes = 0;
    return buf.subarray(0, size);
  }

  /** Counts `raw` input bytes as in flight until the worker reports them written, in order. */
  #track(done: Promise<{ written: number }>, raw: number, parts = 0): void {
    const entry = { raw, written: Promise.resolve() };
    // deflate runs grow by less than 1/64 plus a few bytes each; stored blocks by 5 per 64 KiB
    const bound = raw + Math.ceil(raw / 64) + 40 * (parts + 1);
    entry.written = Promise.all([this.#written, done]).then(([, { written }]) => {
      this.#inflight.shift();
      this.#inflightBytes -= raw;
      this.#inflightBound -= bound;
      this.#diskBytes += written;
    });
    entry.written.catch((e: Error) => {
      this.#error ??= e;
    });
    this.#inflight.push(entry);
    this.#inflightBytes += raw;
    this.#inflightBound += bound;
    this.#written = entry.written;
  }

  /** The encryptor, once this file's key (an S2K or public-key operation) and signer are ready. */
  #openEncryptor(): Promise<OpenPgpEncryptor> {
    this.#encryptor ??= Promise.all([this.#encryption!.messageKey(), this.#encryption!.messageSigner()]).then(([key, signer]) => {
      this.#encryptorNow = new OpenPgpEncryptor({
        key,
        signer,
        compression: this.#encryption!.compression,
        level: this.#level,
        output: (chunks) => {
          for (const c of chunks) this.#toDisk(c);
        },
      });
      return this.#encryptorNow;
    });
    return this.#encryptor;
  }

  #toDisk(chunk: Buffer): void {
    this.#sha1?.update(chunk);
    this.#diskBytes += chunk.length;
    this.#file!.write(chunk);
  }
}

const BATCH = 256 * 1024;
/** A batch is flushed once it reaches BATCH, so it holds at most one more tar block (64 KiB + headers). */
const BATCH_CAPACITY = BATCH + 80 * 1024;
/** Enough batches for the queue of the stream they go to. */
const POOL_LIMIT = 16;
/** Bytes that may wait for the worker: enough to keep it busy, bounded so memory stays flat. */
const WORKER_QUEUE = 2 * 1024 * 1024;

async function waitDrain(stream: NodeJS.WritableStream & { once: (e: string, f: (...a: unknown[]) => void) => unknown }): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onDrain = () => {
      cleanup();
      resolve();
    };
    const onError = (e: unknown) => {
      cleanup();
      reject(e);
    };
    const cleanup = () => {
      stream.removeListener('drain', onDrain);
      stream.removeListener('error', onError);
    };
    stream.once('drain', onDrain);
    stream.once('error', onError);
  });
}
