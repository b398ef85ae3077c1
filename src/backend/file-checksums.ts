import * as fsp from 'node:fs/promises';
import { crc32c, crc32cCombine } from './crc32c.ts';

/** A byte range of a file to upload as one request, with its CRC-32C. */
export interface FilePart {
  /** 1-based, as S3 numbers parts */
  readonly number: number;
  readonly offset: number;
  readonly length: number;
  readonly crc32c: number;
}

export interface FileChecksums {
  readonly size: number;
  readonly parts: readonly FilePart[];
  /** CRC-32C of the whole file (S3's FULL_OBJECT value). */
  readonly crc32c: number;
}

const CHUNK = 1 << 20;

/**
 * Reads a file once and checksums it in `partSize` ranges (one range when `partSize` is at least
 * the size). Done before any byte is sent, so that S3 can refuse bytes that changed on the way.
 */
export async function checksumFile(path: string, partSize: number): Promise<FileChecksums> {
  const fh = await fsp.open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const buf = Buffer.allocUnsafe(CHUNK);
    const parts: FilePart[] = [];
    let whole = 0;
    let offset = 0;
    do {
      const length = Math.min(partSize, size - offset);
      let crc = 0;
      let done = 0;
      while (done < length) {
        const want = Math.min(CHUNK, length - done);
        const { bytesRead } = await fh.read(buf, 0, want, offset + done);
        if (bytesRead === 0) throw new Error(`${path} shrank while being checksummed`);
        crc = crc32c(buf.subarray(0, bytesRead), crc);
        done += bytesRead;
      }
      parts.push({ number: parts.length + 1, offset, length, crc32c: crc });
      whole = parts.length === 1 ? crc : crc32cCombine(whole, crc, length);
      offset += length;
    } while (offset < size);
    return { size, parts, crc32c: whole };
  } finally {
    await fh.close();
  }
}
