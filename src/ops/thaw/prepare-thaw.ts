import * as fsp from 'node:fs/promises';
import { hasObjectAddressing, type RemoteObjectInfo } from '../../backend/backend.ts';
import type { RestoreTier } from '../../core/restore-tier.ts';
import type { PathIndex } from '../../core/path-index.ts';
import { RESTORE_TIERS, type PricingTable } from '../../pricing/pricing-table.ts';
import { retrievalQuote, type RetrievalQuote } from '../../pricing/retrieval-quote.ts';
import type { TargetContext } from '../context.ts';
import { ExitCode, PermafrostError } from '../../core/errors.ts';
import { planThaw, type ThawPlan } from './thaw-plan.ts';
import { checkSetKeys } from '../key-check.ts';
import { loadJournal, saveJournal, type ThawJournal } from './thaw-journal.ts';
import {
  countStates,
  probeVolumes,
  recordStates,
  requestRestores,
  tierFor,
  type RequestTally,
  type ThawCounts,
  type VolumeThaw,
} from './thaw.ts';

/** What a download of the restored volumes is assumed to reach, for the time estimate. */
export const ASSUMED_DOWNLOAD_BYTES_PER_SECOND = 50 * 1024 * 1024;

export interface ThawRequestOptions {
  readonly time?: number;
  readonly fileToRestore?: PathIndex;
  readonly tier: RestoreTier;
  /** how long restored copies stay readable; default: the tier's longest usual wait plus the download, plus a day */
  readonly days?: number;
  readonly pricing: PricingTable;
  /** the target's listing, when the caller has one (saves a LIST) */
  readonly listing?: readonly RemoteObjectInfo[];
}

/** The cost of thawing what is still archived, with one tier (per class the tier exists in). */
export interface TierQuote {
  readonly tier: RestoreTier;
  /** per storage class; a class without this tier uses the next faster one it has (DEEP_ARCHIVE: Standard for Expedited) */
  readonly parts: readonly RetrievalQuote[];
  readonly total: number;
  /** the usual wait, hours: the slowest class decides */
  readonly typicalHours: readonly [number, number];
}

export interface PreparedThaw {
  readonly plan: ThawPlan;
  readonly volumes: VolumeThaw[];
  readonly journal: ThawJournal;
  readonly tier: RestoreTier;
  readonly days: number;
  /** still archived: what restore requests would be sent for */
  readonly toRequest: { readonly objects: number; readonly bytes: number };
  /** every tier's price for `toRequest`; the chosen tier's among them */
  readonly quotes: readonly TierQuote[];
  /** hours until everything is downloaded, at worst: the tier's longest usual wait plus the download */
  readonly estimatedHours: number;
  readonly counts: ThawCounts;
  readonly pricing: PricingTable;
}

/**
 * Plans a thaw: the volumes a restore needs (from manifests, never from archived data), where
 * each stands (HEAD), and what restoring the archived rest costs with each tier. Sends nothing.
 */
export async function prepareThaw(ctx: TargetContext, req: ThawRequestOptions): Promise<PreparedThaw> {
  const plan = await planThaw(ctx, {
    ...(req.time !== undefined ? { time: req.time } : {}),
    ...(req.fileToRestore ? { fileToRestore: req.fileToRestore } : {}),
    ...(req.listing ? { listing: req.listing } : {}),
  });
  const volumes = await probeVolumes(ctx.backend, plan.volumes);
  const journal = await loadJournal(ctx.cache.dir, ctx.backend.displayUrl, (m) => ctx.reporter.warning(m));
  const archived = volumes.filter((v) => v.state === 'archived');
  const toRequest = { objects: archived.length, bytes: archived.reduce((n, v) => n + v.volume.size, 0) };
  const pendingBytes = volumes.filter((v) => v.volume.archived).reduce((n, v) => n + v.volume.size, 0);
  const downloadHours = pendingBytes / ASSUMED_DOWNLOAD_BYTES_PER_SECOND / 3600;
  const waitHours = (tier: RestoreTier) =>
    archived.length === 0 && !volumes.some((v) => v.state === 'in-progress') ? 0 : quoteFor(req.pricing, volumes, tier, 1).typicalHours[1];
  const estimatedHours = waitHours(req.tier) + downloadHours;
  const days = req.days ?? Math.max(1, Math.ceil(estimatedHours / 24) + 1);
  if (req.days !== undefined && req.days * 24 < estimatedHours) {
    ctx.reporter.warning(
      `--days ${req.days} may be too short: the ${req.tier} tier usually takes up to ${formatHours(waitHours(req.tier))} and the download about ${formatHours(downloadHours)}; copies that expire before they are read are requested (and paid for) again`,
    );
  }
  const quotes = RESTORE_TIERS.map((tier) => quoteFor(req.pricing, archived, tier, days));
  return {
    plan,
    volumes,
    journal,
    tier: req.tier,
    days,
    toRequest,
    quotes,
    estimatedHours,
    counts: countStates(volumes),
    pricing: req.pricing,
  };
}

