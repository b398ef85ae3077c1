import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { blockSizeFor } from '../../../src/codec/rsync/block-size.ts';
import { md4 } from '../../../src/codec/rsync/md4.ts';
import { rollsum } from '../../../src/codec/rsync/rollsum.ts';
import { SignatureBuilder, parseSignature, signatureLength, signatureOf } from '../../../src/codec/rsync/signature.ts';
import { bigBin, chunkSizes, chunked, exactBin } from './fixtures.ts';

test('signature of "hello\\n" is the VERIFIED a.txt signature of docs/duplicity-format.md §5.1/§10.3', () => {
  assert.equal(signatureOf(Buffer.from('hello\n'), 512).toString('hex'), '727301360000020000000008' + '0ad002d8' + '63481c78ae04c201');
});

test('signature sizes match the docs/duplicity-format.md §10.3 sigtar entries', () => {
  const big = bigBin();
  assert.equal(signatureOf(big, blockSizeFor(big.length)).length, 3528);
  const exact = exactBin();
  assert.equal(signatureOf(exact, blockSizeFor(exact.length)).length, 1548);
  assert.equal(signatureOf(Buffer.from('spaced\n'), 512).length, 24);
  assert.equal(signatureOf(Buffer.alloc(0), 512).toString('hex'), '727301360000020000000008');
  assert.equal(signatureLength(150000, 512), 3528);
  assert.equal(signatureLength(0, 512), 12);
});

test('each block entry is rollsum then MD4 prefix of that block (short last block included)', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 3000, size: 'max' }),
      fc.integer({ min: 1, max: 700 }),
      fc.integer({ min: 1, max: 16 }),
      (data, blockLen, strongLen) => {
        const sig = signatureOf(data, blockLen, strongLen);
        const entry = 4 + strongLen;
        const blocks = Math.ceil(data.length / blockLen);
        assert.equal(sig.length, 12 + blocks * entry);
        assert.equal(sig.readUInt32BE(0), 0x72730136);
        assert.equal(sig.readUInt32BE(4), blockLen);
        assert.equal(sig.readUInt32BE(8), strongLen);
        for (let i = 0; i < blocks; i++) {
          const block = data.subarray(i * blockLen, (i + 1) * blockLen);
          const at = 12 + i * entry;
          assert.equal(sig.readUInt32BE(at), rollsum(block, 0, block.length));
          assert.deepEqual(sig.subarray(at + 4, at + entry), md4(block).subarray(0, strongLen));
        }
      },
    ),
    { numRuns: 100 },
  );
});

test('signature output does not depend on how the input is chunked', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 12000, size: 'max' }),
      fc.integer({ min: 1, max: 1500 }),
      chunkSizes,
      (data, blockLen, sizes) => {
        const builder = new SignatureBuilder(blockLen);
        for (const c of chunked(data, sizes)) builder.update(c);
        builder.update(new Uint8Array(0));
        assert.deepEqual(builder.finish(), signatureOf(data, blockLen));
      },
    ),
    { numRuns: 150 },
  );
});

test('zeros(n) gives the signature of n zero bytes, wherever the runs of zeros start and end', () => {
  // pieces of data and runs of zeros, fed in any chunking; the reference hashes every byte
  const piece = fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 3000 }), fc.integer({ min: 1, max: 9000 }));
  fc.assert(
    fc.property(
      fc.array(piece, { maxLength: 8 }),
      fc.oneof(fc.integer({ min: 1, max: 700 }), fc.constant(512), fc.constant(2048)),
      (pieces, blockLen) => {
        const builder = new SignatureBuilder(blockLen);
        const whole: Buffer[] = [];
        for (const p of pieces) {
          if (typeof p === 'number') {
            builder.zeros(p);
            whole.push(Buffer.alloc(p));
          } else {
            builder.update(p);
            whole.push(Buffer.from(p));
          }
        }
        assert.deepEqual(builder.finish(), signatureOf(Buffer.concat(whole), blockLen));
      },
    ),
    { numRuns: 200 },
  );
});

test('zeros(n) after sums given by known() for the same blocks: the same signature', () => {
  const blockLen = 512;
  const data = Buffer.concat([Buffer.from('x'.repeat(700)), Buffer.alloc(4096), Buffer.from('tail')]);
  const zeroBlock = Buffer.alloc(blockLen);
  const builder = new SignatureBuilder(blockLen);
  builder.update(data.subarray(0, 700));
  // blocks 2..8 are zeros: their sums given first, as a delta's matches do
  for (let b = 2; b < 9; b++) builder.known(b * blockLen, blockLen, rollsum(zeroBlock, 0, blockLen), md4(zeroBlock));
  builder.zeros(4096);
  builder.update(data.subarray(700 + 4096));
  assert.deepEqual(builder.finish(), signatureOf(data, blockLen));
});

