import { parseManifest, type Manifest } from '../codec/manifest.ts';
import type { BackupSet } from '../archive/collection.ts';
import { readAll } from '../archive/metadata-cache.ts';
import type { TargetContext } from './context.ts';
import { ExitCode, PermafrostError } from './errors.ts';
import { remoteDecoder } from './remote-decoder.ts';

/**
 * Reads a set's manifest (cached, else from the target) and parses it; with `fileList: false`,
 * without its file list (`files` is then absent).
 */
export async function loadManifest(ctx: TargetContext, set: BackupSet, opts: { fileList?: boolean } = {}): Promise<Manifest> {
  const name = set.manifest!.name;
  const bytes = await ctx.cache.manifest(name, ctx.backend, remoteDecoder(ctx.prefixes, ctx.encryption));
  return parseSetManifest(bytes, set, name, opts);
}

/**
 * Reads a set's manifest from the target itself, not the cache (which it leaves alone), and
 * parses it: what `verify` uses to prove the remote copy is readable. Returns the plain bytes too.
 */
export async function readRemoteManifest(ctx: TargetContext, set: BackupSet): Promise<{ manifest: Manifest; plain: Buffer }> {
  const name = set.manifest!.name;
  const plain = await remoteDecoder(ctx.prefixes, ctx.encryption)(name, await readAll(await ctx.backend.get(name)));
  return { manifest: parseSetManifest(plain, set, name), plain };
}

function parseSetManifest(bytes: Buffer, set: BackupSet, name: string, opts: { fileList?: boolean } = {}): Manifest {
  let manifest: Manifest;
  try {
    manifest = parseManifest(bytes, opts);
  } catch (err) {
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
  if (beyond.length > 0) throw corrupt(`lists volumes up to ${highest}, but the target holds volume ${Math.min(...beyond)} of that set: the manifest is cut short`);
}
