import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Rollsum, rollsum } from '../../../src/codec/rsync/rollsum.ts';

/** The definition of docs/duplicity-format.md §5.1, literally: exact sums (below 2^53 for the sizes used), reduced at the end. */
function definition(bytes: Uint8Array): number {
  let s1 = 0;
  let s2 = 0;
  for (const b of bytes) {
    s1 += b + 31;
    s2 += s1;
  }
  return (s2 % 65536) * 65536 + (s1 % 65536);
}

test('rollsum of "hello\\n" is the weak sum of the docs/duplicity-format.md §5.1 example', () => {
  assert.equal(rollsum(Buffer.from('hello\n'), 0, 6), 0x0ad002d8);
});

test('rollsum follows the definition over any range, including long ones', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 5000, size: 'max' }), fc.nat(), fc.nat(), (data, a, b) => {
      const start = a % (data.length + 1);
      const end = start + (b % (data.length - start + 1));
      assert.equal(rollsum(data, start, end), definition(data.subarray(start, end)));
    }),
    { numRuns: 200 },
  );
  const big = new Uint8Array(300000).fill(255);
  assert.equal(rollsum(big, 0, big.length), definition(big));
});

test('Rollsum rotate/rollIn/rollOut track the sum of the current window', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 1500, size: 'max' }), fc.integer({ min: 1, max: 300 }), (data, width) => {
      const w = Math.min(width, data.length);
      const r = new Rollsum();
      r.update(data, 0, w);
      assert.equal(r.digest(), definition(data.subarray(0, w)));
      for (let p = 0; p + w < data.length; p++) {
        r.rotate(data[p]!, data[p + w]!);
        assert.equal(r.digest(), definition(data.subarray(p + 1, p + 1 + w)));
      }
      // Shrink from the front, as librsync does at the end of the file, then grow again.
      const start = data.length - w;
      for (let p = start; p < data.length; p++) {
        r.rollOut(data[p]!);
        assert.equal(r.count, data.length - p - 1);
        assert.equal(r.digest(), definition(data.subarray(p + 1)));
      }
      r.reset();
      for (const b of data.subarray(0, w)) r.rollIn(b);
      assert.equal(r.digest(), definition(data.subarray(0, w)));
    }),
    { numRuns: 40 },
  );
});
