import { parseManifest, type Manifest } from '../codec/manifest.ts';
import { ManifestHeadReader } from '../codec/manifest-head.ts';
import { compareIndex } from '../core/path-index.ts';
import type { BackupSet } from '../archive/collection.ts';
import { readAll } from '../archive/metadata-cache.ts';
import type { TargetContext } from './context.ts';
import { ExitCode, PermafrostError } from '../core/errors.ts';
import { remoteDecoder } from './remote-decoder.ts';

/**
 * Reads a set's manifest (cached, else from the target) and parses it; with `fileList: false`,
 * without its file list (`files` is then absent). A cached copy that does not parse, or fails the
 * checks against the listing, is replaced with the target's (a warning names it); errors then
 * concern the target's copy.
 */
export async function loadManifest(ctx: TargetContext, set: BackupSet, opts: { fileList?: boolean } = {}): Promise<Manifest> {
  const name = set.manifest!.name;
  let problem: string | null = null;
  try {
    const manifest = opts.fileList === false ? await cachedHead(ctx, set) : await cachedWhole(ctx, set, opts);
    if (manifest !== null) return manifest;
  } catch (err) {
    if (!(err instanceof PermafrostError)) throw err;
    problem = err.message;
  }
  const { manifest, plain } = await readRemoteManifest(ctx, set, opts);
  await ctx.cache.storeManifest(name, plain);
  // e.g. "Cached manifest /root/.cache/duplicity/x/duplicity-full.….manifest lists no volume: …"
  if (problem !== null) ctx.reporter.warning(`Cached ${problem}: replaced with the target's copy`);
  return manifest;
}

async function cachedWhole(ctx: TargetContext, set: BackupSet, opts: { fileList?: boolean }): Promise<Manifest | null> {
  const name = set.manifest!.name;
  const cached = await ctx.cache.cachedManifest(name);
  return cached === null ? null : parseSetManifest(() => parseManifest(cached, opts), set, ctx.cache.manifestPath(name));
}

/** The cached manifest without its file list, read in chunks (a million files' manifest is 40 MB). */
async function cachedHead(ctx: TargetContext, set: BackupSet): Promise<Manifest | null> {
  const name = set.manifest!.name;
  const reader = new ManifestHeadReader();
  let failed: unknown = null;
  const cached = await ctx.cache.readCachedManifest(name, (chunk) => {
    if (failed !== null) return;
    try {
      reader.push(chunk);
    } catch (err) {
      failed = err;
    }
  });
  if (!cached) return null;
  return parseSetManifest(
    () => {
      if (failed !== null) throw failed;
      return reader.end();
    },
    set,
    ctx.cache.manifestPath(name),
  );
}

/**
 * Reads a set's manifest from the target itself, not the cache (which it leaves alone), and
 * parses it: what `verify` uses to prove the remote copy is readable. Returns the plain bytes too.
 */
export async function readRemoteManifest(
  ctx: TargetContext,
  set: BackupSet,
  opts: { fileList?: boolean } = {},
): Promise<{ manifest: Manifest; plain: Buffer }> {
  const name = set.manifest!.name;
  const plain = await remoteDecoder(ctx.prefixes, ctx.encryption)(name, await readAll(await ctx.backend.get(name)));
  return { manifest: parseSetManifest(() => parseManifest(plain, opts), set, name), plain };
}

/**
 * Replaces a cached manifest that differs from `plain`, the target's copy just read, with a
 * warning naming it; a manifest that is not cached stays so. True when it was replaced.
 */
export async function refreshCachedManifest(ctx: TargetContext, name: string, plain: Buffer): Promise<boolean> {
  const cached = await ctx.cache.cachedManifest(name);
  if (cached === null || cached.equals(plain)) return false;
  await ctx.cache.storeManifest(name, plain);
  ctx.reporter.warning(`Cached manifest ${ctx.cache.manifestPath(name)} differs from the target's: replaced with the target's copy`);
  return true;
}

