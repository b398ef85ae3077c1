import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { RemoteObjectInfo } from '../../backend/backend.ts';
import { earlyDeletionCharge, minimumDays } from '../../pricing/early-deletion.ts';
import { builtinPricing, type PricingTable } from '../../pricing/pricing-table.ts';
import { buildCollection, type BackupChain, type BackupSet, type Collection } from '../../archive/collection.ts';
import { parseRemoteName, type NamePrefixes } from '../../codec/remote-name.ts';
import type { TargetContext } from '../context.ts';
import { ExitCode, PermafrostError } from '../../core/errors.ts';
import { prettyTime } from '../status/status.ts';
import { takeWriterLocks } from '../take-target-lock.ts';

/**
 * duplicity 0.8.22's retention verbs (docs/duplicity-format.md §7.6; dup_main.py remove_old, remove_all_but_n_full;
 * dup_collections.py get_chains_older_than, get_signature_chains_older_than,
 * get_nth_last_full_backup_time): what they delete, in the order they delete it.
 *
 * Two departures, on purpose. First, the newest chain is always kept, even when no signature
 * chain matches it (duplicity would then delete every chain older than the time, the newest
 * included). Second, duplicity matches the active chain with its *local* signature chain
 * when the cache has one, and then deletes the *remote* signatures of the active chain once it
 * ends before the removal time (remove-older-than with a time after the last backup), which
 * leaves the target without the signatures the next incremental needs. permafrost never deletes
 * a signature file of the active chain, local or remote; `keptSignatures` names what duplicity
 * would have deleted there. duplicity 3.x fixed that (it matches the active signature chain by
 * end time, not identity) and keeps them too. 3.x's other change, deleting the newest set when it
 * has no manifest before any remove-* with --force (maybe_delete_partial), is not followed: that
 * is `cleanup`'s job (test/ops/retention-dup3.test.ts pins both).
 */
export type RetentionRequest =
  | { readonly mode: 'remove-older-than'; readonly time: number }
  | { readonly mode: 'remove-all-but-n-full' | 'remove-all-inc-of-but-n-full'; readonly count: number };

export interface RetentionStep {
  readonly kind: 'backup-chain' | 'signature-chain';
  readonly location: 'remote' | 'local';
  /** The chain's end time (what duplicity names it by). */
  readonly endTime: number;
  /** duplicity's line for this step, e.g. `Deleting complete backup chain <time>`. */
  readonly message: string;
  /** Remote names, in deletion order (per set: manifest, then volumes from the last). */
  readonly remote: readonly string[];
  /** Cache file names, in deletion order. */
  readonly local: readonly string[];
}

export interface RetentionPlan {
  readonly mode: RetentionRequest['mode'];
  /** Chains ending before this are removed (remove-all-*: the n-th newest full's time, 0 if fewer chains). */
  readonly removeTime: number;
  /** The old backup chains that go (or whose incrementals go), oldest first, as duplicity lists them. */
  readonly chains: readonly { readonly startTime: number; readonly endTime: number }[];
  /** Times of sets older than removeTime kept because newer sets depend on them. */
  readonly requiredSetTimes: readonly number[];
  /** The active chain ends before removeTime (it is kept anyway). */
  readonly activeChainOlder: boolean;
  /** Deletion steps in duplicity's order (signature chains first, newest first; empty when nothing is old). */
  readonly steps: readonly RetentionStep[];
  /** Remote objects to delete, in order. */
  readonly remote: readonly RemoteObjectInfo[];
  /** Signature files of the active chain that duplicity 0.8.22 would delete and permafrost (as 3.x) keeps. */
  readonly keptSignatures: readonly string[];
}

interface SigChain {
  readonly location: 'remote' | 'local';
  readonly fullName: string;
  readonly startTime: number;
  endTime: number;
  readonly incs: string[];
}

