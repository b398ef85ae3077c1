import { createHash } from 'node:crypto';
import { BackendError, hasUploadRecords, type RemoteObjectInfo } from '../../backend/backend.ts';
import { allSets, buildCollection, type BackupSet, type Collection } from '../../archive/collection.ts';
import { volumesContaining, type StoredRecord } from '../../codec/manifest.ts';
import { OpenPgpError } from '../../codec/openpgp/errors.ts';
import { parseRemoteName } from '../../codec/remote-name.ts';
import { timeToString } from '../../codec/time-string.ts';
import type { PathIndex } from '../../core/path-index.ts';
import type { TargetContext } from '../context.ts';
import { ExitCode, PermafrostError } from '../../core/errors.ts';
import { selectSets } from '../restore/restore.ts';
import { ProgressTicker } from '../progress-ticker.ts';
import { readRemoteManifest, refreshCachedManifest } from '../set-manifest.ts';

export interface TargetVerifyRequest {
  /** Only the sets a restore at this time reads; without it, every set of every chain. */
  readonly time?: number;
  /** Only the volumes that can hold this path (the manifests' start and end paths). */
  readonly fileToRestore?: PathIndex;
}

export type TargetProblemKind = 'missing' | 'size' | 'checksum' | 'manifest';

export interface TargetProblem {
  readonly kind: TargetProblemKind;
  /** The object concerned; for a volume missing from the listing, the manifest that lists it. */
  readonly name: string;
  /** For a volume missing from the listing: its number in that manifest. */
  readonly volume?: number;
  /** One line for humans, naming the object. */
  readonly message: string;
}

export interface ExtraObject {
  readonly name: string;
  readonly why: string;
}

export interface TargetVerifyResult {
  readonly sets: number;
  readonly volumes: number;
  /** How each checked object was verified. */
  readonly checked: {
    /** read whole and hashed against its manifest's SHA1 (file:// targets) */
    readonly sha1: number;
    /** size and the store's CRC-32C (HEAD) against what was recorded at upload (object stores) */
    readonly crc32c: number;
    /** size against the upload record; the store keeps no checksum */
    readonly size: number;
    /** present in the listing; no upload record to compare with (duplicity wrote it, or permafrost before records went into manifests and the cache was lost) */
    readonly presence: number;
    /** manifests without an upload record in the cache: read whole from the target and parsed (decrypted, when encrypted) */
    readonly read: number;
  };
  /** Where the records compared by size and CRC-32C came from: the manifests (durable) or the cache's upload log. */
  readonly recordsFrom: { readonly manifest: number; readonly uploadLog: number };
  readonly problems: TargetProblem[];
  /** Volumes no manifest references (leftovers of interrupted runs): listed, not failed. */
  readonly extra: ExtraObject[];
  /** The problems' messages: non-empty means exit 1, as with `--compare-data` differences. */
  readonly differences: string[];
}

/** A volume or metadata file to check, with what it is expected to be. */
interface Check {
  readonly info: RemoteObjectInfo;
  /** the manifest's SHA1 (volumes only) */
  readonly sha1?: string;
  /** object stores: what was stored at upload, and where that record was kept */
  readonly record?: { readonly stored: StoredRecord; readonly from: 'manifest' | 'uploadLog' };
  /** a manifest with no record: it was just read whole and parsed, which checks more than a HEAD */
  readonly alreadyRead?: boolean;
}

type Outcome = { problem: TargetProblem } | { by: keyof TargetVerifyResult['checked'] };

const HEAD_CONCURRENCY = 16;
const READ_CONCURRENCY = 2;

/**
 * Checks the target without downloading any volume (issue 6): every volume the manifests reference
 * exists, and matches what was written. On object stores each object is looked at with HEAD (which
 * works on archived objects) and its size and stored CRC-32C compared with the upload log; on a
 * file:// target reading is cheap, so each volume is hashed and compared with its manifest's SHA1.
 * Manifests are read from the target (they are STANDARD), so they must be readable.
 */
