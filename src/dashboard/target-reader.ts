/**
 * Reads a target for the dashboard: opens it as the job's command line would (cache, name,
 * prefixes, S3 settings), runs a read-only operation, closes it, and counts its requests by kind.
 * Only listings, HEADs, manifests, signatures and the local cache are read; no volume is ever
 * downloaded and no restore requested here (the thaw action is in thaw-tracker.ts).
 */
import { requestSummaryOf } from '../backend/backend.ts';
import { REQUEST_TYPES, type RequestType } from '../backend/request-accounting.ts';
import type { TargetContext } from '../ops/context.ts';
import type { Reporter } from '../ops/reporter.ts';
import { storageCosts } from '../ops/status/storage-costs.ts';
import { loadPricing, type PricingTable } from '../pricing/pricing-table.ts';
import type { TargetOpener } from './daemon-access.ts';
import type { DashboardTarget } from './targets.ts';

export interface TargetSummary {
  readonly id: string;
  readonly url: string;
  readonly jobs: readonly string[];
  /** bytes by storage class (file:// targets: STANDARD) */
  readonly storedBytes: Readonly<Record<string, number>>;
  readonly monthlyCostUsd: number | null;
  /** ISO time of the reading */
  readonly readAt: string | null;
  /** why the target could not be read, redacted */
  readonly error?: string;
}

/** Told of requests sent to a target, by kind (the metrics count them). */
export type RequestCounter = (target: DashboardTarget, requests: Readonly<Partial<Record<RequestType, number>>>) => void;

export interface OpenedTarget {
  readonly ctx: TargetContext;
  /** counts the requests sent since the last flush */
  flush(): void;
  close(): Promise<void>;
}

export class TargetReader {
  readonly #open: TargetOpener;
  readonly #reporter: Reporter;
  readonly #onRequests: RequestCounter;
  readonly #pricing = new Map<string, Promise<PricingTable>>();

  constructor(open: TargetOpener, log: (line: string) => void, onRequests: RequestCounter) {
    this.#open = open;
    const warn = (m: string) => log(`dashboard: ${m}`);
    this.#reporter = { error: warn, warning: warn, notice() {}, info() {}, debug() {} };
    this.#onRequests = onRequests;
  }

  /** The pricing table of the target's job (--pricing-file), loaded once. */
  pricing(t: DashboardTarget): Promise<PricingTable> {
    const key = t.options.pricingFile ?? '';
    let p = this.#pricing.get(key);
    if (!p) {
      p = loadPricing(t.options.pricingFile);
      p.catch(() => this.#pricing.delete(key));
      this.#pricing.set(key, p);
    }
    return p;
  }

  /** Runs `fn` on a fresh context of the target, then closes it and counts its requests. */
  async read<T>(t: DashboardTarget, fn: (ctx: TargetContext, pricing: PricingTable) => Promise<T>): Promise<T> {
    const pricing = await this.pricing(t);
    const opened = this.open(t);
    try {
      return await fn(opened.ctx, pricing);
    } finally {
      await opened.close();
    }
  }

  /**
   * A context kept open (a thaw being followed): `flush` counts the requests sent since the last
   * flush, `close` releases it and counts the rest.
   */
  open(t: DashboardTarget): OpenedTarget {
    const ctx = this.#open(t.rawUrl, t.options, this.#reporter);
    const counted: Partial<Record<RequestType, number>> = {};
    const flush = () => {
      const s = requestSummaryOf(ctx.backend);
      if (!s) return;
      const delta: Partial<Record<RequestType, number>> = {};
      for (const kind of REQUEST_TYPES) {
        const n = s.requests[kind] - (counted[kind] ?? 0);
        if (n <= 0) continue;
        delta[kind] = n;
        counted[kind] = s.requests[kind];
      }
      if (Object.keys(delta).length > 0) this.#onRequests(t, delta);
    };
    return {
      ctx,
      flush,
      close: async () => {
        await ctx.backend.close().catch(() => undefined);
        flush();
      },
    };
  }

  /** Stored bytes by class and the monthly cost, from one listing (collection-status --costs's numbers). */
  async summary(t: DashboardTarget): Promise<TargetSummary> {
    const costs = await this.read(t, (ctx, pricing) => storageCosts(ctx, pricing));
    const storedBytes: Record<string, number> = {};
    for (const c of costs.byClass) storedBytes[c.storageClass] = (storedBytes[c.storageClass] ?? 0) + c.bytes;
    for (const u of costs.unpriced) storedBytes[u.storageClass] = (storedBytes[u.storageClass] ?? 0) + u.bytes;
    return { id: t.id, url: t.url, jobs: t.jobs, storedBytes, monthlyCostUsd: costs.monthly, readAt: new Date().toISOString() };
  }
}
