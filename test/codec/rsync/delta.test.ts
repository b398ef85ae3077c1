import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { blockSizeFor } from '../../../src/codec/rsync/block-size.ts';
import { decodeDelta, formatDeltaCommands } from '../../../src/codec/rsync/delta-decode.ts';
import { DeltaEncoder, deltaOf } from '../../../src/codec/rsync/delta.ts';
import { applyDelta } from '../../../src/codec/rsync/patch.ts';
import { parseSignature, SignatureBuilder, signatureOf } from '../../../src/codec/rsync/signature.ts';
import { basisAndNew, bigBin, bigBinModified, blockLen, chunkSizes, chunked, exactBin } from './fixtures.ts';

function encodeChunked(signature: Buffer, data: Uint8Array, sizes: readonly number[]): Buffer {
  const encoder = new DeltaEncoder(parseSignature(signature));
  const out = chunked(data, sizes).map((c) => encoder.update(c));
  out.push(encoder.finish());
  return Buffer.concat(out);
}

test('a.txt "hello\\n" → "hello world\\n" gives the VERIFIED 18-byte delta (docs/duplicity-format.md §5.2)', () => {
  const delta = deltaOf(signatureOf(Buffer.from('hello\n'), 512), Buffer.from('hello world\n'));
  assert.equal(delta.toString('hex'), `727302360c${Buffer.from('hello world\n').toString('hex')}00`);
});

test('an unchanged 65536-byte file gives the VERIFIED mode-only delta COPY 0,65536 (docs/duplicity-format.md §5.2)', () => {
  const file = Buffer.allocUnsafe(65536);
  for (let i = 0, x = 12345; i < file.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    file[i] = x >>> 24;
  }
  const delta = deltaOf(signatureOf(file, blockSizeFor(file.length)), file);
  assert.equal(delta.toString('hex'), '72730236' + '47' + '00' + '00010000' + '00');
});

test('identical basis blocks: every match names the first of them (so exact.bin copies block 0 128 times)', () => {
  const exact = exactBin(); // period 256: all 128 blocks of 512 bytes are equal
  const commands = decodeDelta(deltaOf(signatureOf(exact, 512), exact));
  assert.equal(commands.length, 129);
  for (const c of commands.slice(0, 128)) assert.deepEqual(c, { kind: 'copy', opcode: 0x46, offset: 0, length: 512 });
});

test('big.bin with "MODIFIED" at 70000 gives the VERIFIED commands of docs/duplicity-format.md §10.3, 544 bytes', () => {
  const big = bigBin();
  const modified = bigBinModified();
  const delta = deltaOf(signatureOf(big, blockSizeFor(big.length)), modified);
  assert.equal(delta.length, 544);
  const commands = decodeDelta(delta);
  assert.deepEqual(formatDeltaCommands(commands), [
    'COPY 0,69632 (0x47)',
    'LITERAL 512 (0x42)',
    'COPY 70144,58368 (0x4e)',
    'COPY 0,20992 (0x46)',
    'COPY 149504,496 (0x4e)',
    'END',
  ]);
  const literal = commands[1];
  assert.ok(literal?.kind === 'literal');
  assert.deepEqual(literal.data, modified.subarray(69632, 70144));
});

test('an empty basis gives a slack delta of 64 KiB literals, as duplicity feeds librsync', () => {
  const data = Buffer.alloc(200000, 'abc');
  const commands = decodeDelta(deltaOf(signatureOf(Buffer.alloc(0), 2048), data));
  assert.deepEqual(formatDeltaCommands(commands), [
    'LITERAL 65536 (0x43)',
    'LITERAL 65536 (0x43)',
    'LITERAL 65536 (0x43)',
    'LITERAL 3392 (0x42)',
    'END',
  ]);
  assert.equal(deltaOf(signatureOf(Buffer.alloc(0), 512), Buffer.alloc(0)).toString('hex'), '7273023600');
  assert.equal(deltaOf(signatureOf(Buffer.alloc(0), 512), Buffer.from('hi')).toString('hex'), '72730236' + '02' + '6869' + '00');
});

test('unmatched data is cut into 32 KiB literals (librsync MAX_DATA_LEN)', () => {
  const basis = Buffer.alloc(4096, 1);
  const data = Buffer.alloc(100000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 131 + (i >> 7)) & 0xff;
  const lines = formatDeltaCommands(decodeDelta(deltaOf(signatureOf(basis, 512), data)));
  assert.deepEqual(lines, ['LITERAL 32768 (0x42)', 'LITERAL 32768 (0x42)', 'LITERAL 32768 (0x42)', 'LITERAL 1696 (0x42)', 'END']);
});

