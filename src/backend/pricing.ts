/**
 * S3 list prices that decide what deleting an object costs: the storage price and minimum storage
 * duration of each class that has one. Copied from the project's pricing table
 * (spec/pricing-us-east-1.json, us-east-1, USD, as of 2026-06; unchanged since the Dec-2021
 * Glacier repricing). Check https://aws.amazon.com/s3/pricing/ before relying on the amounts.
 */
export const PRICES_AS_OF = '2026-06';
export const PRICES_REGION = 'us-east-1';

/** AWS's GB in its prices is 2^30 bytes. */
export const GB_BYTES = 1_073_741_824;

export interface MinimumDuration {
  /** USD per GB-month */
  readonly storageGBMonth: number;
  /** Deleting earlier bills the remaining days, pro-rated, at storageGBMonth. */
  readonly minDays: number;
  /** Smaller objects are billed as this size. */
  readonly minBillableBytes: number;
  /** Per-object index billed at this class's price (GLACIER, DEEP_ARCHIVE: 32 KiB). */
  readonly overheadBytes: number;
}

export const MINIMUM_DURATIONS: Readonly<Record<string, MinimumDuration>> = {
  STANDARD_IA: { storageGBMonth: 0.0125, minDays: 30, minBillableBytes: 131072, overheadBytes: 0 },
  ONEZONE_IA: { storageGBMonth: 0.01, minDays: 30, minBillableBytes: 131072, overheadBytes: 0 },
  GLACIER_IR: { storageGBMonth: 0.004, minDays: 90, minBillableBytes: 131072, overheadBytes: 0 },
  GLACIER: { storageGBMonth: 0.0036, minDays: 90, minBillableBytes: 0, overheadBytes: 32768 },
  DEEP_ARCHIVE: { storageGBMonth: 0.00099, minDays: 180, minBillableBytes: 0, overheadBytes: 32768 },
};

/** Days per billing month when pro-rating (AWS bills byte-hours over the calendar month; 30 is the usual estimate). */
export const DAYS_PER_MONTH = 30;

/**
 * What deleting an object now costs on top of what was already billed: the storage of the days
 * left until the class's minimum, or 0 when there is no minimum or it has passed.
 */
export function earlyDeletionCharge(storageClass: string | undefined, size: number, ageSeconds: number): { remainingDays: number; charge: number } {
  const d = storageClass === undefined ? undefined : MINIMUM_DURATIONS[storageClass];
  if (!d) return { remainingDays: 0, charge: 0 };
  const remainingDays = Math.max(0, d.minDays - Math.max(0, ageSeconds) / 86400);
  if (remainingDays === 0) return { remainingDays: 0, charge: 0 };
  const billed = Math.max(size, d.minBillableBytes) + d.overheadBytes;
  return { remainingDays, charge: (billed / GB_BYTES) * d.storageGBMonth * (remainingDays / DAYS_PER_MONTH) };
}
