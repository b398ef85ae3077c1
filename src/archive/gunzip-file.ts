import * as fsp from 'node:fs/promises';
import { createGunzip, type Gunzip } from 'node:zlib';

/**
 * A gzip file's inflated bytes as a stream, its compressed bytes read through two reused buffers.
 *
 * A read stream hands zlib a fresh 1 MiB buffer per read; while zlib inflates it the restore
 * allocates enough to move the buffer to the old generation, where it waits for a full GC, which
 * V8 starts only once ~64 MiB of such memory has piled up: the malloc arena, and the RSS, kept that
 * size (bench/RESULTS.md, issue 18 session 6). A buffer is read into again only once zlib has
 * called back for its last write, that is, has consumed all of it.
 */
export function gunzipFile(file: string): Gunzip {
  const gunzip = createGunzip({ chunkSize: OUT_CHUNK });
  feed(file, gunzip).catch((e: unknown) => gunzip.destroy(e as Error));
  return gunzip;
}

async function feed(file: string, gunzip: Gunzip): Promise<void> {
  const fh = await fsp.open(file, 'r');
  try {
    const buffers = [Buffer.allocUnsafeSlow(IN_CHUNK), Buffer.allocUnsafeSlow(IN_CHUNK)];
    /** The write of each buffer still with zlib. */
    const inUse: (Promise<void> | null)[] = [null, null];
    // a stream destroyed in the middle of a write may never call back for it
    const closed = new Promise<void>((resolve) => gunzip.once('close', resolve));
    for (let turn = 0; ; turn ^= 1) {
      await Promise.race([inUse[turn], closed]);
      if (gunzip.destroyed) return;
      const buf = buffers[turn]!;
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      inUse[turn] = new Promise<void>((resolve, reject) => {
        gunzip.write(buf.subarray(0, bytesRead), (err) => (err ? reject(err) : resolve()));
      });
      // a failed write destroys the stream, which the reader sees; the loop only has to stop
      inUse[turn]!.catch(() => {});
    }
    await Promise.race([Promise.all(inUse), closed]);
    if (!gunzip.destroyed) gunzip.end();
  } finally {
    await fh.close();
  }
}

const IN_CHUNK = 1 << 20;
const OUT_CHUNK = 256 * 1024;
