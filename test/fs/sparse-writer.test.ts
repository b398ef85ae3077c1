/**
 * SparseFileWriter on real files: the content read back equals what was given whatever the
 * chunking (aligned or not), whole zero blocks become holes (st_blocks), and a trailing run of
 * zeros keeps the file's length.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SparseFileWriter } from '../../src/fs/sparse-writer.ts';
import { tmpDir } from '../support/tmp.ts';

const hooks = {
  after: (fn: () => unknown) => {
    after(fn as () => void);
  },
};
const MiB = 1024 * 1024;

/** Writes `content` through a SparseFileWriter in chunks of the given sizes (cycled). */
function writeSparse(path: string, content: Buffer, chunkSizes: readonly number[]): void {
  const fd = openSync(path, 'wx', 0o600);
  try {
    const w = new SparseFileWriter(fd);
    let at = 0;
    for (let i = 0; at < content.length; i++) {
      const n = Math.min(chunkSizes[i % chunkSizes.length]!, content.length - at);
      w.write(content.subarray(at, at + n));
      at += n;
    }
    assert.equal(w.length, content.length);
    w.finish();
  } finally {
    closeSync(fd);
  }
}

/** 16 MiB: data at the start, a 64 KiB island at 5 MiB + 100, an odd-sized piece, zeros to the end. */
function sample(): Buffer {
  const b = Buffer.alloc(16 * MiB);
  randomBytes(300_000).copy(b, 0);
  randomBytes(65536).copy(b, 5 * MiB + 100);
  b[9 * MiB + 4095] = 0x5a; // never zero
  return b;
}

describe('SparseFileWriter', () => {
  const dir = tmpDir(hooks, 'sparse-writer');

  for (const [label, sizes] of [
    ['64 KiB chunks', [65536]],
    ['unaligned chunks', [1000, 70_001, 3, 4097, 1 << 20]],
    ['one chunk', [16 * MiB]],
  ] as const) {
    it(`${label}: content equal, zero blocks are holes, trailing zeros keep the length`, () => {
      const content = sample();
      const path = join(dir, label.replace(/ /g, '-'));
      writeSparse(path, content, sizes);
      const st = statSync(path);
      assert.equal(st.size, content.length);
      assert.ok(readFileSync(path).equals(content), 'content differs');
      // 300 000 + 65 536 + 1 bytes of data, each piece rounded out to blocks (up to 1 MiB each
      // where a chunk boundary splits a block); 16 MiB when nothing became a hole
      assert.ok(st.blocks * 512 <= 4 * MiB, `allocated ${st.blocks * 512} bytes of ${content.length}`);
    });
  }

  it('an all-zero file is one hole of the right length', () => {
    const path = join(dir, 'zeros');
    writeSparse(path, Buffer.alloc(8 * MiB), [65536]);
    const st = statSync(path);
    assert.equal(st.size, 8 * MiB);
    assert.equal(st.blocks, 0);
    assert.ok(readFileSync(path).equals(Buffer.alloc(8 * MiB)));
  });

  it('a file without whole zero blocks is written in full', () => {
    const content = randomBytes(3 * MiB + 17);
    const path = join(dir, 'dense');
    writeSparse(path, content, [65536, 12_345]);
    const st = statSync(path);
    assert.ok(readFileSync(path).equals(content));
    assert.ok(st.blocks * 512 >= content.length, `allocated ${st.blocks * 512} of ${content.length}`);
  });
});
