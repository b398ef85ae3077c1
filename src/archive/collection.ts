import type { RemoteObjectInfo } from '../backend/backend.ts';
import { parseRemoteName, type NamePrefixes, type ParsedName } from '../codec/remote-name.ts';

/**
 * The backup sets and chains that a target holds, assembled from names alone, by duplicity's rules
 * (docs/duplicity-format.md §7.1–7.4). Nothing here reads file contents.
 */
export interface BackupSet {
  readonly type: 'full' | 'inc';
  /** full: its time; inc: its start time (the end of the set it extends). */
  readonly startTime: number;
  /** full: its time; inc: its end time. */
  readonly endTime: number;
  /** volume number → remote name */
  readonly volumes: Map<number, RemoteObjectInfo>;
  manifest: RemoteObjectInfo | null;
  encrypted: boolean;
  compressed: boolean;
}

export interface BackupChain {
  readonly full: BackupSet;
  readonly incs: BackupSet[];
  /** The full set's time. */
  readonly startTime: number;
  endTime: number;
}

export interface SignatureFile {
  readonly type: 'full-sig' | 'new-sig';
  readonly startTime: number;
  readonly endTime: number;
  readonly info: RemoteObjectInfo;
  readonly encrypted: boolean;
  readonly compressed: boolean;
}

export interface SignatureChain {
  readonly full: SignatureFile;
  readonly incs: SignatureFile[];
  endTime: number;
}

export interface Collection {
  readonly chains: BackupChain[];
  readonly signatureChains: SignatureChain[];
  /** Incremental sets that extend no chain. */
  readonly orphanedSets: BackupSet[];
  /** Sets without a manifest: what an interrupted backup leaves. */
  readonly incompleteSets: BackupSet[];
  readonly orphanedSignatures: SignatureFile[];
  /** Files whose names we parsed as duplicity files but that belong nowhere (duplicates). */
  readonly strays: RemoteObjectInfo[];
  /** The newest chain with a matching signature chain: what an incremental extends. */
  readonly primary: { chain: BackupChain; signatures: SignatureChain } | null;
}

export function buildCollection(listing: readonly RemoteObjectInfo[], prefixes: NamePrefixes): Collection {
  const sets = new Map<string, BackupSet>();
  const sigFiles: SignatureFile[] = [];
  const strays: RemoteObjectInfo[] = [];
  for (const info of listing) {
    const parsed = parseRemoteName(info.name, prefixes);
    if (!parsed || parsed.partial) continue;
    if (parsed.kind === 'full-sig' || parsed.kind === 'new-sig') {
      sigFiles.push(toSignatureFile(parsed, info));
      continue;
    }
    const { start, end } = timesOf(parsed);
    const key = `${parsed.kind}:${start}:${end}`;
    let set = sets.get(key);
    if (!set) {
      set = {
        type: parsed.kind,
        startTime: start,
        endTime: end,
        volumes: new Map(),
        manifest: null,
        encrypted: parsed.encrypted,
        compressed: parsed.compressed,
      };
      sets.set(key, set);
    }
    if (parsed.manifest) {
      if (set.manifest) strays.push(info);
      else set.manifest = info;
    } else {
      const n = parsed.volume!;
      if (set.volumes.has(n)) strays.push(info);
      else {
        set.volumes.set(n, info);
        set.encrypted = parsed.encrypted;
        set.compressed = parsed.compressed;
      }
    }
  }

  const complete = [...sets.values()].filter((s) => s.manifest !== null);
  const incompleteSets = [...sets.values()].filter((s) => s.manifest === null);
  complete.sort((a, b) => a.endTime - b.endTime || (a.type === 'full' ? -1 : 1));

  const chains: BackupChain[] = [];
  const orphanedSets: BackupSet[] = [];
  for (const set of complete) {
    if (set.type === 'full') {
      chains.push({ full: set, incs: [], startTime: set.startTime, endTime: set.endTime });
      continue;
    }
    if (!attachIncrement(chains, set)) orphanedSets.push(set);
  }
  chains.sort((a, b) => a.endTime - b.endTime);

  // Signatures count only beside a complete set: an interrupted run uploads them just before its
  // manifest, and a signature chain ending past the backup chain would block every incremental.
  const completeKeys = new Set(complete.map((s) => `${s.type === 'full' ? 'full-sig' : 'new-sig'}:${s.startTime}:${s.endTime}`));
  const usable = sigFiles.filter((f) => completeKeys.has(`${f.type}:${f.startTime}:${f.endTime}`));
  const unusable = sigFiles.filter((f) => !completeKeys.has(`${f.type}:${f.startTime}:${f.endTime}`));
  const { signatureChains, orphanedSignatures: orphanedInChains } = buildSignatureChains(usable);
  const orphanedSignatures = [...unusable, ...orphanedInChains];
  const primary = findPrimary(chains, signatureChains);
  return { chains, signatureChains, orphanedSets, incompleteSets, orphanedSignatures, strays, primary };
}

