import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { gunzipFile } from '../../src/archive/gunzip-file.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';

const hooks = fileCleanup();

/** 5 MiB of half-compressible data: several reads of the two reused input buffers. */
function sample(): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < 80; i++) parts.push(randomBytes(32 * 1024), Buffer.alloc(32 * 1024, i));
  return Buffer.concat(parts);
}

async function readAll(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

describe('gunzipFile', () => {
  it('inflates a file larger than its read buffers exactly (the buffers are reused only once zlib is done with them)', async () => {
    const dir = tmpDir(hooks, 'gunzip-file');
    const plain = sample();
    const file = join(dir, 'v.gz');
    writeFileSync(file, gzipSync(plain, { level: 1 }));
    const out = await readAll(gunzipFile(file));
    assert.equal(out.length, plain.length);
    assert.equal(createHash('sha1').update(out).digest('hex'), createHash('sha1').update(plain).digest('hex'));
  });

  it('fails on a truncated or corrupt file, and on a missing one', async () => {
    const dir = tmpDir(hooks, 'gunzip-file-bad');
    const gz = gzipSync(sample());
    const truncated = join(dir, 'cut.gz');
    writeFileSync(truncated, gz.subarray(0, gz.length - 1000));
    await assert.rejects(readAll(gunzipFile(truncated)), /unexpected end of file/);
    const corrupt = join(dir, 'bad.gz');
    const bad = Buffer.from(gz);
    for (let i = 2000; i < 2100; i++) bad[i] = 0xff;
    writeFileSync(corrupt, bad);
    await assert.rejects(readAll(gunzipFile(corrupt)));
    await assert.rejects(readAll(gunzipFile(join(dir, 'missing.gz'))), { code: 'ENOENT' });
  });

  it('stops reading when the consumer destroys the stream early', async () => {
    const dir = tmpDir(hooks, 'gunzip-file-stop');
    const file = join(dir, 'v.gz');
    writeFileSync(file, gzipSync(sample(), { level: 1 }));
    const opened = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`) === file;
        } catch {
          return false;
        }
      }).length;
    const stream = gunzipFile(file);
    for await (const _ of stream) break; // destroys it
    assert.equal(stream.destroyed, true);
    // the feeder sees the close and closes the file
    for (let i = 0; i < 100 && opened() > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(opened(), 0);
  });
});
