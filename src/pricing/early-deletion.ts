import { DAYS_PER_MONTH, type PricingTable } from './pricing-table.ts';

/** The minimum storage duration of a class in days; undefined when it has none (or is not in the table). */
export function minimumDays(p: PricingTable, storageClass: string | undefined): number | undefined {
  const c = storageClass === undefined ? undefined : p.classes[storageClass];
  return c && c.minDays > 0 ? c.minDays : undefined;
}

/**
 * What deleting an object now costs on top of what was already billed: the storage of the days
 * left until the class's minimum, or 0 when there is no minimum or it has passed. The object is
 * billed at least the class's minimum billable size, plus the part of the per-object overhead
 * billed at the class's price (GLACIER, DEEP_ARCHIVE: 32 KiB; the 8 KiB at STANDARD's price has no
 * minimum duration).
 */
export function earlyDeletionCharge(
  p: PricingTable,
  storageClass: string | undefined,
  size: number,
  ageSeconds: number,
): { remainingDays: number; charge: number } {
  const minDays = minimumDays(p, storageClass);
  if (minDays === undefined) return { remainingDays: 0, charge: 0 };
  const c = p.classes[storageClass!]!;
  const remainingDays = Math.max(0, minDays - Math.max(0, ageSeconds) / 86400);
  if (remainingDays === 0) return { remainingDays: 0, charge: 0 };
  const billed = Math.max(size, c.minBillableBytes) + (c.overhead?.archiveRateBytes ?? 0);
  return { remainingDays, charge: (billed / p.gbBytes) * c.storageGBMonth * (remainingDays / DAYS_PER_MONTH) };
}