/** duplicity's BackupChain.add_inc: extend a chain, or replace its last inc by a longer one. */
function attachIncrement(chains: BackupChain[], set: BackupSet): boolean {
  for (const chain of chains) {
    if (chain.endTime === set.startTime) {
      chain.incs.push(set);
      chain.endTime = set.endTime;
      return true;
    }
    const last = chain.incs[chain.incs.length - 1];
    if (last && last.startTime === set.startTime && set.endTime > last.endTime) {
      chain.incs[chain.incs.length - 1] = set;
      chain.endTime = set.endTime;
      return true;
    }
  }
  return false;
}

function buildSignatureChains(files: SignatureFile[]): { signatureChains: SignatureChain[]; orphanedSignatures: SignatureFile[] } {
  const chains: SignatureChain[] = [];
  const orphaned: SignatureFile[] = [];
  const fulls = files.filter((f) => f.type === 'full-sig').sort((a, b) => a.endTime - b.endTime);
  const incs = files.filter((f) => f.type === 'new-sig').sort((a, b) => a.startTime - b.startTime || a.endTime - b.endTime);
  for (const full of fulls) {
    if (chains.some((c) => c.full.endTime === full.endTime)) orphaned.push(full);
    else chains.push({ full, incs: [], endTime: full.endTime });
  }
  for (const inc of incs) {
    const chain = chains.find((c) => c.endTime === inc.startTime);
    if (chain) {
      chain.incs.push(inc);
      chain.endTime = inc.endTime;
    } else orphaned.push(inc);
  }
  chains.sort((a, b) => a.endTime - b.endTime);
  return { signatureChains: chains, orphanedSignatures: orphaned };
}

/**
 * duplicity's set_matched_chain_pair: the latest backup chain with a signature chain ending at the
 * same time. When the signatures stop one set short (an interrupted run uploaded the manifest but
 * not the signatures), the chain is used without its last set, as duplicity does.
 */
function findPrimary(chains: BackupChain[], sigChains: SignatureChain[]): Collection['primary'] {
  const latest = chains[chains.length - 1];
  if (!latest) return null;
  for (let i = sigChains.length - 1; i >= 0; i--) {
    const sig = sigChains[i]!;
    if (sig.endTime === latest.endTime && sig.full.startTime === latest.startTime) return { chain: latest, signatures: sig };
  }
  if (latest.incs.length > 0) {
    const shortened = latest.incs.slice(0, -1);
    const end = shortened.length > 0 ? shortened[shortened.length - 1]!.endTime : latest.full.endTime;
    for (let i = sigChains.length - 1; i >= 0; i--) {
      const sig = sigChains[i]!;
      if (sig.endTime === end && sig.full.startTime === latest.startTime) {
        return { chain: { full: latest.full, incs: shortened, startTime: latest.startTime, endTime: end }, signatures: sig };
      }
    }
  }
  return null;
}

/**
 * duplicity's get_backup_chain_at_time: the chain covering `time`, else the newest chain ending
 * before it, else the first chain. Null when there are no chains.
 */
export function chainAtTime(collection: Collection, time: number): BackupChain | null {
  const { chains } = collection;
  if (chains.length === 0) return null;
  const covering = chains.filter((c) => c.startTime <= time && time <= c.endTime);
  if (covering.length > 0) return covering[covering.length - 1]!;
  const older = chains.filter((c) => c.endTime < time);
  if (older.length > 0) return older[older.length - 1]!;
  return chains[0]!;
}

/** The chain's full set plus its incrementals that end at or before `time`. */
export function setsAtTime(chain: BackupChain, time: number): BackupSet[] {
  return [chain.full, ...chain.incs.filter((s) => s.endTime <= time)];
}

/** All sets, chain by chain, oldest first (for status output). */
export function allSets(collection: Collection): BackupSet[] {
  return collection.chains.flatMap((c) => [c.full, ...c.incs]);
}

function timesOf(p: ParsedName): { start: number; end: number } {
  if (p.kind === 'full' || p.kind === 'full-sig') return { start: p.time!, end: p.time! };
  return { start: p.startTime!, end: p.endTime! };
}

function toSignatureFile(p: ParsedName, info: RemoteObjectInfo): SignatureFile {
  const { start, end } = timesOf(p);
  return { type: p.kind as 'full-sig' | 'new-sig', startTime: start, endTime: end, info, encrypted: p.encrypted, compressed: p.compressed };
}