test('delta output does not depend on how the new file is chunked', () => {
  fc.assert(
    fc.property(basisAndNew, blockLen, chunkSizes, ([basis, next], bl, sizes) => {
      const sig = signatureOf(basis, bl);
      assert.deepEqual(encodeChunked(sig, next, sizes), deltaOf(sig, next));
    }),
    { numRuns: 150 },
  );
});

test('deltas are well formed: narrowest operands, contiguous copies merged, literals at most 32 KiB', () => {
  fc.assert(
    fc.property(basisAndNew, blockLen, ([basis, next], bl) => {
      const commands = decodeDelta(deltaOf(signatureOf(basis, bl), next));
      const width = (v: number): number => (v <= 0xff ? 0 : v <= 0xffff ? 1 : v <= 0xffffffff ? 2 : 3);
      assert.equal(commands.at(-1)?.kind, 'end');
      for (let i = 0; i < commands.length; i++) {
        const c = commands[i]!;
        if (c.kind === 'copy') {
          assert.equal(c.opcode, 0x45 + 4 * width(c.offset) + width(c.length));
          const prev = commands[i - 1];
          if (prev?.kind === 'copy') assert.notEqual(prev.offset + prev.length, c.offset, 'adjacent copies not merged');
          assert.ok(c.offset % bl === 0, 'copies start on a basis block');
        } else if (c.kind === 'literal') {
          assert.ok(c.data.length <= 32768);
          assert.equal(c.opcode, c.data.length <= 64 ? c.data.length : 0x41 + width(c.data.length));
        }
      }
    }),
    { numRuns: 150 },
  );
});

test('patch(basis, delta(signature(basis), new)) == new', async () => {
  await fc.assert(
    fc.asyncProperty(basisAndNew, blockLen, chunkSizes, async ([basis, next], bl, sizes) => {
      const delta = encodeChunked(signatureOf(basis, bl), next, sizes);
      assert.deepEqual(await applyDelta(basis, delta), next);
    }),
    { numRuns: 200 },
  );
});

test('a file made of repeated basis blocks is encoded with copies only', () => {
  const basis = Buffer.alloc(4096);
  for (let i = 0; i < basis.length; i++) basis[i] = (i * 7919) % 253;
  const next = Buffer.concat([basis.subarray(1024, 2048), basis.subarray(0, 512), basis.subarray(1024, 2048), basis.subarray(3584)]);
  const lines = formatDeltaCommands(decodeDelta(deltaOf(signatureOf(basis, 512), next)));
  assert.deepEqual(lines, ['COPY 1024,1024 (0x4a)', 'COPY 0,512 (0x46)', 'COPY 1024,1024 (0x4a)', 'COPY 3584,512 (0x4a)', 'END']);
});

test('DeltaEncoder refuses signatures it cannot match against, and misuse', () => {
  const blake = Buffer.alloc(12 + 36);
  blake.writeUInt32BE(0x72730137, 0);
  blake.writeUInt32BE(512, 4);
  blake.writeUInt32BE(32, 8);
  assert.throws(() => new DeltaEncoder(blake), /unsupported rsync signature for delta: magic 0x72730137/);
  assert.throws(() => new DeltaEncoder(Buffer.from('junk')), /truncated/);
  const e = new DeltaEncoder(signatureOf(Buffer.from('abc'), 512));
  e.finish();
  assert.throws(() => e.update(Buffer.from('x')), /after finish/);
  assert.throws(() => e.finish(), /twice/);
});

test('a hostile signature piling 200000 blocks on one weak sum neither hangs nor breaks the encoder', { timeout: 10000 }, async () => {
  const count = 200000;
  const sig = Buffer.alloc(12 + count * 12);
  sig.writeUInt32BE(0x72730136, 0);
  sig.writeUInt32BE(16, 4);
  sig.writeUInt32BE(8, 8);
  const data = Buffer.alloc(64 * 1024, 0x41); // every window of it has the same weak sum
  const weak = signatureOf(data.subarray(0, 16), 16).readUInt32BE(12);
  for (let i = 0; i < count; i++) {
    sig.writeUInt32BE(weak, 12 + i * 12);
    sig.writeUInt32BE(i, 12 + i * 12 + 4); // distinct strong sums, none matching
  }
  const delta = deltaOf(sig, data);
  assert.deepEqual(await applyDelta(Buffer.alloc(0), delta), data);
});

