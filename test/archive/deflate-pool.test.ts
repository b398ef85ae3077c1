import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, gunzipSync } from 'node:zlib';
import { crc32Combine } from '../../src/archive/crc32-combine.ts';
import { FileByteSink } from '../../src/archive/byte-sink.ts';
import { ThreadFile } from '../../src/archive/thread-file.ts';
import { Rng } from '../support/rng.ts';
import { tmpDir } from '../support/tmp.ts';

/** tar-like parts: headers, text, random data, 64 KiB runs of zeros (a sparse file's holes), padding. */
function parts(rng: Rng, files: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < files; i++) {
    const header = Buffer.alloc(512);
    header.write(`file-${i}`, 0);
    out.push(header);
    const kind = rng.int(5);
    if (kind === 0) out.push(Buffer.alloc(65536));
    else {
      const size = 1 + rng.int(kind === 1 ? 200_000 : 9000);
      out.push(kind === 2 ? rng.bytes(size) : rng.words(size));
      if (size % 512) out.push(Buffer.alloc(512 - (size % 512)));
    }
  }
  return out;
}

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

describe('crc32Combine', () => {
  it('gives the CRC-32 of two strings joined, for empty, short and long second parts', () => {
    const rng = new Rng(3);
    for (const [a, b] of [
      [0, 0],
      [10, 0],
      [0, 10],
      [1, 1],
      [5000, 70_000],
      [300_000, 1_000_003],
    ] as const) {
      const x = rng.bytes(a);
      const y = rng.bytes(b);
      assert.equal(crc32Combine(crc32(x), crc32(y), b), crc32(Buffer.concat([x, y])), `${a} + ${b} bytes`);
    }
  });
});

describe('--jobs: gzip files deflated by a pool of threads', () => {
  it('writes the same bytes with 1, 2 and 3 threads, through the pool and the writer both (ThreadFile)', async (t) => {
    const dir = tmpDir(t, 'deflate-pool');
    const rng = new Rng(11);
    const batches: Buffer[][] = [];
    for (let i = 0; i < 12; i++) batches.push(parts(rng, 40));
    const files = new Map<number, Buffer>();
    for (const jobs of [1, 2, 3]) {
      const path = join(dir, `jobs-${jobs}.gz`);
      const file = new ThreadFile(path, { level: 1, sha1: true, jobs });
      await file.opened();
      // issued without waiting: once the running writer has a backlog of six batches, jobs > 1
      // sends the next ones to the pool
      const writes = batches.map((b) => {
        const data = Buffer.allocUnsafeSlow(b.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const p of b) at += p.copy(data, at);
        return file.write(
          data,
          b.map((p) => p.length),
        );
      });
      const results = await Promise.all(writes);
      // every input buffer comes back whole, for reuse
      for (let i = 0; i < batches.length; i++) assert.equal(results[i]!.input.length, Buffer.concat(batches[i]!).length);
      const { size, sha1: hash } = await file.end();
      const bytes = readFileSync(path);
      assert.equal(size, bytes.length);
      assert.equal(hash, sha1(bytes));
      assert.deepEqual(gunzipSync(bytes), Buffer.concat(batches.flat()), `jobs ${jobs}: gunzip gives the input back`);
      files.set(jobs, bytes);
    }
    assert.ok(files.get(2)!.equals(files.get(1)!), '--jobs 2 wrote other bytes than --jobs 1');
    assert.ok(files.get(3)!.equals(files.get(1)!), '--jobs 3 wrote other bytes than --jobs 1');
  });

  it('writes the same bytes through FileByteSink (batches in flight), and a dropped file is deleted', async (t) => {
    const dir = tmpDir(t, 'deflate-pool-sink');
    const rng = new Rng(12);
    const input = parts(rng, 600);
    const files: Buffer[] = [];
    for (const jobs of [1, 4]) {
      const sink = new FileByteSink(join(dir, `sink-${jobs}.gz`), { gzip: true, sha1: true, level: 1, jobs });
      for (const p of input) await sink.write([p]);
      const exact = await sink.settledSize();
      assert.ok(sink.sizeBound >= exact, `bound ${sink.sizeBound} under the exact size ${exact}`);
      const { sha1: hash } = await sink.close();
      const bytes = readFileSync(join(dir, `sink-${jobs}.gz`));
      assert.equal(hash, sha1(bytes));
      assert.deepEqual(gunzipSync(bytes), Buffer.concat(input));
      files.push(bytes);
    }
    assert.ok(files[1]!.equals(files[0]!), 'FileByteSink with jobs 4 wrote other bytes than with 1');

    const dropped = join(dir, 'dropped.gz');
    const sink = new FileByteSink(dropped, { gzip: true, sha1: false, level: 1, jobs: 3 });
    for (const p of input.slice(0, 200)) await sink.write([p]);
    sink.destroy();
    // the writer deletes it after the batches already handed over
    for (let i = 0; i < 100; i++) {
      try {
        readFileSync(dropped);
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.fail('an abandoned file with batches in the pool was not deleted');
  });
});
