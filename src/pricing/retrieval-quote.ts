import { DAYS_PER_MONTH, STANDARD_CLASS, type PricingTable } from './pricing-table.ts';
import type { RestoreTier } from '../core/restore-tier.ts';

/** What restoring (thawing) objects of an archived class costs, and how long it usually takes. */
export interface RetrievalQuote {
  storageClass: string;
  tier: RestoreTier;
  objects: number;
  bytes: number;
  /** USD: one restore request per object */
  requestCost: number;
  /** USD: the per-GB retrieval fee */
  retrievalCost: number;
  /** USD: the restored copies are billed as STANDARD storage for `days`, on top of the archived objects */
  restoredCopyCost: number;
  /** USD: requestCost + retrievalCost + restoredCopyCost (downloading is extra: GETs and, outside AWS, egress) */
  total: number;
  typicalHours: readonly [number, number];
}

/**
 * The price of restoring `objects` objects holding `bytes` bytes from `storageClass` with `tier`,
 * the copies kept `days` days. undefined when the class is not archived (or not in the table) or
 * has no such tier (Expedited on DEEP_ARCHIVE).
 */
export function retrievalQuote(
  p: PricingTable,
  storageClass: string,
  tier: RestoreTier,
  objects: number,
  bytes: number,
  days: number,
): RetrievalQuote | undefined {
  const c = p.classes[storageClass];
  if (!c?.archived) return undefined;
  const t = c.restore?.[tier];
  if (!t) return undefined;
  const standard = p.classes[STANDARD_CLASS]!;
  const gb = bytes / p.gbBytes;
  const requestCost = (objects / 1000) * t.per1000;
  const retrievalCost = gb * t.perGB;
  const restoredCopyCost = gb * standard.storageGBMonth * (days / DAYS_PER_MONTH);
  return {
    storageClass,
    tier,
    objects,
    bytes,
    requestCost,
    retrievalCost,
    restoredCopyCost,
    total: requestCost + retrievalCost + restoredCopyCost,
    typicalHours: t.typicalHours,
  };
}
