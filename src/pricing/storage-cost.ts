import { STANDARD_CLASS, type ClassPrices, type PricingTable } from './pricing-table.ts';

/** What storing objects of one class costs per month (USD). */
export interface MonthlyStorage {
  /** The data, each object billed at least the class's minimum billable size. */
  dataCost: number;
  /** The per-object overhead: its archive-rate part at the class's price, the rest at STANDARD's. */
  overheadCost: number;
  total: number;
  /** Overhead bytes billed (both parts). */
  overheadBytes: number;
}

/** Bytes an object of `size` is billed as in class `c`. */
export function billedSize(c: ClassPrices, size: number): number {
  return Math.max(size, c.minBillableBytes);
}

/**
 * Monthly storage of `objects` objects of `storageClass` billed `billedBytes` in all (each object
 * already rounded up to the class's minimum, see billedSize). undefined for a class not in the table.
 */
export function monthlyStorage(p: PricingTable, storageClass: string, objects: number, billedBytes: number): MonthlyStorage | undefined {
  const c = p.classes[storageClass];
  if (!c) return undefined;
  const standard = p.classes[STANDARD_CLASS]!;
  const archiveOverhead = objects * (c.overhead?.archiveRateBytes ?? 0);
  const standardOverhead = objects * (c.overhead?.standardRateBytes ?? 0);
  const dataCost = (billedBytes / p.gbBytes) * c.storageGBMonth;
  const overheadCost = (archiveOverhead / p.gbBytes) * c.storageGBMonth + (standardOverhead / p.gbBytes) * standard.storageGBMonth;
  return { dataCost, overheadCost, total: dataCost + overheadCost, overheadBytes: archiveOverhead + standardOverhead };
}
