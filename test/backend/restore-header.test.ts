import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseRestoreHeader } from '../../src/backend/s3-backend.ts';

test('the three forms of x-amz-restore (docs/glacier-semantics.md §3.2)', () => {
  assert.deepEqual(parseRestoreHeader('ongoing-request="true"'), { ongoing: true });
  // the date form is RFC 1123 in GMT; Date.UTC gives the expected epoch independently
  assert.deepEqual(parseRestoreHeader('ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"'), {
    ongoing: false,
    expiry: Date.UTC(2012, 11, 21) / 1000,
  });
  assert.deepEqual(parseRestoreHeader('ongoing-request="false"'), { ongoing: false });
});

test('what is not a restore state is undefined, and a bad date is left out', () => {
  assert.equal(parseRestoreHeader(''), undefined);
  assert.equal(parseRestoreHeader('ongoing-request=true'), undefined);
  assert.equal(parseRestoreHeader('ongoing-request="maybe"'), undefined);
  assert.deepEqual(parseRestoreHeader('ongoing-request="false", expiry-date="not a date"'), { ongoing: false });
});

test('hostile header values never throw', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (s) => {
      const r = parseRestoreHeader(s);
      assert.ok(r === undefined || typeof r.ongoing === 'boolean');
      if (r?.expiry !== undefined) assert.ok(Number.isInteger(r.expiry));
    }),
    { numRuns: 2000 },
  );
});