test('SignatureBuilder validates its parameters and its use', () => {
  assert.throws(() => new SignatureBuilder(0), RangeError);
  assert.throws(() => new SignatureBuilder(512, 17), RangeError);
  assert.throws(() => new SignatureBuilder(512, 0), RangeError);
  assert.throws(() => new SignatureBuilder(2 ** 30), RangeError);
  const b = new SignatureBuilder(512);
  b.finish();
  assert.throws(() => b.update(Buffer.from('x')), /after finish/);
  assert.throws(() => b.finish(), /twice/);
});

test('parseSignature returns the header and per-block sums', () => {
  const data = bigBin();
  const sig = signatureOf(data, 512);
  const parsed = parseSignature(sig);
  assert.equal(parsed.magic, 0x72730136);
  assert.equal(parsed.blockLen, 512);
  assert.equal(parsed.strongLen, 8);
  assert.equal(parsed.weak.length, 293);
  assert.equal(parsed.strong.length, 293 * 8);
  assert.equal(parsed.weak[292], rollsum(data, 292 * 512, data.length));
  assert.deepEqual(parsed.strong.subarray(292 * 8), md4(data.subarray(292 * 512)).subarray(0, 8));
  assert.equal(parseSignature(signatureOf(Buffer.alloc(0), 2048)).weak.length, 0);
});

test('parseSignature accepts BLAKE2 signatures (32-byte strong sums) and rejects RabinKarp ones as unsupported', () => {
  const header = (magic: number, blockLen: number, strongLen: number): Buffer => {
    const h = Buffer.alloc(12);
    h.writeUInt32BE(magic, 0);
    h.writeUInt32BE(blockLen, 4);
    h.writeUInt32BE(strongLen, 8);
    return h;
  };
  const blake = parseSignature(Buffer.concat([header(0x72730137, 512, 32), Buffer.alloc(2 * 36, 7)]));
  assert.equal(blake.weak.length, 2);
  assert.equal(blake.strongLen, 32);
  assert.throws(() => parseSignature(header(0x72730146, 512, 8)), /unsupported.*RabinKarp/);
  assert.throws(() => parseSignature(header(0x72730147, 512, 32)), /unsupported.*RabinKarp/);
});

test('parseSignature rejects malformed signatures with clear errors', () => {
  const good = signatureOf(Buffer.from('some data for two blocks'), 16);
  assert.throws(() => parseSignature(good.subarray(0, 11)), /truncated: 11 bytes/);
  assert.throws(() => parseSignature(Buffer.alloc(0)), /truncated: 0 bytes/);
  assert.throws(() => parseSignature(good.subarray(0, good.length - 1)), /not a multiple of 12 \(truncated\?\)/);
  const bad = (at: number, value: number): Buffer => {
    const copy = Buffer.from(good);
    copy.writeUInt32BE(value, at);
    return copy;
  };
  assert.throws(() => parseSignature(bad(0, 0x72730236)), /bad magic 0x72730236/);
  assert.throws(() => parseSignature(bad(4, 0)), /block length 0/);
  assert.throws(() => parseSignature(bad(4, 0xffffffff)), /block length 4294967295/);
  assert.throws(() => parseSignature(bad(8, 0)), /strong sum length 0/);
  assert.throws(() => parseSignature(bad(8, 17)), /strong sum length 17/);
  assert.throws(() => parseSignature(bad(8, 0xffffffff)), /strong sum length/);
});

test('parseSignature on random bytes either parses consistently or throws an Error', () => {
  const magics = [0x72730136, 0x72730137, 0x72730146, 0x72730147, 0x12345678];
  const input = fc.oneof(
    fc.uint8Array({ maxLength: 200, size: 'max' }),
    fc
      .tuple(
        fc.constantFrom(...magics),
        fc.oneof(fc.nat(), fc.integer({ min: 1, max: 4096 })),
        fc.oneof(fc.nat(), fc.integer({ min: 0, max: 40 })),
        fc.uint8Array({ maxLength: 400, size: 'max' }),
      )
      .map(([magic, blockLen, strongLen, body]) => {
        const h = Buffer.alloc(12);
        h.writeUInt32BE(magic, 0);
        h.writeUInt32BE(blockLen >>> 0, 4);
        h.writeUInt32BE(strongLen >>> 0, 8);
        return Buffer.concat([h, body]);
      }),
  );
  fc.assert(
    fc.property(input, (bytes) => {
      let parsed: ReturnType<typeof parseSignature>;
      try {
        parsed = parseSignature(bytes);
      } catch (err) {
        assert.ok(err instanceof Error && err.message.length > 0 && !err.message.includes('\n'));
        return;
      }
      assert.equal(12 + parsed.weak.length * (4 + parsed.strongLen), bytes.length);
      assert.equal(parsed.strong.length, parsed.weak.length * parsed.strongLen);
    }),
    { numRuns: 500 },
  );
});
