import type { EntryMeta } from '../../core/entry.ts';
import { chainAtTime } from '../../archive/collection.ts';
import { combineSignatures, type SignatureEntry } from '../../archive/signature-reader.ts';
import type { TargetContext } from '../context.ts';
import { ExitCode, PermafrostError } from '../../core/errors.ts';
import { remoteDecoder } from '../remote-decoder.ts';
import { syncedCollection } from '../sync-cache.ts';
import { refuseTimeBeforeFirstBackup } from '../before-first-backup.ts';

/**
 * The paths present at a time, from the signature chain alone (duplicity's list-current-files):
 * no volume is read, so this works on archived (Glacier) data too.
 */
export async function* listCurrentFiles(ctx: TargetContext, time?: number): AsyncGenerator<EntryMeta> {
  const collection = await syncedCollection(ctx);
  // No --time means the latest backup, not "now": a rescue system's clock may be behind the backups'.
  const t = time ?? Number.POSITIVE_INFINITY;
  const chain = chainAtTime(collection, t);
  if (!chain) throw new PermafrostError(ExitCode.noChain, `no backup chain found at ${ctx.backend.displayUrl}`);
  if (time !== undefined) refuseTimeBeforeFirstBackup(collection, chain, time);
  const sigChain = collection.signatureChains.find((s) => s.full.startTime === chain.startTime);
  if (!sigChain)
    throw new PermafrostError(
      ExitCode.noSignatures,
      `the chain starting ${new Date(chain.startTime * 1000).toISOString()} has no signature files`,
    );
  const files = [sigChain.full, ...sigChain.incs.filter((s) => s.endTime <= t)];
  const decode = remoteDecoder(ctx.prefixes, ctx.encryption);
  const streams: AsyncIterable<SignatureEntry>[] = [];
  for (const f of files) {
    streams.push(await ctx.cache.signatureEntries(f.info.name, ctx.backend, decode, (m) => ctx.reporter.warning(m)));
  }
  for await (const e of combineSignatures(streams)) if (e.meta) yield e.meta;
}
