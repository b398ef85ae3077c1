import fc from 'fast-check';
import { TarReader, type TarEntry, type TarReaderOptions } from '../../../src/codec/tar/reader.ts';

/**
 * `bytes` cut at the given sizes (cycled), some pieces as plain Uint8Array views. Pieces grow so
 * that there are at most about 3000 of them, which keeps big inputs fast.
 */
export async function* chunked(bytes: Buffer, sizes: readonly number[] = [bytes.length || 1]): AsyncGenerator<Uint8Array> {
  const least = Math.ceil(bytes.length / 3000);
  let i = 0;
  for (let pos = 0; pos < bytes.length; i++) {
    const n = Math.max(1, least, sizes[i % sizes.length]!);
    const piece = bytes.subarray(pos, pos + n);
    yield i % 3 === 2 ? new Uint8Array(piece.buffer, piece.byteOffset, piece.length) : piece;
    pos += n;
  }
}

/** Random chunkings: from one byte at a time to large pieces. */
export const chunkSizes: fc.Arbitrary<readonly number[]> = fc.oneof(
  fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 20 }),
  fc.array(fc.integer({ min: 1, max: 70000 }), { minLength: 1, maxLength: 5 }),
  fc.constant([1] as const),
);

export async function readAll(source: AsyncIterable<Uint8Array>, opts?: TarReaderOptions): Promise<TarEntry[]> {
  const reader = new TarReader(source, opts);
  const out: TarEntry[] = [];
  for (let e = await reader.next(); e !== null; e = await reader.next()) out.push(e);
  return out;
}
