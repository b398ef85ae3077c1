import assert from 'node:assert/strict';
import { test } from 'node:test';
import { earlyDeletionCharge, MINIMUM_DURATIONS } from '../../src/backend/pricing.ts';

const DAY = 86400;
const GiB = 2 ** 30;

test('minimum durations are S3\'s: 30 days IA, 90 GLACIER and GLACIER_IR, 180 DEEP_ARCHIVE', () => {
  assert.deepEqual(
    Object.fromEntries(Object.entries(MINIMUM_DURATIONS).map(([k, v]) => [k, v.minDays])),
    { STANDARD_IA: 30, ONEZONE_IA: 30, GLACIER_IR: 90, GLACIER: 90, DEEP_ARCHIVE: 180 },
  );
});

test('a DEEP_ARCHIVE object deleted on day 60 is billed the remaining 120 days (spec example)', () => {
  const { remainingDays, charge } = earlyDeletionCharge('DEEP_ARCHIVE', GiB, 60 * DAY);
  assert.equal(remainingDays, 120);
  // 1 GiB + the 32 KiB archive index, at $0.00099 per GB-month, for 4 months
  assert.ok(Math.abs(charge - (1 + 32768 / GiB) * 0.00099 * 4) < 1e-15);
});

test('no charge past the minimum, for classes without one, or for files', () => {
  assert.deepEqual(earlyDeletionCharge('GLACIER', GiB, 90 * DAY), { remainingDays: 0, charge: 0 });
  assert.deepEqual(earlyDeletionCharge('DEEP_ARCHIVE', GiB, 400 * DAY), { remainingDays: 0, charge: 0 });
  assert.deepEqual(earlyDeletionCharge('STANDARD', GiB, 0), { remainingDays: 0, charge: 0 });
  assert.deepEqual(earlyDeletionCharge(undefined, GiB, 0), { remainingDays: 0, charge: 0 });
});

test('IA classes bill small objects as 128 KiB; a negative age (clock skew) counts as new', () => {
  const { remainingDays, charge } = earlyDeletionCharge('STANDARD_IA', 10, -5 * DAY);
  assert.equal(remainingDays, 30);
  assert.ok(Math.abs(charge - (131072 / GiB) * 0.0125) < 1e-18);
});
