/**
 * duplicity's order of paths (compareIndex), which every merge relies on: component by component,
 * bytewise, a shorter tuple first; the same results as Buffer.compare on each component.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { compareIndex, type PathIndex } from '../../src/core/path-index.ts';

/** The order as the reference implementation states it, with the native comparison. */
function reference(a: PathIndex, b: PathIndex): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = Buffer.compare(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

// few byte values, so that components share prefixes and are often equal
const component = fc
  .uint8Array({ minLength: 1, maxLength: 6 })
  .map((a) => Buffer.from(a.map((b) => [0x00, 0x2d, 0x41, 0x61, 0xff][b % 5]!)));
const index = fc.array(component, { maxLength: 4 });

test('compareIndex gives what Buffer.compare per component gives, for any two paths', () => {
  fc.assert(
    fc.property(index, index, (a, b) => {
      assert.equal(compareIndex(a, b), reference(a, b));
      assert.equal(compareIndex(b, a), reference(b, a));
      assert.equal(
        compareIndex(
          a,
          a.map((c) => Buffer.from(c)),
        ),
        0,
      );
    }),
    { numRuns: 2000 },
  );
});

test('compareIndex: a shorter component and a shorter tuple sort first; the same Buffer is equal', () => {
  const ab = Buffer.from('ab');
  assert.equal(compareIndex([Buffer.from('a')], [ab]), -1);
  assert.equal(compareIndex([ab], [Buffer.from('a')]), 1);
  assert.equal(compareIndex([ab], [ab]), 0);
  assert.ok(compareIndex([ab], [ab, Buffer.from('c')]) < 0);
  assert.equal(compareIndex([Buffer.from([0xff])], [Buffer.from([0x00, 0x00])]), 1);
});
