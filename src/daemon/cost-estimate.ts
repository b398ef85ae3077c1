/**
 * A rough price of one run, from its S3 request summary: what its requests cost once, and what
 * the objects it stored add to the monthly bill, at the built-in list prices (src/pricing). An
 * estimate for a report, not a bill: the summary gives bytes per class, not object sizes, so the
 * minimum billable size of the IA classes is not applied.
 */
import type { RequestSummary } from '../backend/request-accounting.ts';
import { builtinPricing, STANDARD_CLASS, type PricingTable } from '../pricing/pricing-table.ts';
import { monthlyStorage } from '../pricing/storage-cost.ts';

export interface RunCost {
  /** USD, once: the run's requests */
  readonly requests: number;
  /** USD per month that the run's uploads add to storage */
  readonly storagePerMonth: number;
}

export function estimateRunCost(s: RequestSummary, p: PricingTable = builtinPricing()): RunCost {
  const standard = p.classes[STANDARD_CLASS]!;
  const classes = Object.entries(s.uploaded.byClass);
  // Every write request (PUT, multipart create, parts, complete) is billed at the class of its
  // object; the summary does not say which parts went to which class, so the writes beyond one
  // per object are priced at the class that received most bytes.
  const heaviest = classes.reduce<[string, number]>(
    (best, [cls, t]) => (t.bytes > best[1] ? [cls, t.bytes] : best),
    [STANDARD_CLASS, -1],
  )[0];
  const putPrice = (cls: string) => (p.classes[cls] ?? standard).putPer1000 / 1000;
  let requests = 0;
  let storage = 0;
  for (const [cls, t] of classes) {
    requests += t.objects * putPrice(cls);
    storage += monthlyStorage(p, cls, t.objects, t.bytes)?.total ?? monthlyStorage(p, STANDARD_CLASS, t.objects, t.bytes)!.total;
  }
  const extraWrites = Math.max(0, s.putClassRequests - s.requests.list - s.uploaded.objects);
  requests += extraWrites * putPrice(heaviest);
  requests += (s.requests.list * p.listPer1000) / 1000;
  requests += ((s.requests.get + s.requests.head) * standard.getPer1000) / 1000;
  return { requests, storagePerMonth: storage };
}