/** Decides what a retention verb deletes; pure. `localNames`: the cache directory's file names. */
export function planRetention(
  collection: Collection,
  localNames: readonly string[],
  prefixes: NamePrefixes,
  request: RetentionRequest,
): RetentionPlan {
  const incOnly = request.mode === 'remove-all-inc-of-but-n-full';
  const backupChains = collection.chains;
  const removeTime = request.mode === 'remove-older-than' ? request.time : nthLastFullTime(backupChains, request.count);

  const remoteInfo = new Map<string, RemoteObjectInfo>();
  const remoteSigNames: string[] = [];
  // duplicity chains every signature file, also those permafrost's collection sets aside as orphaned
  for (const f of [...collection.signatureChains.flatMap((c) => [c.full, ...c.incs]), ...collection.orphanedSignatures]) {
    remoteSigNames.push(f.info.name);
    remoteInfo.set(f.info.name, f.info);
  }
  remoteSigNames.sort();
  // dup_collections.set_values: local chains, then remote ones, sorted by end time (remote first on ties)
  const sigChains = [...signatureChains(localNames, 'local', prefixes), ...signatureChains(remoteSigNames, 'remote', prefixes)];
  sigChains.sort((a, b) => a.endTime - b.endTime || (a.location === b.location ? 0 : a.location === 'remote' ? -1 : 1));
  const matched = matchedPair(backupChains, sigChains);

  const requiredSetTimes = backupChains
    .filter((c) => c.endTime >= removeTime)
    .flatMap((c) => [c.full, ...c.incs].map(setTime).filter((t) => t < removeTime))
    .sort((a, b) => a - b);
  // duplicity protects only a chain with matching signatures, and with none would delete even the
  // newest chain; permafrost always keeps the newest chain, so a retention run never empties a target
  const active = matched?.chain ?? backupChains[backupChains.length - 1] ?? null;
  const activeChainOlder = active !== null && active.endTime < removeTime;

  let oldChains = backupChains.filter((c) => c.endTime < removeTime && c !== active);
  if (incOnly) oldChains = oldChains.filter((c) => c.incs.length > 0);
  const oldSigChains = sigChains.filter((c) => c.endTime < removeTime && c !== matched?.sig);
  const activeFull = active?.startTime;
  const keptSignatures =
    oldChains.length === 0
      ? []
      : oldSigChains
          .filter((c) => c.startTime === activeFull)
          .flatMap((c) => (incOnly ? c.incs : [c.fullName, ...c.incs]).map((n) => (c.location === 'local' ? `${n} (cache)` : n)));

  const steps: RetentionStep[] = [];
  if (oldChains.length > 0) {
    const deletedLocal = new Set<string>();
    // a set's cache files and its cache signature chain overlap: each file is deleted once
    const localOnce = (names: string[]) =>
      names.filter((n) => {
        if (deletedLocal.has(n)) return false;
        deletedLocal.add(n);
        return true;
      });
    const ordered: (BackupChain | SigChain)[] = [...oldChains, ...oldSigChains.filter((c) => c.startTime !== activeFull)].reverse();
    for (const chain of ordered) {
      if ('full' in chain) {
        const sets = [...chain.incs].reverse();
        if (!incOnly) sets.push(chain.full);
        const remote: string[] = [];
        const local: string[] = [];
        for (const set of sets) {
          remote.push(...setRemoteNames(set));
          local.push(...localOnce(localNamesOfSet(set, localNames, prefixes)));
        }
        for (const set of sets) for (const info of setInfos(set)) remoteInfo.set(info.name, info);
        const message = incOnly
          ? `Deleting any incremental backup chain rooted at ${prettyTime(chain.endTime)}`
          : `Deleting complete backup chain ${prettyTime(chain.endTime)}`;
        steps.push({ kind: 'backup-chain', location: 'remote', endTime: chain.endTime, message, remote, local });
      } else {
        const names = [...chain.incs].reverse();
        if (!incOnly) names.push(chain.fullName);
        const message = incOnly
          ? `Deleting any incremental signature chain rooted at ${prettyTime(chain.endTime)}`
          : `Deleting complete signature chain ${prettyTime(chain.endTime)}`;
        if (chain.location === 'remote')
          steps.push({ kind: 'signature-chain', location: 'remote', endTime: chain.endTime, message, remote: names, local: [] });
        else
          steps.push({ kind: 'signature-chain', location: 'local', endTime: chain.endTime, message, remote: [], local: localOnce(names) });
      }
    }
  }
  const remote = steps.flatMap((s) => s.remote.map((n) => remoteInfo.get(n) ?? { name: n, size: 0 }));
  return {
    mode: request.mode,
    removeTime,
    chains: oldChains.map((c) => ({ startTime: c.startTime, endTime: c.endTime })),
    requiredSetTimes,
    activeChainOlder,
    steps,
    remote,
    keptSignatures,
  };
}

/** get_nth_last_full_backup_time: the full time of the n-th newest chain (by full time), 0 with fewer chains. */
function nthLastFullTime(chains: readonly BackupChain[], n: number): number {
  if (chains.length < n) return 0;
  const byFull = [...chains].sort((a, b) => b.startTime - a.startTime);
  return byFull[n - 1]!.startTime;
}

/**
 * set_matched_chain_pair: the latest backup chain is active when a signature chain (the last
 * one in sorted order that fits) ends with it, or with its set before last.
 */
