/** ManifestHeadReader compared with parseManifest(…, { fileList: false }) (manifest-head*.test.ts). */
import assert from 'node:assert/strict';
import { parseManifest, type Manifest } from '../../src/codec/manifest.ts';
import { ManifestHeadReader } from '../../src/codec/manifest-head.ts';

export function streamed(buf: Buffer, chunk: number): Manifest {
  const reader = new ManifestHeadReader();
  const scratch = Buffer.alloc(chunk); // reused, as the cache's reader reuses its buffer
  for (let at = 0; at < buf.length; at += chunk) {
    const n = buf.copy(scratch, 0, at, Math.min(buf.length, at + chunk));
    reader.push(scratch.subarray(0, n));
  }
  return reader.end();
}

function outcome(f: () => Manifest): { ok: Manifest } | { error: string } {
  try {
    return { ok: f() };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** The reader agrees with parseManifest on `buf` in chunks of each size; returns parseManifest's outcome. */
export function agrees(buf: Buffer, chunks: readonly number[] = [1, 2, 3, 5, 64, 4096, buf.length + 1]): ReturnType<typeof outcome> {
  const want = outcome(() => parseManifest(buf, { fileList: false }));
  for (const chunk of chunks) {
    assert.deepEqual(
      outcome(() => streamed(buf, chunk)),
      want,
      `chunk ${chunk}: ${JSON.stringify(buf.toString('latin1').slice(0, 300))}`,
    );
  }
  return want;
}
