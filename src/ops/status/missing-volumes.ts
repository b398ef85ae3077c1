import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { BackupSet } from '../../archive/collection.ts';
import { localManifestName, readAll } from '../../archive/metadata-cache.ts';
import { parseManifest } from '../../codec/manifest.ts';
import type { TargetContext } from '../context.ts';
import { remoteDecoder } from '../remote-decoder.ts';

/** The volumes a set lacks at the target, and what told which ones it should have. */
export interface MissingVolumes {
  /** volume numbers, ascending; empty when the set is whole */
  readonly missing: number[];
  /**
   * `manifest`: the volumes its manifest lists; `listing`: only the gaps in the numbers the target
   * lists (a missing last volume goes unseen), when the manifest could not be read cheaply
   */
  readonly by: 'manifest' | 'listing';
}

/**
 * Which volumes of `set` are missing, cheaply: the manifest from the local cache, else from the
 * target when it is not encrypted (one small read, never a passphrase prompt, never cached here);
 * failing that, the gaps in the volume numbers of the listing.
 */
export async function missingVolumes(ctx: TargetContext, set: BackupSet): Promise<MissingVolumes> {
  const listed = await manifestVolumes(ctx, set).catch(() => null);
  // a set has at least volume 1
  const expected = listed ?? upTo(Math.max(1, ...set.volumes.keys()));
  return { missing: expected.filter((n) => !set.volumes.has(n)).sort((a, b) => a - b), by: listed ? 'manifest' : 'listing' };
}

async function manifestVolumes(ctx: TargetContext, set: BackupSet): Promise<number[] | null> {
  if (!set.manifest) return null;
  const name = set.manifest.name;
  let plain: Buffer;
  try {
    plain = await fsp.readFile(path.join(ctx.cache.dir, localManifestName(name)));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || name.endsWith('.gpg')) return null;
    plain = await remoteDecoder(ctx.prefixes, null)(name, await readAll(await ctx.backend.get(name)));
  }
  return parseManifest(plain, { fileList: false }).volumes.map((v) => v.volume);
}

function upTo(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}
