/**
 * Backup chains across tools: run a full and incrementals (each step by any BackupTool) over one
 * source that is mutated between steps, keep a `cp -a` snapshot of the source at every point, and
 * restore any point with any tool to compare it with its snapshot.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileUrl } from './cli.ts';
import type { BackupOptions, BackupTool, RestoreOptions } from './cli.ts';
import { assertSameTree, DUPLICITY_FORMAT_LIMITS, EXACT, MIXED_CHAIN_LIMITS } from './compare.ts';
import type { CompareOptions } from './compare.ts';
import { removeTree } from './tmp.ts';
import { buildTree, hostileTreeSpec, mutateTree } from './tree.ts';
import type { HostileOptions } from './tree.ts';

/** --current-time of the first backup of a chain; step k runs at BACKUP_TIME0 + k hours. */
export const BACKUP_TIME0 = 1_800_000_000; // 2027-01-15T08:00:00Z
/** mtime given by the mutations before step k: MUTATION_MTIME0 + k * 1000 (before any backup time). */
export const MUTATION_MTIME0 = 1_700_000_000;

export interface Chain {
  /** Working directory: source, remote, caches, snapshots and restores live here. */
  readonly work: string;
  /** The source path as given to every backup (duplicity records it as Localdir). */
  readonly source: string;
  readonly remote: string;
  readonly url: string;
  readonly name: string;
  readonly seed: number;
  readonly compression: boolean;
  readonly volsize: number;
  /**
   * 'per-tool': each tool keeps its own archive dir, so each must find the other's sets and
   * signatures on the remote. 'shared': all tools use one archive dir, as a user switching tools
   * in place would.
   */
  readonly cache: 'per-tool' | 'shared';
  readonly points: ChainPoint[];
}

export interface ChainPoint {
  readonly step: number;
  readonly kind: 'full' | 'incremental';
  readonly writer: string;
  /** The backup's --current-time; restoring with --time this gives this point. */
  readonly time: number;
  /** A cp -a copy of the source as it was backed up. */
  readonly snapshot: string;
  /** The mutations made just before this step. */
  readonly mutations: readonly string[];
}

export interface ChainOptions {
  readonly seed: number;
  readonly compression: boolean;
  readonly volsize?: number;
  readonly cache?: 'per-tool' | 'shared';
  readonly tree?: HostileOptions;
}

/** A chain in `work` (an empty directory) with a freshly built hostile source and no backups yet. */
export function newChain(work: string, opts: ChainOptions): Chain {
  const source = join(work, 'source');
  buildTree(source, hostileTreeSpec(opts.seed, opts.tree));
  const remote = join(work, 'remote');
  return {
    work,
    source,
    remote,
    url: fileUrl(remote),
    name: 'chain',
    seed: opts.seed,
    compression: opts.compression,
    volsize: opts.volsize ?? 1,
    cache: opts.cache ?? 'per-tool',
    points: [],
  };
}

/** The archive dir a writer uses in this chain. */
export function writerCache(chain: Chain, tool: BackupTool): string {
  return join(chain.work, chain.cache === 'shared' ? 'cache-shared' : `cache-${slug(tool.label)}`);
}

/**
 * The next backup of the chain by `tool`: mutates the source first (except before the first
 * backup), backs up at BACKUP_TIME0 + step hours, then snapshots the source.
 */
export async function backupStep(
  chain: Chain,
  tool: BackupTool,
  kind: 'full' | 'incremental',
  extra: Partial<BackupOptions> = {},
): Promise<ChainPoint> {
  const step = chain.points.length;
  const mutations = step === 0 ? [] : mutateTree(chain.source, chain.seed, step, MUTATION_MTIME0 + step * 1000);
  const time = BACKUP_TIME0 + step * 3600;
  const opts = {
    archiveDir: writerCache(chain, tool),
    name: chain.name,
    compression: chain.compression,
    volsize: chain.volsize,
    currentTime: time,
    ...extra,
  };
  if (kind === 'full') await tool.full(chain.source, chain.url, opts);
  else await tool.incremental(chain.source, chain.url, opts);
  const snapshot = join(chain.work, `snapshot-${step}`);
  execFileSync('cp', ['-a', '--', chain.source, snapshot]);
  const point: ChainPoint = { step, kind, writer: tool.label, time, snapshot, mutations };
  chain.points.push(point);
  return point;
}

/**
 * Restores `point` with `tool` (into a fresh directory, with a fresh archive dir, so only the
 * remote counts) and asserts it equals the point's snapshot, up to duplicity's format limits.
 * `fileToRestore` restores one path and compares it with that path of the snapshot.
 */
export async function restoreAndCompare(
  chain: Chain,
  tool: BackupTool,
  point: ChainPoint,
  opts: { readonly fileToRestore?: string; readonly compare?: CompareOptions; readonly restore?: Partial<RestoreOptions> } = {},
): Promise<void> {
  const id = `${slug(tool.label)}-p${point.step}-${restoreCounter++}`;
  const dest = join(chain.work, `restore-${id}`);
  const archiveDir = join(chain.work, `cache-restore-${id}`);
  await tool.restore(chain.url, dest, {
    archiveDir,
    name: chain.name,
    compression: chain.compression,
    time: point.time,
    ...(opts.fileToRestore !== undefined ? { fileToRestore: opts.fileToRestore } : {}),
    ...opts.restore,
  });
  const expected = opts.fileToRestore === undefined ? point.snapshot : join(point.snapshot, opts.fileToRestore);
  const what =
    `${tool.label} restoring step ${point.step} (${point.kind} by ${point.writer}, --time ${point.time}` +
    `${opts.fileToRestore !== undefined ? `, path ${opts.fileToRestore}` : ''}, ${chain.compression ? 'gzip' : 'plain'})` +
    (point.mutations.length ? `\nmutations before this step:\n    ${point.mutations.join('\n    ')}\n` : '');
  assertSameTree(expected, dest, opts.compare ?? defaultLimits(chain, tool, point), what);
  removeTree(dest);
  removeTree(archiveDir);
}
let restoreCounter = 0;

/**
 * What a restore can promise: duplicity never keeps mtimes before 1970; permafrost keeps them, so a
 * chain it wrote alone restores exactly, and a mixed chain may hold either.
 */
function defaultLimits(chain: Chain, tool: BackupTool, point: ChainPoint): CompareOptions {
  if (!tool.label.startsWith('permafrost')) return DUPLICITY_FORMAT_LIMITS;
  const writers = chain.points.filter((p) => p.step <= point.step).map((p) => p.writer);
  return writers.every((w) => w.startsWith('permafrost')) ? EXACT : MIXED_CHAIN_LIMITS;
}

/** Names of the remote's files, sorted. */
export function remoteFiles(chain: Chain): string[] {
  return existsSync(chain.remote) ? readdirSync(chain.remote).sort() : [];
}

function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9]+/g, '-');
}
