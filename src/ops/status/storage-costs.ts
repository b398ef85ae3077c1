import type { RemoteObjectInfo } from '../../backend/backend.ts';
import { buildCollection, type BackupSet, type Collection } from '../../archive/collection.ts';
import { STANDARD_CLASS, type PricingTable } from '../../pricing/pricing-table.ts';
import { billedSize, monthlyStorage } from '../../pricing/storage-cost.ts';
import { formatUsd as usd } from '../../pricing/usd.ts';
import type { TargetContext } from '../context.ts';
import { earlyDeletion } from '../retention/retention.ts';
import { prettyTime } from './status.ts';

/**
 * `collection-status --costs`: what the target's objects cost per month, chain by chain and class
 * by class, from the listing's sizes and classes (no object is read), and what deleting all of
 * them today would add for the minimum storage durations not yet served.
 */

export interface ClassCost {
  readonly storageClass: string;
  readonly objects: number;
  readonly bytes: number;
  /** USD per month: data (at least the class's minimum billable size per object) and per-object overhead */
  readonly monthly: number;
  /** Bytes billed for the per-object overhead (archive classes: 40 KB an object). */
  readonly overheadBytes: number;
}

export interface GroupCost {
  /** `chain`: a backup chain (its sets and signatures); `other`: objects in no chain (interrupted runs, orphans). */
  readonly kind: 'chain' | 'other';
  readonly startTime?: number;
  readonly endTime?: number;
  readonly primary?: boolean;
  readonly classes: readonly ClassCost[];
  /** USD per month */
  readonly monthly: number;
  /** USD: the early-deletion charge if this group were deleted today */
  readonly earlyDeletion: number;
}

export interface StorageCosts {
  readonly pricing: { readonly region: string; readonly currency: string; readonly asOf: string; readonly source: string };
  /** The chains, oldest first, then (if any) the objects in no chain. */
  readonly groups: readonly GroupCost[];
  readonly byClass: readonly ClassCost[];
  /** USD per month */
  readonly monthly: number;
  /** Deleting everything today: the objects still inside their class's minimum duration, and the charge. */
  readonly earlyDeletion: { readonly objects: number; readonly total: number };
  /** Classes the table has no prices for: their objects are left out of the sums. */
  readonly unpriced: readonly { readonly storageClass: string; readonly objects: number; readonly bytes: number }[];
  /** Objects without a class (a file:// target) are priced as STANDARD. */
  readonly assumedStandard: number;
}

/** Lists the target and prices what it holds. */
export async function storageCosts(ctx: TargetContext, pricing: PricingTable): Promise<StorageCosts> {
  return priceCollection(buildCollection(await ctx.backend.list(), ctx.prefixes), pricing, ctx.now());
}

/** Prices a collection's objects at `now` (epoch seconds); pure. */
export function priceCollection(collection: Collection, pricing: PricingTable, now: number): StorageCosts {
  const inChains = new Set<string>();
  const primary = collection.primary?.chain;
  const groups: { kind: 'chain' | 'other'; startTime?: number; endTime?: number; primary?: boolean; objects: RemoteObjectInfo[] }[] = [];
  for (const chain of collection.chains) {
    const sigChain = collection.signatureChains.find((s) => s.full.startTime === chain.startTime);
    const objects = [
      ...[chain.full, ...chain.incs].flatMap(setObjects),
      ...(sigChain ? [sigChain.full, ...sigChain.incs].map((s) => s.info) : []),
    ];
    for (const o of objects) inChains.add(o.name);
    groups.push({ kind: 'chain', startTime: chain.startTime, endTime: chain.endTime, primary: chain === primary, objects });
  }
  const others = [
    ...collection.orphanedSets.flatMap(setObjects),
    ...collection.incompleteSets.flatMap(setObjects),
    ...collection.signatureChains.flatMap((s) => [s.full, ...s.incs]).map((s) => s.info),
    ...collection.orphanedSignatures.map((s) => s.info),
    ...collection.strays,
  ].filter((o) => !inChains.has(o.name));
  if (others.length > 0) groups.push({ kind: 'other', objects: others });

  const all = groups.flatMap((g) => g.objects);
  const unpriced = new Map<string, { objects: number; bytes: number }>();
  for (const o of all) {
    const cls = classOf(o);
    if (pricing.classes[cls]) continue;
    const u = unpriced.get(cls) ?? { objects: 0, bytes: 0 };
    unpriced.set(cls, { objects: u.objects + 1, bytes: u.bytes + o.size });
  }
  const priced = (objects: readonly RemoteObjectInfo[]) => objects.filter((o) => pricing.classes[classOf(o)] !== undefined);
  const chargeOf = (objects: readonly RemoteObjectInfo[]) =>
    earlyDeletion(
      priced(objects).map((o) => ({ ...o, storageClass: classOf(o) })),
      now,
      pricing,
    );

  const priceGroup = (g: (typeof groups)[number]): GroupCost => {
    const classes = classCosts(priced(g.objects), pricing);
    return {
      kind: g.kind,
      ...(g.startTime !== undefined ? { startTime: g.startTime, endTime: g.endTime!, primary: g.primary! } : {}),
      classes,
      monthly: classes.reduce((n, c) => n + c.monthly, 0),
      earlyDeletion: chargeOf(g.objects).total,
    };
  };
  const byClass = classCosts(priced(all), pricing);
  const early = chargeOf(all);
  return {
    pricing: { region: pricing.region, currency: pricing.currency, asOf: pricing.asOf, source: pricing.source },
    groups: groups.map(priceGroup),
    byClass,
    monthly: byClass.reduce((n, c) => n + c.monthly, 0),
    earlyDeletion: { objects: early.objects.length, total: early.total },
    unpriced: [...unpriced].map(([storageClass, u]) => ({ storageClass, ...u })),
    assumedStandard: all.filter((o) => o.storageClass === undefined).length,
  };
}

