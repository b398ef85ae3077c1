import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Crc32c } from '@aws-sdk/checksums/crc';
import { checksumFile } from '../../src/backend/file-checksums.ts';
import { tmpDir } from '../support/tmp.ts';

async function oracle(data: Uint8Array): Promise<number> {
  const h = new Crc32c();
  h.update(data);
  return Buffer.from(await h.digest()).readUInt32BE(0);
}

test('parts cover the file in order, each with its CRC-32C, and the whole CRC matches', async (t) => {
  const dir = tmpDir(t, 'file-checksums');
  for (const [size, partSize] of [
    [0, 5],
    [1, 5],
    [10, 5],
    [11, 5],
    [(3 << 20) + 17, 1 << 20],
    [2_500_000, 2_500_000],
  ] as const) {
    const data = randomBytes(size);
    const file = join(dir, `f${size}-${partSize}`);
    writeFileSync(file, data);
    const sums = await checksumFile(file, partSize);
    assert.equal(sums.size, size);
    assert.equal(sums.crc32c, await oracle(data), `${size}/${partSize}`);
    assert.equal(sums.parts.length, Math.max(1, Math.ceil(size / partSize)));
    let offset = 0;
    for (const p of sums.parts) {
      assert.equal(p.offset, offset);
      assert.equal(p.number, sums.parts.indexOf(p) + 1);
      assert.equal(p.crc32c, await oracle(data.subarray(p.offset, p.offset + p.length)));
      offset += p.length;
    }
    assert.equal(offset, size);
  }
});
