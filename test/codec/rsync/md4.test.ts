import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { md4, md4Into } from '../../../src/codec/rsync/md4.ts';

// RFC 1320, appendix A.5.
const RFC1320: [string, string][] = [
  ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
  ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
  ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
  ['message digest', 'd9130a8164549fe818874806e1c7014b'],
  ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
  ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '043f8582f241db351ce627e153e7f0e4'],
  ['12345678901234567890123456789012345678901234567890123456789012345678901234567890', 'e33b4ddc9c38f2199c3e7b164fcc0536'],
];

test('md4 matches the RFC 1320 test suite', () => {
  for (const [input, digest] of RFC1320) assert.equal(md4(Buffer.from(input, 'latin1')).toString('hex'), digest, JSON.stringify(input));
});

test('md4 of "hello\\n" is the digest quoted in spec §5.1', () => {
  assert.equal(md4(Buffer.from('hello\n')).toString('hex'), '63481c78ae04c201fa01ea9d2b1db56d');
});

test('md4Into digests a sub-range, writes a truncated digest at an offset, and touches nothing else', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 600, size: 'max' }),
      fc.nat(),
      fc.nat(),
      fc.integer({ min: 0, max: 16 }),
      fc.integer({ min: 0, max: 8 }),
      (data, a, b, outLen, outOffset) => {
        const start = a % (data.length + 1);
        const end = start + (b % (data.length - start + 1));
        const padded = Buffer.concat([Buffer.from('xyz'), data, Buffer.from('pq')]);
        const out = Buffer.alloc(30, 0xee);
        md4Into(padded, start + 3, end + 3, out, outOffset, outLen);
        const expected = md4(Buffer.from(data.subarray(start, end)));
        assert.deepEqual(out.subarray(outOffset, outOffset + outLen), expected.subarray(0, outLen));
        assert.ok(out.subarray(0, outOffset).every((x) => x === 0xee));
        assert.ok(out.subarray(outOffset + outLen).every((x) => x === 0xee));
      },
    ),
    { numRuns: 300 },
  );
});

test('md4Into rejects out-of-range arguments', () => {
  const buf = Buffer.alloc(10);
  assert.throws(() => md4Into(buf, 5, 11, Buffer.alloc(16), 0), RangeError);
  assert.throws(() => md4Into(buf, 5, 4, Buffer.alloc(16), 0), RangeError);
  assert.throws(() => md4Into(buf, 0, 10, Buffer.alloc(16), 1), RangeError);
  assert.throws(() => md4Into(buf, 0, 10, Buffer.alloc(32), 0, 17), RangeError);
});