function matchedPair(chains: readonly BackupChain[], sigChains: readonly SigChain[]): { chain: BackupChain; sig: SigChain } | null {
  const latest = chains[chains.length - 1];
  if (!latest) return null;
  const sets = [latest.full, ...latest.incs];
  for (let i = sigChains.length - 1; i >= 0; i--) {
    const sig = sigChains[i]!;
    if (sig.endTime === latest.endTime || (sets.length >= 2 && sig.endTime === sets[sets.length - 2]!.endTime))
      return { chain: latest, sig };
  }
  return null;
}

/** get_signature_chains: one chain per full signature file, new signatures appended by start time. */
function signatureChains(names: readonly string[], location: SigChain['location'], prefixes: NamePrefixes): SigChain[] {
  const chains: SigChain[] = [];
  const news: { name: string; start: number; end: number }[] = [];
  for (const name of names) {
    const p = parseRemoteName(name, prefixes);
    if (!p) continue;
    if (p.kind === 'full-sig') chains.push({ location, fullName: name, startTime: p.time!, endTime: p.time!, incs: [] });
    else if (p.kind === 'new-sig') news.push({ name, start: p.startTime!, end: p.endTime! });
  }
  news.sort((a, b) => a.start - b.start);
  for (const s of news) {
    const chain = chains.find((c) => c.endTime === s.start);
    if (chain) {
      chain.incs.push(s.name);
      chain.endTime = s.end;
    }
  }
  return chains;
}

function setTime(s: BackupSet): number {
  return s.type === 'full' ? s.startTime : s.endTime;
}

function setInfos(s: BackupSet): RemoteObjectInfo[] {
  return [...(s.manifest ? [s.manifest] : []), ...s.volumes.values()];
}

/** BackupSet.delete: the manifest, then the volumes from the last one down. */
function setRemoteNames(s: BackupSet): string[] {
  const volumes = [...s.volumes.entries()].sort((a, b) => b[0] - a[0]).map(([, v]) => v.name);
  return [...(s.manifest ? [s.manifest.name] : []), ...volumes];
}

/** BackupSet.delete's local part: every cache file with the set's times (its manifest and signatures). */
function localNamesOfSet(s: BackupSet, localNames: readonly string[], prefixes: NamePrefixes): string[] {
  return localNames.filter((n) => {
    const p = parseRemoteName(n, prefixes);
    if (!p) return false;
    if (s.type === 'full') return (p.kind === 'full' || p.kind === 'full-sig') && p.time === s.startTime;
    return (p.kind === 'inc' || p.kind === 'new-sig') && p.startTime === s.startTime && p.endTime === s.endTime;
  });
}

// ---------------------------------------------------------------------------------------------
// Minimum storage durations

export interface EarlyDeletionObject {
  readonly name: string;
  readonly storageClass: string;
  readonly size: number;
  readonly ageDays: number;
  readonly remainingDays: number;
  /** USD */
  readonly charge: number;
  /** When deleting it costs nothing more, epoch seconds. */
  readonly freeAt: number;
}

export interface EarlyDeletion {
  readonly objects: readonly EarlyDeletionObject[];
  /** USD, at the list prices below */
  readonly total: number;
  readonly pricesAsOf: string;
  readonly region: string;
}

/**
 * The objects of a deletion still inside their class's minimum storage duration, with what
 * deleting them now is billed. An object whose write time is unknown counts as written now.
 */
export function earlyDeletion(objects: readonly RemoteObjectInfo[], now: number, pricing: PricingTable = builtinPricing()): EarlyDeletion {
  const out: EarlyDeletionObject[] = [];
  let total = 0;
  for (const o of objects) {
    const minDays = minimumDays(pricing, o.storageClass);
    if (minDays === undefined) continue;
    const written = o.lastModified ?? now;
    const { remainingDays, charge } = earlyDeletionCharge(pricing, o.storageClass, o.size, now - written);
    if (remainingDays <= 0) continue;
    total += charge;
    out.push({
      name: o.name,
      storageClass: o.storageClass!,
      size: o.size,
      ageDays: Math.max(0, now - written) / 86400,
      remainingDays,
      charge,
      freeAt: written + minDays * 86400,
    });
  }
  return { objects: out, total, pricesAsOf: pricing.asOf, region: pricing.region };
}

// ---------------------------------------------------------------------------------------------
// The operation

export interface RetentionOptions {
  /** Delete (without it: list only). */
  readonly force: boolean;
  /** With force: also delete objects inside their minimum storage duration. */
  readonly allowEarlyDeletion: boolean;
  /** Say what would be deleted, delete nothing (duplicity's --dry-run). */
  readonly dryRun: boolean;
  /** Prices of the early-deletion charge (default: the built-in table). */
  readonly pricing?: PricingTable;
}

export interface RetentionResult {
  readonly plan: RetentionPlan;
  readonly earlyDeletion: EarlyDeletion;
  readonly deleted: boolean;
}

