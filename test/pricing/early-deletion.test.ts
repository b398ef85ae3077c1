import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { earlyDeletionCharge, minimumDays } from '../../src/pricing/early-deletion.ts';
import { builtinPricing, parsePricing } from '../../src/pricing/pricing-table.ts';

const DAY = 86400;
const GiB = 2 ** 30;
const p = builtinPricing();

test("minimum durations are S3's: 30 days IA, 90 GLACIER and GLACIER_IR, 180 DEEP_ARCHIVE, none otherwise", () => {
  const withMinimum = Object.keys(p.classes)
    .filter((c) => minimumDays(p, c) !== undefined)
    .sort();
  assert.deepEqual(withMinimum, ['DEEP_ARCHIVE', 'GLACIER', 'GLACIER_IR', 'ONEZONE_IA', 'STANDARD_IA']);
  assert.deepEqual(
    withMinimum.map((c) => minimumDays(p, c)),
    [180, 90, 90, 30, 30],
  );
  assert.equal(minimumDays(p, 'STANDARD'), undefined);
  assert.equal(minimumDays(p, 'NO_SUCH_CLASS'), undefined);
  assert.equal(minimumDays(p, undefined), undefined);
});

test('a DEEP_ARCHIVE object deleted on day 60 is billed the remaining 120 days (spec example)', () => {
  const { remainingDays, charge } = earlyDeletionCharge(p, 'DEEP_ARCHIVE', GiB, 60 * DAY);
  assert.equal(remainingDays, 120);
  // 1 GiB + the 32 KiB archive index, at $0.00099 per GB-month, for 4 months
  assert.ok(Math.abs(charge - (1 + 32768 / GiB) * 0.00099 * 4) < 1e-15);
});

test('no charge past the minimum, for classes without one, or for files', () => {
  assert.deepEqual(earlyDeletionCharge(p, 'GLACIER', GiB, 90 * DAY), { remainingDays: 0, charge: 0 });
  assert.deepEqual(earlyDeletionCharge(p, 'DEEP_ARCHIVE', GiB, 400 * DAY), { remainingDays: 0, charge: 0 });
  assert.deepEqual(earlyDeletionCharge(p, 'STANDARD', GiB, 0), { remainingDays: 0, charge: 0 });
  assert.deepEqual(earlyDeletionCharge(p, undefined, GiB, 0), { remainingDays: 0, charge: 0 });
});

test('IA classes bill small objects as 128 KiB; a negative age (clock skew) counts as new', () => {
  const { remainingDays, charge } = earlyDeletionCharge(p, 'STANDARD_IA', 10, -5 * DAY);
  assert.equal(remainingDays, 30);
  assert.ok(Math.abs(charge - (131072 / GiB) * 0.0125) < 1e-18);
});

test('the charge follows the table it is given', () => {
  const raw = structuredClone({
    ...p,
    classes: { ...p.classes, DEEP_ARCHIVE: { ...p.classes['DEEP_ARCHIVE']!, storageGBMonth: 0.002, minDays: 365 } },
  });
  const doubled = parsePricing(raw, 'doubled.json');
  const { remainingDays, charge } = earlyDeletionCharge(doubled, 'DEEP_ARCHIVE', GiB, 5 * DAY);
  assert.equal(remainingDays, 360);
  assert.ok(Math.abs(charge - (1 + 32768 / GiB) * 0.002 * 12) < 1e-15);
});

test('the charge equals keeping the object until its minimum: it falls linearly with age to 0 (property)', () => {
  const archived = ['GLACIER', 'DEEP_ARCHIVE', 'GLACIER_IR', 'STANDARD_IA', 'ONEZONE_IA'];
  fc.assert(
    fc.property(
      fc.constantFrom(...archived),
      fc.nat({ max: 2 ** 40 }),
      fc.nat({ max: 400 * DAY }),
      fc.nat({ max: 400 * DAY }),
      (cls, size, a, b) => {
        const [young, old] = a <= b ? [a, b] : [b, a];
        const y = earlyDeletionCharge(p, cls, size, young);
        const o = earlyDeletionCharge(p, cls, size, old);
        assert.ok(y.charge >= o.charge);
        const c = p.classes[cls]!;
        const perDay = (((Math.max(size, c.minBillableBytes) + (c.overhead?.archiveRateBytes ?? 0)) / GiB) * c.storageGBMonth) / 30;
        assert.ok(Math.abs(y.charge - perDay * Math.max(0, c.minDays - young / DAY)) <= 1e-9 * Math.max(1, y.charge));
      },
    ),
  );
});
