import { buildCollection, type BackupChain, type BackupSet, type Collection } from '../archive/collection.ts';
import { timeToString } from '../codec/time-string.ts';
import type { TargetContext } from './context.ts';

export interface SetStatus {
  readonly type: 'full' | 'inc';
  readonly startTime: number;
  readonly endTime: number;
  readonly time: string;
  readonly volumes: number;
  readonly bytes: number;
  readonly encrypted: boolean;
  readonly compressed: boolean;
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
}

/** What the target holds, from its listing alone (duplicity's collection-status does no sync either). */
export async function collectionStatus(ctx: TargetContext): Promise<CollectionStatus> {
  const collection = buildCollection(await ctx.backend.list(), ctx.prefixes);
  return describe(ctx, collection);
}

export function describe(ctx: TargetContext, collection: Collection): CollectionStatus {
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

function setStatus(s: BackupSet): SetStatus {
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
  };
}

/** duplicity's timetopretty: asctime in local time, e.g. `Tue Nov 14 22:13:20 2023`. */
export function prettyTime(t: number): string {
  const d = new Date(t * 1000);
  const day = DAYS[d.getDay()]!;
  const mon = MONTHS[d.getMonth()]!;
  const dd = String(d.getDate()).padStart(2, ' ');
  const hh = String(d.getHours()).padStart(2, '0');
  const mm = String(d.getMinutes()).padStart(2, '0');
  const ss = String(d.getSeconds()).padStart(2, '0');
  return `${day} ${mon} ${dd} ${hh}:${mm}:${ss} ${d.getFullYear()}`;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

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
  if (st.orphanedSets.length === 0 && st.incompleteSets.length === 0 && st.orphanedSignatures.length === 0) {
    lines.push('No orphaned or incomplete backup sets found.');
  } else {
    if (st.orphanedSets.length > 0) lines.push(`Also found ${st.orphanedSets.length} backup set(s) not part of any chain.`);
    if (st.incompleteSets.length > 0) lines.push(`Also found ${st.incompleteSets.length} incomplete backup set(s) (no manifest: an interrupted backup; "cleanup --force" removes them).`);
    if (st.orphanedSignatures.length > 0) lines.push(`Also found ${st.orphanedSignatures.length} orphaned signature file(s).`);
  }
  return lines.join('\n');
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
  }
  out.push('-------------------------');
  return out;
}