/** Runs a retention verb: plans, reports as duplicity does, and deletes with `force`. */
export async function retention(ctx: TargetContext, request: RetentionRequest, options: RetentionOptions): Promise<RetentionResult> {
  const deleting = options.force && !options.dryRun;
  const locks = deleting ? await takeWriterLocks(ctx, `${request.mode} --force`) : null;
  try {
    const collection = buildCollection(await ctx.backend.list(), ctx.prefixes);
    const plan = planRetention(collection, await cacheNames(ctx.cache.dir), ctx.prefixes, request);
    const pricing = options.pricing ?? builtinPricing();
    const early = earlyDeletion(plan.remote, ctx.now(), pricing);
    const r = ctx.reporter;
    if (plan.requiredSetTimes.length > 0) {
      r.warning(
        `There are backup set(s) at time(s):\n${plan.requiredSetTimes.map(prettyTime).join('\n')}\nWhich can't be deleted because newer sets depend on them.`,
      );
    }
    if (plan.activeChainOlder) {
      r.warning(
        'Current active backup chain is older than specified time.  However, it will not be deleted.  To remove all your backups, manually purge the repository.',
      );
    }
    if (plan.chains.length === 0) {
      r.notice('No old backup sets found, nothing deleted.');
      return { plan, earlyDeletion: early, deleted: false };
    }
    const times = plan.chains.map((c) => prettyTime(c.endTime)).join('\n');
    const many = plan.chains.length !== 1;
    if (early.objects.length > 0) r.notice(earlyDeletionNotice(early, pricing));
    for (const o of early.objects)
      r.info(
        `  ${o.name}: ${o.storageClass}, ${o.size} bytes, ${o.ageDays.toFixed(1)} days old, ${o.remainingDays.toFixed(1)} days to go, $${o.charge.toFixed(6)}`,
      );
    if (plan.keptSignatures.length > 0)
      r.info(`Keeping the active chain's signatures (duplicity 0.8.22 would delete them): ${plan.keptSignatures.join(', ')}`);
    if (!options.force) {
      r.notice(
        `${many ? 'Found old backup chains at the following times:' : 'Found old backup chain at the following time:'}\n${times}\nRerun command with --force option to actually delete.`,
      );
      for (const s of plan.steps) for (const n of [...s.remote, ...s.local.map((l) => `${l} (cache)`)]) r.info(`Would delete ${n}`);
      return { plan, earlyDeletion: early, deleted: false };
    }
    if (early.objects.length > 0 && !options.allowEarlyDeletion) {
      const until = new Date(Math.max(...early.objects.map((o) => o.freeAt)) * 1000).toISOString().slice(0, 10);
      throw new PermafrostError(
        ExitCode.usage,
        `refusing to delete ${early.objects.length} object${early.objects.length === 1 ? '' : 's'} before the minimum storage duration of ${classesOf(early, pricing)} (early-deletion charge about ${usd(early.total)}): add --allow-early-deletion to delete anyway, or run again after ${until}`,
      );
    }
    r.notice(`${many ? 'Deleting backup chains at times:' : 'Deleting backup chain at time:'}\n${times}`);
    for (const step of plan.steps) {
      r.notice(step.message);
      if (!deleting) continue;
      for (const n of step.remote) r.info(`Deleting ${n}`);
      await ctx.backend.delete(step.remote);
      for (const n of step.local) {
        r.info(`Deleting ${path.join(ctx.cache.dir, n)}`);
        await fsp.rm(path.join(ctx.cache.dir, n), { force: true });
      }
    }
    return { plan, earlyDeletion: early, deleted: deleting };
  } finally {
    await locks?.release();
  }
}

async function cacheNames(dir: string): Promise<string[]> {
  try {
    return (await fsp.readdir(dir)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

function classesOf(e: EarlyDeletion, pricing: PricingTable): string {
  const classes = [...new Set(e.objects.map((o) => o.storageClass))];
  return classes.map((c) => `${c} (${minimumDays(pricing, c)} days)`).join(', ');
}

function usd(x: number): string {
  return x >= 0.01 ? `$${x.toFixed(2)}` : `$${x.toPrecision(2)}`;
}

function earlyDeletionNotice(e: EarlyDeletion, pricing: PricingTable): string {
  const bytes = e.objects.reduce((n, o) => n + o.size, 0);
  return (
    `${e.objects.length} object${e.objects.length === 1 ? '' : 's'} (${bytes} bytes) to delete ${e.objects.length === 1 ? 'is' : 'are'} younger than the minimum storage duration of ${classesOf(e, pricing)}: ` +
    `deleting now is billed about ${usd(e.total)} for the remaining days (${e.region} list prices of ${e.pricesAsOf}), as much as keeping ${e.objects.length === 1 ? 'it' : 'them'} until then.`
  );
}