function setObjects(s: BackupSet): RemoteObjectInfo[] {
  return [...(s.manifest ? [s.manifest] : []), ...s.volumes.values()];
}

function classOf(o: RemoteObjectInfo): string {
  return o.storageClass ?? STANDARD_CLASS;
}

/** Per class, in a fixed order (STANDARD first, then by name). */
function classCosts(objects: readonly RemoteObjectInfo[], pricing: PricingTable): ClassCost[] {
  const by = new Map<string, { objects: number; bytes: number; billed: number }>();
  for (const o of objects) {
    const cls = classOf(o);
    const t = by.get(cls) ?? { objects: 0, bytes: 0, billed: 0 };
    by.set(cls, { objects: t.objects + 1, bytes: t.bytes + o.size, billed: t.billed + billedSize(pricing.classes[cls]!, o.size) });
  }
  return [...by]
    .sort(([a], [b]) => (a === STANDARD_CLASS ? -1 : b === STANDARD_CLASS ? 1 : a < b ? -1 : a > b ? 1 : 0))
    .map(([storageClass, t]) => {
      const m = monthlyStorage(pricing, storageClass, t.objects, t.billed)!;
      return { storageClass, objects: t.objects, bytes: t.bytes, monthly: m.total, overheadBytes: m.overheadBytes };
    });
}

/** The cost report that follows collection-status's text. */
export function formatStorageCosts(c: StorageCosts, formatBytes: (n: number) => string): string {
  const lines: string[] = [];
  lines.push(
    `Storage costs (${c.pricing.region} list prices of ${c.pricing.asOf} in ${c.pricing.currency}, ${c.pricing.source === 'built-in' ? 'built-in table' : c.pricing.source}):`,
  );
  const chains = c.groups.filter((g) => g.kind === 'chain');
  for (const g of c.groups) {
    const title =
      g.kind === 'chain'
        ? `Chain ${chains.indexOf(g) + 1} of ${chains.length}${g.primary ? ' (primary)' : ''}, ${prettyTime(g.startTime!)} to ${prettyTime(g.endTime!)}`
        : 'Not in any chain (interrupted or orphaned)';
    lines.push(`  ${title}: ${usd(g.monthly)} per month${g.earlyDeletion > 0 ? `; deleting it today: ${usd(g.earlyDeletion)}` : ''}`);
    for (const k of g.classes) lines.push(classLine(k, formatBytes, '    '));
  }
  lines.push(`  Total: ${usd(c.monthly)} per month`);
  for (const k of c.byClass) lines.push(classLine(k, formatBytes, '    '));
  if (c.earlyDeletion.objects > 0) {
    lines.push(
      `  Deleting everything today would add ${usd(c.earlyDeletion.total)}: ${c.earlyDeletion.objects} object${c.earlyDeletion.objects === 1 ? ' is' : 's are'} younger than ${c.earlyDeletion.objects === 1 ? 'its' : 'their'} class's minimum storage duration, whose rest is billed anyway.`,
    );
  } else {
    lines.push('  Deleting everything today would add nothing: no object is inside a minimum storage duration.');
  }
  for (const u of c.unpriced)
    lines.push(
      `  Not priced: ${u.objects} object${u.objects === 1 ? '' : 's'} (${formatBytes(u.bytes)}) in ${u.storageClass}, which the pricing table does not list.`,
    );
  if (c.assumedStandard > 0)
    lines.push(
      `  The target has no storage classes: its ${c.assumedStandard} object${c.assumedStandard === 1 ? ' is' : 's are'} priced as S3 STANDARD.`,
    );
  return lines.join('\n');
}

function classLine(k: ClassCost, formatBytes: (n: number) => string, indent: string): string {
  const overhead = k.overheadBytes > 0 ? ` + ${formatBytes(k.overheadBytes)} per-object overhead` : '';
  return `${indent}${k.storageClass.padEnd(13)} ${String(k.objects).padStart(7)} object${k.objects === 1 ? ' ' : 's'} ${formatBytes(k.bytes).padStart(10)}${overhead}: ${usd(k.monthly)} per month`;
}
