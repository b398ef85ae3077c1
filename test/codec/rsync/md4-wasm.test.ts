/**
 * The WebAssembly MD4 (md4.c, behind md4Into) against the TypeScript one (md4IntoTs) and RFC
 * 1320's test vectors, at every length around the 64-byte block and padding boundaries, on random
 * inputs, truncated outputs, and inputs over its 1 MiB scratch area (which take the TypeScript path).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../support/duplicity.ts';
import { fileCleanup, tmpDir } from '../../support/tmp.ts';
import { batchesBlockLength, MIN_BATCH_BLOCK, md4Into, md4IntoTs, signatureRecordsInto } from '../../../src/codec/rsync/md4.ts';
import { rollsum } from '../../../src/codec/rsync/rollsum.ts';
import { RFC1320 } from './md4-vectors.ts';

const hooks = fileCleanup();

test('the committed WebAssembly is what md4.c compiles to (clang and lld, as scripts/install-test-deps.sh installs)', () => {
  const out = join(tmpDir(hooks, 'md4-wasm'), 'md4-wasm-module.ts');
  const r = spawnSync('bash', [join(PROJECT_ROOT, 'scripts/build-md4-wasm.sh'), out], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stderr}(install the compiler with: apt-get install clang lld)`);
  assert.equal(
    readFileSync(out, 'utf8'),
    readFileSync(join(PROJECT_ROOT, 'src/codec/rsync/md4-wasm-module.ts'), 'utf8'),
    'md4-wasm-module.ts is stale: run bash scripts/build-md4-wasm.sh',
  );
});

test('the TypeScript MD4 (the oracle below) passes RFC 1320 (md4.test.ts checks md4, which runs the WebAssembly)', () => {
  const out = Buffer.alloc(16);
  for (const [text, hex] of RFC1320) {
    const input = Buffer.from(text, 'latin1');
    md4IntoTs(input, 0, input.length, out, 0);
    assert.equal(out.toString('hex'), hex, JSON.stringify(text));
  }
});

test('the WebAssembly MD4 equals the TypeScript one at every length up to 300 bytes and at offsets', () => {
  const data = randomBytes(1200);
  const a = Buffer.alloc(16);
  const b = Buffer.alloc(16);
  for (let len = 0; len <= 300; len++) {
    for (const start of [0, 1, 3, 517]) {
      md4Into(data, start, start + len, a, 0);
      md4IntoTs(data, start, start + len, b, 0);
      assert.ok(a.equals(b), `length ${len} at ${start}`);
    }
  }
});

test('random blocks, truncated digests, and inputs past the 1 MiB scratch area', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 9000 }), fc.integer({ min: 0, max: 16 }), (bytes, outLen) => {
      const a = Buffer.alloc(20, 0xee);
      const b = Buffer.alloc(20, 0xee);
      md4Into(bytes, 0, bytes.length, a, 2, outLen);
      md4IntoTs(bytes, 0, bytes.length, b, 2, outLen);
      assert.ok(a.equals(b));
    }),
    { numRuns: 500 },
  );
  const big = randomBytes((1 << 20) + 77);
  const a = Buffer.alloc(16);
  const b = Buffer.alloc(16);
  for (const end of [1 << 20, (1 << 20) + 77]) {
    md4Into(big, 0, end, a, 0);
    md4IntoTs(big, 0, end, b, 0);
    assert.ok(a.equals(b), String(end));
  }
  assert.throws(() => md4Into(big, 0, 16, Buffer.alloc(8), 0), RangeError);
});

test('signature records from WebAssembly equal rollsum.ts and the TypeScript MD4 per block, across its 1 MiB input steps', () => {
  const check = (data: Buffer, blockLen: number, strongLen: number, offset: number) => {
    const record = 4 + strongLen;
    const blocks = Math.ceil((data.length - offset) / blockLen);
    const got = Buffer.alloc(3 + blocks * record, 0xee);
    signatureRecordsInto(data, offset, data.length, blockLen, strongLen, got, 3);
    const want = Buffer.alloc(3 + blocks * record, 0xee);
    for (let i = 0; i < blocks; i++) {
      const start = offset + i * blockLen;
      const end = Math.min(data.length, start + blockLen);
      want.writeUInt32BE(rollsum(data, start, end), 3 + i * record);
      md4IntoTs(data, start, end, want, 3 + i * record + 4, strongLen);
    }
    assert.ok(got.equals(want), `block ${blockLen}, strong ${strongLen}, ${data.length - offset} bytes`);
  };
  fc.assert(
    fc.property(
      fc.integer({ min: MIN_BATCH_BLOCK, max: 5000 }),
      fc.integer({ min: 1, max: 16 }),
      fc.integer({ min: 0, max: 20_000 }),
      fc.integer({ min: 0, max: 100 }),
      (blockLen, strongLen, length, offset) => {
        check(randomBytes(length + offset), blockLen, strongLen, offset);
      },
    ),
    { numRuns: 150 },
  );
  // over the scratch area: several calls, and blocks that do not divide 1 MiB
  const big = randomBytes(3 * 1024 * 1024 + 777);
  for (const blockLen of [512, 2048, 3000, 65536, 1024 * 1024]) check(big, blockLen, 8, 5);
  assert.throws(() => signatureRecordsInto(big, 0, 10, MIN_BATCH_BLOCK - 1, 8, Buffer.alloc(100), 0), RangeError);
  assert.throws(() => signatureRecordsInto(big, 0, 10, 1024 * 1024 + 1, 8, Buffer.alloc(100), 0), RangeError);
  assert.equal(batchesBlockLength(1024 * 1024 + 1), false);
  assert.throws(() => signatureRecordsInto(big, 0, 2000, 512, 8, Buffer.alloc(47), 0), RangeError);
});