test("a signature fed the sums of the delta's matches is the same as one computed from scratch, and the delta is unchanged", async () => {
  let reused = 0;
  await fc.assert(
    fc.asyncProperty(basisAndNew, blockLen, fc.oneof(blockLen, fc.constant(-1)), chunkSizes, async ([basis, next], bl, newBl, sizes) => {
      // -1: the new signature has the old one's block length, the case where most sums carry over
      const sigLen = newBl === -1 ? bl : newBl;
      const builder = new SignatureBuilder(sigLen);
      const encoder = new DeltaEncoder(parseSignature(signatureOf(basis, bl)), {
        onMatch: (offset, length, weak, md4) => {
          if (offset % sigLen === 0 && length === Math.min(sigLen, next.length - offset)) reused++;
          builder.known(offset, length, weak, md4);
        },
      });
      const out: Buffer[] = [];
      for (const c of chunked(next, sizes)) {
        out.push(encoder.update(c));
        builder.update(c);
      }
      out.push(encoder.finish());
      assert.deepEqual(builder.finish(), signatureOf(next, sigLen));
      assert.deepEqual(Buffer.concat(out), deltaOf(signatureOf(basis, bl), next));
    }),
    { numRuns: 300 },
  );
  // the property is about sums that were handed over, not skipped
  assert.ok(reused > 100, `only ${reused} blocks reused`);
});

test("sparse files (runs of zeros): a signature fed the delta's matches, zero blocks by zeros(), is the one from scratch", () => {
  // as a backup's diff of a sparse file: the encoder sees every byte, the new signature is told
  // of the matches and gets the chunks of zeros through zeros()
  const island = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => ((i * 131 + seed * 7) % 251) + 1));
  // the first 4 KiB match, so windows of zeros are looked up at block boundaries inside a chunk
  // that is not all zeros: there the signature takes the delta's sums for them
  const basis = Buffer.concat([
    island(4096, 5),
    Buffer.alloc(70_000),
    island(3000, 1),
    Buffer.alloc(200_000),
    island(100, 2),
    Buffer.alloc(5000),
  ]);
  const next = Buffer.concat([
    island(4096, 5),
    Buffer.alloc(20_000),
    island(700, 3),
    Buffer.alloc(150_000),
    island(3000, 1),
    Buffer.alloc(131_072),
    island(65_536, 4),
    Buffer.alloc(9_999),
  ]);
  for (const bl of [512, 2048]) {
    let matches = 0;
    const builder = new SignatureBuilder(bl);
    const encoder = new DeltaEncoder(parseSignature(signatureOf(basis, bl)), {
      onMatch: (offset, length, weak, md4) => {
        matches++;
        builder.known(offset, length, weak, md4);
      },
    });
    const out: Buffer[] = [];
    for (let at = 0; at < next.length; at += 65_536) {
      const c = next.subarray(at, at + 65_536);
      out.push(encoder.update(c));
      if (c.equals(Buffer.alloc(c.length))) builder.zeros(c.length);
      else builder.update(c);
    }
    out.push(encoder.finish());
    assert.ok(matches > 100, `${matches} matches`);
    assert.deepEqual(builder.finish(), signatureOf(next, bl), `block ${bl}: signature`);
    assert.deepEqual(Buffer.concat(out), deltaOf(signatureOf(basis, bl), next), `block ${bl}: delta`);
  }
});

test('SignatureBuilder.known: sums for the wrong offset, length or a block already hashed are ignored', () => {
  const data = Buffer.from('abcdefghijklmnopqrstuvwxyz0123456789');
  const wrong = Buffer.alloc(16, 0xee);
  const builder = new SignatureBuilder(8);
  builder.update(data.subarray(0, 10)); // block 0 hashed
  builder.known(0, 8, 1, wrong); // too late
  builder.known(12, 8, 2, wrong); // not aligned
  builder.known(16, 7, 3, wrong); // block 2 has 8 bytes
  builder.known(32, 8, 4, wrong); // the last block has 4 bytes
  builder.update(data.subarray(10));
  assert.deepEqual(builder.finish(), signatureOf(data, 8));
});