export async function verifyTarget(ctx: TargetContext, req: TargetVerifyRequest): Promise<TargetVerifyResult> {
  const listing = await ctx.backend.list();
  const collection = buildCollection(listing, ctx.prefixes);
  const sets = req.time !== undefined ? selectSets(ctx, collection, req.time).sets : allSets(collection);
  if (sets.length === 0) throw new PermafrostError(ExitCode.noChain, `no backup chain found at ${ctx.backend.displayUrl}`);
  const within = req.fileToRestore ?? [];
  // object stores: the upload log in the cache, which the manifests' own records (durable) override
  const records = hasUploadRecords(ctx.backend) ? await ctx.backend.uploadRecords() : null;
  const recordFor = (name: string, durable: StoredRecord | undefined): Check['record'] => {
    if (durable) return { stored: durable, from: 'manifest' };
    const logged = records?.get(name);
    return logged ? { stored: logged, from: 'uploadLog' } : undefined;
  };
  const objectCheck = (info: RemoteObjectInfo, durable?: StoredRecord): Check => {
    const record = recordFor(info.name, durable);
    return record ? { info, record } : { info };
  };

  const problems: TargetProblem[] = [];
  const notInManifest = new Set<string>();
  const checks: Check[] = [];
  let volumes = 0;
  for (const set of sets) {
    const manifestName = set.manifest!.name;
    let manifest: Awaited<ReturnType<typeof readRemoteManifest>>['manifest'];
    try {
      const read = await readRemoteManifest(ctx, set);
      manifest = read.manifest;
      // the target is authoritative: a cached copy that differs is the cache's problem, mended here
      await refreshCachedManifest(ctx, manifestName, read.plain);
    } catch (err) {
      if (!isDamage(err)) throw err;
      problems.push({ kind: 'manifest', name: manifestName, message: `Unreadable manifest: ${manifestName}: ${oneLine(err)}` });
      continue;
    }
    if (records) {
      const own = objectCheck(set.manifest!);
      checks.push(own.record ? own : { ...own, alreadyRead: true });
      const signature = signatureOf(collection, set);
      if (signature) checks.push(objectCheck(signature, manifest.signatureStored));
    }
    const listed = new Set(manifest.volumes.map((v) => v.volume));
    for (const [n, info] of set.volumes) if (!listed.has(n)) notInManifest.add(info.name);
    for (const v of within.length === 0 ? manifest.volumes : volumesContaining(manifest, within)) {
      volumes++;
      const info = set.volumes.get(v.volume);
      if (!info) {
        problems.push({
          kind: 'missing',
          name: manifestName,
          volume: v.volume,
          message: `Missing: volume ${v.volume} of the ${describeSet(set)}, listed in ${manifestName}`,
        });
        continue;
      }
      const sha1 = v.hashes.get('SHA1');
      checks.push({ ...(records ? objectCheck(info, v.stored) : { info }), ...(sha1 !== undefined ? { sha1: sha1.toLowerCase() } : {}) });
    }
  }

  let objectsDone = 0;
  let bytesDone = 0;
  const bytesTotal = checks.reduce((sum, c) => sum + c.info.size, 0);
  const ticker = new ProgressTicker(ctx.reporter, () => ({
    phase: 'verify',
    filesDone: objectsDone,
    filesTotal: checks.length,
    itemLabel: 'objects',
    bytesDone,
    bytesTotal,
  }));
  const counted = (check: (c: Check) => Promise<Outcome>) => async (c: Check) => {
    const outcome = await check(c);
    objectsDone++;
    bytesDone += c.info.size;
    ticker.tick();
    return outcome;
  };
  ticker.send();
  const outcomes = records
    ? await mapLimit(
        checks,
        HEAD_CONCURRENCY,
        counted((c) => checkStored(ctx, c)),
      )
    : await mapLimit(
        checks,
        READ_CONCURRENCY,
        counted((c) => checkByReading(ctx, c)),
      );
  ticker.done();
  const checked = { sha1: 0, crc32c: 0, size: 0, presence: 0, read: 0 };
  const recordsFrom = { manifest: 0, uploadLog: 0 };
  outcomes.forEach((o, i) => {
    if ('problem' in o) problems.push(o.problem);
    else checked[o.by]++;
    const from = checks[i]!.record?.from;
    if (from) recordsFrom[from]++;
  });
  const extra = extraVolumes(listing, collection, notInManifest, ctx);

  for (const p of problems) ctx.reporter.notice(p.message);
  for (const e of extra) ctx.reporter.notice(`Extra: ${e.name} (${e.why})`);
  const how = records
    ? `${checked.crc32c} by size and CRC-32C recorded at upload (${recordsFrom.manifest} recorded in the manifests, ${recordsFrom.uploadLog} in the cache's upload log)${checked.size ? `, ${checked.size} by size only` : ''}, ${checked.read} manifest${checked.read === 1 ? '' : 's'} read whole, ${checked.presence} by presence only (no upload record)`
    : `${checked.sha1} read and hashed against their manifests`;
  const missing = problems.filter((p) => p.kind === 'missing').length;
  ctx.reporter.notice(
    `Verify complete (target checked in place, no restore): ${sets.length} set${sets.length === 1 ? '' : 's'}, ${volumes} volume${volumes === 1 ? '' : 's'}; ${checks.length} object${checks.length === 1 ? '' : 's'} checked: ${how}. ` +
      `${missing} missing, ${problems.length - missing} mismatched or unreadable, ${extra.length} extra${extra.length > 0 ? ' (not an error; `cleanup --force` deletes leftovers of interrupted runs)' : ''}.`,
  );
  return { sets: sets.length, volumes, checked, recordsFrom, problems, extra, differences: problems.map((p) => p.message) };
}