export function quoteFor(pricing: PricingTable, volumes: readonly VolumeThaw[], tier: RestoreTier, days: number): TierQuote {
  const byClass = new Map<string, { objects: number; bytes: number }>();
  for (const v of volumes) {
    if (!v.volume.archived) continue;
    const t = byClass.get(v.volume.storageClass) ?? { objects: 0, bytes: 0 };
    t.objects++;
    t.bytes += v.volume.size;
    byClass.set(v.volume.storageClass, t);
  }
  const parts: RetrievalQuote[] = [];
  for (const [storageClass, t] of byClass) {
    const q = retrievalQuote(pricing, storageClass, tierFor(storageClass, tier), t.objects, t.bytes, days);
    if (q) parts.push(q);
  }
  let low = 0;
  let high = 0;
  for (const q of parts) {
    low = Math.max(low, q.typicalHours[0]);
    high = Math.max(high, q.typicalHours[1]);
  }
  return { tier, parts, total: parts.reduce((n, q) => n + q.total, 0), typicalHours: [low, high] };
}

/** Sends the restore requests the plan needs, journalled. */
export async function sendThawRequests(ctx: TargetContext, prepared: PreparedThaw): Promise<RequestTally> {
  await checkSetKeys(ctx, prepared.plan.newestSet, 'thaw');
  const tally = await requestRestores(ctx, prepared.volumes, prepared.journal, { tier: prepared.tier, days: prepared.days });
  await recordStates(ctx, prepared.volumes, prepared.journal);
  return tally;
}

/**
 * Writes an S3 Batch Operations manifest (CSV `bucket,url-encoded key`, no header; docs/glacier-semantics.md §3.7) of
 * the volumes still archived, instead of sending requests, and journals them as `batch`.
 */
export async function writeBatchManifest(ctx: TargetContext, prepared: PreparedThaw, file: string): Promise<number> {
  await checkSetKeys(ctx, prepared.plan.newestSet, 'thaw');
  const address = hasObjectAddressing(ctx.backend) ? ctx.backend.objectAddress.bind(ctx.backend) : undefined;
  if (!address)
    throw new PermafrostError(ExitCode.usage, `--batch-manifest needs an S3 target; ${ctx.backend.displayUrl} has no archive storage`);
  if (prepared.tier === 'Expedited')
    throw new PermafrostError(
      ExitCode.usage,
      'S3 Batch Operations restores only with the Standard or Bulk tier: choose --tier Standard or --tier Bulk',
    );
  const rows: string[] = [];
  for (const v of prepared.volumes) {
    if (v.state !== 'archived') continue;
    const { bucket, key } = address(v.volume.name);
    rows.push(`${bucket},${encodeURIComponent(key).replace(/%2F/g, '/')}\n`);
  }
  try {
    await fsp.writeFile(file, rows.join(''), { flag: 'wx' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new PermafrostError(
      ExitCode.localIo,
      code === 'EEXIST'
        ? `--batch-manifest ${file} exists: choose a new file name`
        : `cannot write --batch-manifest ${file}: ${code ?? (err as Error).message}`,
    );
  }
  const now = ctx.now();
  for (const v of prepared.volumes) {
    if (v.state !== 'archived') continue;
    const before = prepared.journal.volumes.get(v.volume.name);
    prepared.journal.volumes.set(v.volume.name, {
      requestedAt: now,
      tier: prepared.tier,
      days: prepared.days,
      requests: before?.requests ?? 0,
      state: 'batch',
    });
  }
  await saveJournal(ctx.cache.dir, prepared.journal, now);
  return rows.length;
}

export function formatHours(h: number): string {
  if (h < 1) return `${Math.max(1, Math.round(h * 60))} min`;
  if (h < 48) return `${Math.round(h * 10) / 10} h`;
  return `${Math.round((h / 24) * 10) / 10} days`;
}
