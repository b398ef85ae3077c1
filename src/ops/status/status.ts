import { buildCollection, type BackupChain, type BackupSet, type Collection } from '../../archive/collection.ts';
import { timeToString } from '../../codec/time-string.ts';
import type { TargetContext } from '../context.ts';
import { hasRestore, isArchivedClass } from '../../backend/backend.ts';
import { forEachLimited, thawStateOf, type ThawState } from '../thaw/thaw.ts';
import { readLockHolder, targetLockName } from '../../archive/target-lock.ts';
import { missingVolumes, type MissingVolumes } from './missing-volumes.ts';
import { prettyTime } from './pretty-time.ts';

export { prettyTime };

export interface SetStatus {
  readonly type: 'full' | 'inc';
  readonly startTime: number;
  readonly endTime: number;
  readonly time: string;
  readonly volumes: number;
  readonly bytes: number;
  readonly encrypted: boolean;
  readonly compressed: boolean;
  /** volume numbers the target lacks: a restore that needs one fails (see missingVolumes) */
  readonly missingVolumes: number[];
  /** what told which volumes the set should have: its manifest, or only the listing's gaps */
  readonly volumesCheckedBy: 'manifest' | 'listing';
}

export interface ChainStatus {
  readonly primary: boolean;
  readonly startTime: number;
  readonly endTime: number;
  readonly sets: SetStatus[];
}

export interface CollectionStatus {
  readonly target: string;
  readonly archiveDir: string;
  readonly chains: ChainStatus[];
  readonly orphanedSets: SetStatus[];
  readonly incompleteSets: SetStatus[];
  readonly orphanedSignatures: string[];
  readonly lastFullTime: number | null;
  /**
   * Object stores with archive classes: every volume's storage class and restore state (from HEAD
   * for archived ones), in chain order. Absent for targets without archive classes.
   */
  readonly volumes?: VolumeStorage[];
  /** Information only: the run that holds the target lock now (see docs/safety.md "The target lock"). */
  readonly targetLock?: TargetLockStatus;
}

export interface TargetLockStatus {
  readonly host?: string;
  readonly pid?: number;
  readonly operation?: string;
  readonly since?: string;
  /** When the lock was last written, epoch seconds by the target's clock. */
  readonly refreshed: number;
}

export interface VolumeStorage {
  readonly name: string;
  readonly size: number;
  readonly storageClass: string;
  /** `readable`: not archived; `archived`: needs a thaw; `in-progress`; `restored` until `expiry` */
  readonly restore: ThawState;
  readonly expiry?: number;
}

/** What the target holds, from its listing alone (duplicity's collection-status does no sync either). */
export async function collectionStatus(ctx: TargetContext): Promise<CollectionStatus> {
  const listing = await ctx.backend.list();
  const collection = buildCollection(listing, ctx.prefixes);
  const lock = await lockStatus(ctx, listing);
  const status = { ...describe(ctx, collection, await missingBySet(ctx, collection)), ...(lock ? { targetLock: lock } : {}) };
  return hasRestore(ctx.backend) ? { ...status, volumes: await volumeStorage(ctx, collection) } : status;
}

/** Read only when the listing shows a lock: no extra request otherwise. */
async function lockStatus(ctx: TargetContext, listing: readonly { readonly name: string }[]): Promise<TargetLockStatus | null> {
  const name = targetLockName(ctx.prefixes);
  if (!listing.some((o) => o.name === name)) return null;
  const h = await readLockHolder(ctx.backend, name);
  if (!h) return null;
  return {
    ...(h.host !== undefined ? { host: h.host } : {}),
    ...(h.pid !== undefined ? { pid: h.pid } : {}),
    ...(h.operation !== undefined ? { operation: h.operation } : {}),
    ...(h.since !== undefined ? { since: h.since } : {}),
    refreshed: h.modified,
  };
}

async function volumeStorage(ctx: TargetContext, collection: Collection): Promise<VolumeStorage[]> {
  const sets = [...collection.chains.flatMap((c) => [c.full, ...c.incs]), ...collection.orphanedSets, ...collection.incompleteSets];
  const out: VolumeStorage[] = [];
  for (const s of sets) {
    for (const v of [...s.volumes.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1])) {
      const storageClass = v.storageClass ?? 'STANDARD';
      out.push({ name: v.name, size: v.size, storageClass, restore: isArchivedClass(storageClass) ? 'archived' : 'readable' });
    }
  }
  // the listing gives the class; only HEAD tells whether an archived object has a restored copy
  await forEachLimited(
    out.map((v, i) => [v, i] as const).filter(([v]) => v.restore === 'archived'),
    8,
    async ([v, i]) => {
      const info = await ctx.backend.head(v.name);
      if (!info) return;
      const seen = thawStateOf(info);
      out[i] = { ...v, restore: seen.state, ...(seen.expiry !== undefined ? { expiry: seen.expiry } : {}) };
    },
  );
  return out;
}

/** Each set's missing volumes (manifests from the cache, a few read at a time from the target). */
async function missingBySet(ctx: TargetContext, collection: Collection): Promise<Map<BackupSet, MissingVolumes>> {
  const sets = [...collection.chains.flatMap((c) => [c.full, ...c.incs]), ...collection.orphanedSets, ...collection.incompleteSets];
  const out = new Map<BackupSet, MissingVolumes>();
  await forEachLimited(sets, 8, async (s) => {
    out.set(s, await missingVolumes(ctx, s));
  });
  return out;
}

