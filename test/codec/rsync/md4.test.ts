import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { md4, md4Into } from '../../../src/codec/rsync/md4.ts';
import { RFC1320 } from './md4-vectors.ts';

test('md4 matches the RFC 1320 test suite', () => {
  for (const [input, digest] of RFC1320) assert.equal(md4(Buffer.from(input, 'latin1')).toString('hex'), digest, JSON.stringify(input));
});

test('md4 of "hello\\n" is the digest quoted in docs/duplicity-format.md §5.1', () => {
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
