import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { retrievalQuote } from '../../src/pricing/retrieval-quote.ts';
import { builtinPricing, RESTORE_TIERS } from '../../src/pricing/pricing-table.ts';

const p = builtinPricing();
const GiB = 2 ** 30;
const TiB = 2 ** 40;
const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test('1 TiB of 256 MiB volumes from DEEP_ARCHIVE Bulk, kept 7 days (docs/glacier-semantics.md §2.5 example)', () => {
  const q = retrievalQuote(p, 'DEEP_ARCHIVE', 'Bulk', 4096, TiB, 7)!;
  // 4,096 requests at $0.025 per 1,000; 1,024 GB at $0.0025; 1,024 GB of STANDARD ($0.023) for 7/30 of a month
  close(q.requestCost, 0.1024, 'requests');
  close(q.retrievalCost, 2.56, 'retrieval');
  close(q.restoredCopyCost, (1024 * 0.023 * 7) / 30, 'restored copies');
  close(q.total, 0.1024 + 2.56 + (1024 * 0.023 * 7) / 30, 'total');
  assert.deepEqual(q.typicalHours, [0, 48]);
  assert.deepEqual([q.storageClass, q.tier, q.objects, q.bytes], ['DEEP_ARCHIVE', 'Bulk', 4096, TiB]);
});

test('GLACIER: Expedited $0.03/GB + $10 per 1,000, Standard $0.01/GB + $0.05, Bulk free', () => {
  const e = retrievalQuote(p, 'GLACIER', 'Expedited', 1000, 10 * GiB, 1)!;
  close(e.requestCost, 10, 'expedited requests');
  close(e.retrievalCost, 0.3, 'expedited retrieval');
  const s = retrievalQuote(p, 'GLACIER', 'Standard', 1000, 10 * GiB, 1)!;
  close(s.requestCost + s.retrievalCost, 0.05 + 0.1, 'standard');
  assert.deepEqual(s.typicalHours, [3, 5]);
  const b = retrievalQuote(p, 'GLACIER', 'Bulk', 1000, 10 * GiB, 0)!;
  assert.equal(b.total, 0);
});

test('no quote for Expedited from DEEP_ARCHIVE, for classes that need no restore, or unknown classes', () => {
  assert.equal(retrievalQuote(p, 'DEEP_ARCHIVE', 'Expedited', 1, 1, 1), undefined);
  for (const cls of ['STANDARD', 'STANDARD_IA', 'GLACIER_IR', 'INTELLIGENT_TIERING', 'NO_SUCH_CLASS']) {
    for (const tier of RESTORE_TIERS) assert.equal(retrievalQuote(p, cls, tier, 1, 1, 1), undefined, `${cls} ${tier}`);
  }
});

test('a quote is linear in objects, bytes and days, and its total is the sum of its parts (property)', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(
        ['GLACIER', 'Expedited'],
        ['GLACIER', 'Standard'],
        ['GLACIER', 'Bulk'],
        ['DEEP_ARCHIVE', 'Standard'],
        ['DEEP_ARCHIVE', 'Bulk'],
      ),
      fc.nat({ max: 10_000_000 }),
      fc.nat({ max: 2 ** 50 }),
      fc.integer({ min: 1, max: 365 }),
      ([cls, tier], objects, bytes, days) => {
        const q = retrievalQuote(p, cls!, tier as 'Bulk', objects, bytes, days)!;
        const t = p.classes[cls!]!.restore![tier as 'Bulk']!;
        close(q.requestCost, (objects * t.per1000) / 1000, 'requests');
        close(q.retrievalCost, (bytes / GiB) * t.perGB, 'retrieval');
        close(q.restoredCopyCost, ((bytes / GiB) * 0.023 * days) / 30, 'copies');
        close(q.total, q.requestCost + q.retrievalCost + q.restoredCopyCost, 'total');
      },
    ),
  );
});