/**
 * For a SetReader reading `set` with the volume list of `used` (usually the cached manifest): a
 * volume whose SHA1 differs from it is not blamed before the target's manifest is read. When the
 * target's differs from the cache, the cache is replaced, and the volume is good if its SHA1 is
 * the one the target's manifest gives. Volumes were chosen by `used`, so when the target's
 * manifest lists other volumes the run cannot go on: it stops (exit 52), the cache mended.
 */
export function volumeHashRecheck(
  ctx: TargetContext,
  set: BackupSet,
  used: Manifest,
): (volume: number, actual: string) => Promise<boolean> {
  const name = set.manifest!.name;
  let target: Promise<Manifest | null> | null = null;
  return async (volume, actual) => {
    target ??= (async () => {
      let read: Awaited<ReturnType<typeof readRemoteManifest>>;
      try {
        read = await readRemoteManifest(ctx, set);
      } catch (err) {
        // a target manifest that does not parse cannot clear the volume: the cached one stands
        if (err instanceof PermafrostError) return null;
        throw err;
      }
      await refreshCachedManifest(ctx, name, read.plain);
      return read.manifest;
    })();
    const manifest = await target;
    if (manifest === null) return false;
    const sha1 = manifest.volumes
      .find((v) => v.volume === volume)
      ?.hashes.get('SHA1')
      ?.toLowerCase();
    if (sha1 !== actual) return false;
    if (!sameVolumes(manifest, used)) {
      throw new PermafrostError(
        ExitCode.localIo,
        `the cached manifest ${ctx.cache.manifestPath(name)} listed other volumes than the target's and was replaced with the target's copy: run again`,
      );
    }
    return true;
  };
}

function sameVolumes(a: Manifest, b: Manifest): boolean {
  if (a.volumes.length !== b.volumes.length) return false;
  return a.volumes.every((v, i) => {
    const w = b.volumes[i]!;
    return (
      v.volume === w.volume &&
      compareIndex(v.startIndex, w.startIndex) === 0 &&
      compareIndex(v.endIndex, w.endIndex) === 0 &&
      v.startBlock === w.startBlock &&
      v.endBlock === w.endBlock
    );
  });
}

/** `name` says which copy `parse` reads, in errors: the remote name, or the cached file's path. */
function parseSetManifest(parse: () => Manifest, set: BackupSet, name: string): Manifest {
  let manifest: Manifest;
  try {
    manifest = parse();
  } catch (err) {
    // by context: the manifest parser throws plain Errors, which mean a damaged manifest only here
    throw new PermafrostError(ExitCode.corruptArchive, `manifest ${name} does not parse: ${(err as Error).message}`, { cause: err });
  }
  checkManifest(manifest, set, name);
  return manifest;
}

/**
 * What the parser lets through (it accepts what duplicity accepts) but a restore must not trust:
 * a manifest cut short at a volume boundary still parses, and would restore files short.
 */
function checkManifest(manifest: Manifest, set: BackupSet, name: string): void {
  const corrupt = (why: string) => new PermafrostError(ExitCode.corruptArchive, `manifest ${name} ${why}`);
  if (manifest.volumes.length === 0) throw corrupt('lists no volume');
  let highest = 0;
  for (const v of manifest.volumes) {
    const sha1 = v.hashes.get('SHA1');
    if (sha1 === undefined) throw corrupt(`gives no SHA1 for volume ${v.volume}`);
    if (!/^[0-9a-fA-F]{40}$/.test(sha1)) throw corrupt(`volume ${v.volume} has a SHA1 that is not 40 hex digits`);
    highest = Math.max(highest, v.volume);
  }
  const beyond = [...set.volumes.keys()].filter((n) => n > highest);
  if (beyond.length > 0)
    throw corrupt(
      `lists volumes up to ${highest}, but the target holds volume ${Math.min(...beyond)} of that set: the manifest is cut short`,
    );
}