export function describe(
  ctx: TargetContext,
  collection: Collection,
  missing: ReadonlyMap<BackupSet, MissingVolumes> = new Map(),
): CollectionStatus {
  const setStatus = (s: BackupSet) => statusOf(s, missing.get(s));
  const primaryChain = collection.primary?.chain.full;
  const chains = collection.chains.map((c: BackupChain) => ({
    primary: c.full === primaryChain,
    startTime: c.startTime,
    endTime: c.endTime,
    sets: [c.full, ...c.incs].map(setStatus),
  }));
  const fulls = collection.chains.map((c) => c.startTime);
  return {
    target: ctx.backend.displayUrl,
    archiveDir: ctx.cache.dir,
    chains,
    orphanedSets: collection.orphanedSets.map(setStatus),
    incompleteSets: collection.incompleteSets.map(setStatus),
    orphanedSignatures: collection.orphanedSignatures.map((s) => s.info.name),
    lastFullTime: fulls.length > 0 ? Math.max(...fulls) : null,
  };
}

function statusOf(s: BackupSet, missing: MissingVolumes | undefined): SetStatus {
  let bytes = s.manifest?.size ?? 0;
  for (const v of s.volumes.values()) bytes += v.size;
  return {
    type: s.type,
    startTime: s.startTime,
    endTime: s.endTime,
    time: timeToString(s.endTime),
    volumes: s.volumes.size,
    bytes,
    encrypted: s.encrypted,
    compressed: s.compressed,
    missingVolumes: missing?.missing ?? [],
    volumesCheckedBy: missing?.by ?? 'listing',
  };
}

/** The human report, laid out as duplicity's. */
export function formatStatus(st: CollectionStatus): string {
  const lines: string[] = [];
  if (st.lastFullTime !== null) lines.push(`Last full backup date: ${prettyTime(st.lastFullTime)}`);
  else lines.push('Last full backup date: none');
  lines.push('Collection Status', '-----------------', `Connecting with backend: ${st.target}`, `Archive dir: ${st.archiveDir}`, '');
  const secondary = st.chains.filter((c) => !c.primary);
  lines.push(`Found ${secondary.length} secondary backup chain${secondary.length === 1 ? '' : 's'}.`);
  secondary.forEach((c, i) => {
    lines.push(`Secondary chain ${i + 1} of ${secondary.length}:`);
    lines.push(...chainLines(c));
  });
  lines.push('');
  const primary = st.chains.find((c) => c.primary);
  if (primary) {
    lines.push('Found primary backup chain with matching signature chain:');
    lines.push(...chainLines(primary));
  } else lines.push('No backup chains with active signatures found');
  const damaged = [...st.chains.flatMap((c) => c.sets), ...st.orphanedSets].filter((s) => s.missingVolumes.length > 0);
  if (damaged.length > 0) {
    lines.push(
      `Found ${damaged.length} damaged backup set(s), with volumes missing at the target: a restore that needs them fails ("verify" lists them).`,
    );
  }
  if (st.orphanedSets.length === 0 && st.incompleteSets.length === 0 && st.orphanedSignatures.length === 0) {
    lines.push('No orphaned or incomplete backup sets found.');
  } else {
    if (st.orphanedSets.length > 0) lines.push(`Also found ${st.orphanedSets.length} backup set(s) not part of any chain.`);
    if (st.incompleteSets.length > 0)
      lines.push(
        `Also found ${st.incompleteSets.length} incomplete backup set(s) (no manifest: an interrupted backup; "cleanup --force" removes them).`,
      );
    if (st.orphanedSignatures.length > 0) lines.push(`Also found ${st.orphanedSignatures.length} orphaned signature file(s).`);
  }
  if (st.targetLock) {
    const l = st.targetLock;
    const who =
      l.host !== undefined
        ? `${l.operation ?? 'a run'} on host ${l.host}, pid ${l.pid ?? '?'}, since ${l.since ?? '?'}`
        : 'an unreadable lock';
    lines.push(`Target lock held by ${who} (last refreshed ${new Date(l.refreshed * 1000).toISOString()}).`);
  }

  if (st.volumes && st.volumes.length > 0) {
    const width = Math.max(...st.volumes.map((v) => v.name.length));
    lines.push('', 'Volumes (storage class, restore state):');
    for (const v of st.volumes) lines.push(`  ${v.name.padEnd(width)}  ${v.storageClass.padEnd(12)}  ${restoreText(v)}`);
  }
  return lines.join('\n');
}

function restoreText(v: VolumeStorage): string {
  switch (v.restore) {
    case 'readable':
      return 'readable';
    case 'archived':
      return 'archived (thaw before reading)';
    case 'in-progress':
      return 'restore in progress';
    case 'restored':
      return v.expiry !== undefined ? `restored until ${prettyTime(v.expiry)}` : 'restored';
  }
}

function chainLines(c: ChainStatus): string[] {
  const out = [
    '-------------------------',
    `Chain start time: ${prettyTime(c.startTime)}`,
    `Chain end time: ${prettyTime(c.endTime)}`,
    `Number of contained backup sets: ${c.sets.length}`,
    `Total number of contained volumes: ${c.sets.reduce((n, s) => n + s.volumes, 0)}`,
    ' Type of backup set:                            Time:      Num volumes:',
  ];
  for (const s of c.sets) {
    const type = s.type === 'full' ? 'Full' : 'Incremental';
    out.push(`${type.padStart(20)}         ${prettyTime(s.endTime)}${String(s.volumes).padStart(18)}`);
    if (s.missingVolumes.length > 0)
      out.push(`${' '.repeat(29)}DAMAGED: missing volume${s.missingVolumes.length === 1 ? '' : 's'} ${s.missingVolumes.join(', ')}`);
  }
  out.push('-------------------------');
  return out;
}