/** HEAD the object (archived objects answer too) and compare with its upload record. */
async function checkStored(ctx: TargetContext, c: Check): Promise<Outcome> {
  const name = c.info.name;
  if (c.alreadyRead) return { by: 'read' };
  const record = c.record?.stored;
  if (!record) return { by: 'presence' };
  const head = await ctx.backend.head(name, { checksum: true });
  if (!head) return { problem: { kind: 'missing', name, message: `Missing: ${name} (gone since the listing)` } };
  if (head.size !== record.size)
    return {
      problem: {
        kind: 'size',
        name,
        message: `Size mismatch: ${name}: ${head.size} bytes at the target, ${record.size} recorded at upload`,
      },
    };
  if (head.crc32c === undefined) return { by: 'size' };
  if (head.crc32c !== record.crc32c)
    return {
      problem: {
        kind: 'checksum',
        name,
        message: `Checksum mismatch: ${name}: CRC-32C ${head.crc32c} at the target, ${record.crc32c} recorded at upload`,
      },
    };
  return { by: 'crc32c' };
}

/** Reads the object whole (cheap on a local target) and compares its SHA1 with the manifest's. */
async function checkByReading(ctx: TargetContext, c: Check): Promise<Outcome> {
  const name = c.info.name;
  const hash = createHash('sha1');
  try {
    for await (const chunk of await ctx.backend.get(name)) hash.update(chunk);
  } catch (err) {
    if (err instanceof BackendError && err.code === 'not-found')
      return { problem: { kind: 'missing', name, message: `Missing: ${name} (gone since the listing)` } };
    throw err;
  }
  const actual = hash.digest('hex');
  if (c.sha1 !== undefined && actual !== c.sha1) {
    return {
      problem: { kind: 'checksum', name, message: `Checksum mismatch: ${name}: SHA1 ${actual} at the target, ${c.sha1} in the manifest` },
    };
  }
  return { by: 'sha1' };
}

/** Volumes at the target that no manifest of a chain references, with the reason, in listing order. */
function extraVolumes(
  listing: readonly RemoteObjectInfo[],
  collection: Collection,
  notInManifest: ReadonlySet<string>,
  ctx: TargetContext,
): ExtraObject[] {
  const why = new Map<string, string>();
  for (const name of notInManifest) why.set(name, "not listed in its set's manifest");
  for (const s of collection.incompleteSets)
    for (const v of s.volumes.values()) why.set(v.name, `volume of a ${describeSet(s)} without a manifest: an interrupted backup`);
  for (const s of collection.orphanedSets)
    for (const v of s.volumes.values()) why.set(v.name, `volume of an ${describeSet(s)} that extends no chain`);
  for (const o of collection.strays) {
    const parsed = parseRemoteName(o.name, ctx.prefixes);
    if (parsed && !parsed.manifest && (parsed.kind === 'full' || parsed.kind === 'inc'))
      why.set(o.name, 'a second copy of a volume under another name');
  }
  return listing.filter((o) => why.has(o.name)).map((o) => ({ name: o.name, why: why.get(o.name)! }));
}

/** The signature file that belongs to a set (same kind and times), if the target has one. */
function signatureOf(collection: Collection, set: BackupSet): RemoteObjectInfo | null {
  const type = set.type === 'full' ? 'full-sig' : 'new-sig';
  for (const chain of collection.signatureChains) {
    for (const f of [chain.full, ...chain.incs])
      if (f.type === type && f.startTime === set.startTime && f.endTime === set.endTime) return f.info;
  }
  return null;
}

function describeSet(set: BackupSet): string {
  return set.type === 'full'
    ? `full set of ${timeToString(set.endTime)}`
    : `incremental set ${timeToString(set.startTime)} to ${timeToString(set.endTime)}`;
}

/** A manifest that cannot be used: missing, archived, corrupt or tampered. Key and permission problems end the run instead. */
function isDamage(err: unknown): boolean {
  // an 'io' failure (network, after the retries) is the run's problem, not the manifest's
  if (err instanceof BackendError) return err.code === 'archived' || err.code === 'not-found';
  if (err instanceof PermafrostError) return err.exitCode === ExitCode.corruptArchive || err.exitCode === ExitCode.hashMismatch;
  if (err instanceof OpenPgpError) return err.kind !== 'no-key' && err.kind !== 'bad-key';
  return false;
}

function oneLine(err: unknown): string {
  return (err as Error).message.split('\n')[0]!;
}

/** `fn` over `items`, at most `limit` at once; results in the items' order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
