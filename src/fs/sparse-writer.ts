import * as fs from 'node:fs';

/**
 * Writes a file's content into a freshly created, empty file, leaving a hole wherever a whole
 * aligned block of the file system is zero (`cp --sparse=always` style): those blocks are skipped,
 * never written, and `finish` sets the length so that a trailing run of zeros is a hole too.
 * Blocks are aligned to file offsets, so a block split across two chunks, or the unaligned head
 * and tail of a chunk, is written as data. Used only for files that were sparse when backed up
 * (see RestoreWriter): a file that was fully allocated stays fully allocated.
 */
export class SparseFileWriter {
  readonly #fd: number;
  readonly #block: number;
  readonly #zero: Buffer;
  #position = 0;

  /** `fd` is open for writing on an empty file; the block is the file system's (st_blksize). */
  constructor(fd: number) {
    this.#fd = fd;
    this.#block = holeBlock(fs.fstatSync(fd).blksize);
    this.#zero = Buffer.alloc(this.#block);
  }

  /** Bytes of content given so far: the file's length after `finish`. */
  get length(): number {
    return this.#position;
  }

  write(chunk: Uint8Array): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const block = this.#block;
    const start = this.#position;
    const end = buf.length;
    // the first block boundary inside the chunk; what precedes it is written as data
    let p = Math.min(end, (block - (start % block)) % block);
    let dataFrom = 0;
    for (; p + block <= end; p += block) {
      if (!this.#zero.equals(buf.subarray(p, p + block))) continue;
      this.#writeAt(buf, dataFrom, p, start);
      dataFrom = p + block;
    }
    this.#writeAt(buf, dataFrom, end, start);
    this.#position = start + end;
  }

  /** Sets the final length (a trailing hole); the caller closes the file. */
  finish(): void {
    fs.ftruncateSync(this.#fd, this.#position);
  }

  #writeAt(buf: Buffer, from: number, to: number, base: number): void {
    while (from < to) from += fs.writeSync(this.#fd, buf, from, to - from, base + from);
  }
}

/** st_blksize when it is a power of two of at least 4 KiB (capped at 1 MiB), else 4 KiB. */
function holeBlock(blksize: number): number {
  if (!Number.isInteger(blksize) || blksize < MIN_BLOCK || (blksize & (blksize - 1)) !== 0) return MIN_BLOCK;
  return Math.min(blksize, MAX_BLOCK);
}

const MIN_BLOCK = 4096;
const MAX_BLOCK = 1024 * 1024;

/** A new file (created exclusively, mode 0600) written through a SparseFileWriter. */
export class SparseFile {
  readonly #fd: number;
  readonly #writer: SparseFileWriter;

  constructor(path: string) {
    this.#fd = fs.openSync(path, 'wx', 0o600);
    try {
      this.#writer = new SparseFileWriter(this.#fd);
    } catch (e) {
      fs.closeSync(this.#fd);
      throw e;
    }
  }

  write(chunk: Uint8Array): void {
    this.#writer.write(chunk);
  }

  /** Sets the length and closes the file. */
  close(): void {
    try {
      this.#writer.finish();
    } finally {
      fs.closeSync(this.#fd);
    }
  }

  /** Closes the file as it is (the caller removes it). */
  destroy(): void {
    try {
      fs.closeSync(this.#fd);
    } catch {
      /* already closed */
    }
  }
}
