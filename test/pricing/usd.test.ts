import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatUsd } from '../../src/pricing/usd.ts';

test('dollars: whole from $100, cents from $1, two significant digits below', () => {
  assert.deepEqual([0, 500, 1234.5, 12.345, 1, 0.5, 0.05015, 0.00515, 2.06e-7, -0.25].map(formatUsd), [
    '$0',
    '$500',
    '$1,235',
    '$12.35',
    '$1.00',
    '$0.50',
    '$0.050',
    '$0.0052',
    '$0.00000021',
    '-$0.25',
  ]);
});

test('below $1 the shown amount is within 5% of the true one, never in exponent form (property)', () => {
  fc.assert(
    fc.property(fc.double({ min: 1e-12, max: 0.999, noNaN: true }), (x) => {
      const s = formatUsd(x);
      assert.match(s, /^\$[01]\.[0-9]+$/); // 0.995 rounds up to $1.00
      const shown = Number(s.slice(1));
      assert.ok(Math.abs(shown - x) <= 0.05 * x + 1e-20, `${x} shown as ${s}`);
    }),
  );
});
