/**
 * `thaw` and `restore --thaw` of a sharded target: one plan and one price for all the shards a
 * restore reads (ops/shards/sharded-thaw.ts), the requests sent shard by shard, and with --wait a
 * restore that reads each shard through a backend waiting for its thawed volumes.
 */
import type { Output } from '../output.ts';
import { mkdtempSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { hasRestore, isArchivedClass } from '../../backend/backend.ts';
import { ExitCode, PermafrostError } from '../../core/errors.ts';
import { indexFromString } from '../../core/path-index.ts';
import type { TargetContext } from '../../ops/context.ts';
import type { Reporter } from '../../ops/reporter.ts';
import { chooseGeneration } from '../../ops/shards/generation-choice.ts';
import { prepareShardedThaw, type ShardedThaw } from '../../ops/shards/sharded-thaw.ts';
import type { ShardedTarget } from '../../ops/shards/sharded-target.ts';
import { sendThawRequests, writeBatchManifest } from '../../ops/thaw/prepare-thaw.ts';
import { countStates, ThawWaiter, type RequestTally, type ThawCounts } from '../../ops/thaw/thaw.ts';
import { thawJson } from '../../ops/thaw/thaw-json.ts';
import { shardFolder } from '../../ops/shards/layout.ts';
import { ThawingBackend } from '../../ops/thaw/thawing-backend.ts';
import type { VolumeThaw } from '../../ops/thaw/thaw.ts';
import { loadPricing } from '../../pricing/pricing-table.ts';
import type { CliOptions } from '../command-line.ts';
import { formatPlan } from './thaw-command.ts';

const MAX_POLL_SECONDS = 15 * 60;

async function prepare(target: ShardedTarget, o: CliOptions, time: number | undefined): Promise<ShardedThaw> {
  const pricing = await loadPricing(o.pricingFile);
  return prepareShardedThaw(target, {
    ...(time !== undefined ? { time } : {}),
    ...(o.fileToRestore !== undefined ? { fileToRestore: indexFromString(o.fileToRestore) } : {}),
    tier: o.tier ?? 'Standard',
    ...(o.days !== undefined ? { days: o.days } : {}),
    pricing,
  });
}

async function closeAll(t: ShardedThaw): Promise<void> {
  for (const s of t.shards) await s.ctx.backend.close();
}

function waiter(ctx: TargetContext, volumes: VolumeThaw[], t: ShardedThaw, shard: number, o: CliOptions, reporter: Reporter): ThawWaiter {
  const prepared = t.shards.find((s) => s.shard === shard)!.prepared;
  return new ThawWaiter(ctx, volumes, prepared.journal, {
    tier: prepared.tier,
    days: prepared.days,
    wait: o.wait,
    pollSeconds: o.pollInterval,
    maxPollSeconds: MAX_POLL_SECONDS,
    onProgress: (c: ThawCounts) =>
      reporter.notice(
        `Thaw, shard ${shard}: ${c.ready} of ${c.total} volumes ready${c.inProgress > 0 ? ` (${c.inProgress} being restored)` : ''}`,
      ),
  });
}

async function send(t: ShardedThaw, reporter: Reporter, json: boolean): Promise<RequestTally> {
  const tally = { sent: 0, started: 0, extended: 0, alreadyRunning: 0, fellBack: 0 };
  for (const s of t.shards) {
    const one = await sendThawRequests(s.ctx, s.prepared);
    for (const k of Object.keys(tally) as (keyof RequestTally)[]) tally[k] += one[k];
  }
  if (tally.sent > 0 && !json)
    reporter.notice(
      `Sent ${tally.sent} restore request${tally.sent === 1 ? '' : 's'} (${t.combined.tier}, copies kept ${t.combined.days} day${t.combined.days === 1 ? '' : 's'}) over ${t.shards.length} shard(s).`,
    );
  return tally;
}

/**
 * The --json document: a plain target's thaw document of the one plan (docs/schemas/thaw.schema.json),
 * each volume named after its shard's folder as cleanup names them, with the generation and the shards read.
 */
function shardedThawJson(t: ShardedThaw, tally: RequestTally | null, extra: object = {}): Record<string, unknown> {
  const volumes = t.shards.flatMap((s) =>
    (thawJson(s.prepared, null)['volumes'] as { name: string }[]).map((v) => ({
      ...v,
      name: `${shardFolder(s.shard, t.shardCount)}/${v.name}`,
    })),
  );
  return { ...thawJson(t.combined, tally, extra), volumes, generation: t.generation, shards: t.shards.map((s) => s.shard) };
}

/**
 * One S3 Batch Operations manifest for every shard: each shard writes (and journals) its rows as a
 * plain thaw does, into a file of its own, and the rows are joined into the file asked for, which
 * must not exist yet (checked first, so that nothing is journalled for a manifest never written).
 */
async function writeOneManifest(t: ShardedThaw, file: string): Promise<number> {
  if (
    await fsp.stat(file).then(
      () => true,
      () => false,
    )
  )
    throw new PermafrostError(ExitCode.localIo, `--batch-manifest ${file} exists: choose a new file name`);
  const dir = await fsp.mkdtemp(path.join(t.shards[0]!.ctx.tempRoot, 'permafrost-batch-'));
  try {
    let rows = 0;
    const parts: Buffer[] = [];
    for (const s of t.shards) {
      const part = path.join(dir, `shard-${s.shard}.csv`);
      rows += await writeBatchManifest(s.ctx, s.prepared, part);
      parts.push(await fsp.readFile(part));
    }
    try {
      await fsp.writeFile(file, Buffer.concat(parts), { flag: 'wx' });
    } catch (err) {
      throw new PermafrostError(
        ExitCode.localIo,
        `cannot write --batch-manifest ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
    return rows;
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

/** `thaw URL` of a sharded target: exit 0 when everything the restore reads is readable, 75 while restores run. */
export async function runShardedThaw(
  o: CliOptions,
  reporter: Reporter,
  out: Output,
  target: ShardedTarget,
  url: string,
  time: number | undefined,
): Promise<number> {
  const t = await prepare(target, o, time);
  try {
    if (!o.json)
      reporter.notice(
        formatPlan(t.combined, `${url} (generation ${t.generation}, ${t.shards.length} shard${t.shards.length === 1 ? '' : 's'})`),
      );
    if (!o.dryRun && o.batchManifest !== undefined) {
      const rows = await writeOneManifest(t, o.batchManifest);
      if (o.json) out.document(shardedThawJson(t, null, { batchManifest: o.batchManifest, rows }));
      else
        reporter.notice(
          `Wrote ${rows} volume${rows === 1 ? '' : 's'} of ${t.shards.length} shard(s) to the S3 Batch Operations manifest ${o.batchManifest} (no restore requests were sent).`,
        );
      return ExitCode.ok;
    }
    let tally: RequestTally | null = null;
    if (!o.dryRun) {
      tally = await send(t, reporter, o.json);
      if (o.wait) await Promise.all(t.shards.map((s) => waiter(s.ctx, s.prepared.volumes, t, s.shard, o, reporter).all()));
    }
    const counts = countStates(t.combined.volumes);
    if (o.json) out.document(shardedThawJson(t, tally));
    if (o.dryRun || counts.ready === counts.total) return ExitCode.ok;
    if (!o.json) reporter.notice(`thaw in progress: ${counts.ready}/${counts.total} volumes ready: rerun to check, or add --wait`);
    return ExitCode.thawInProgress;
  } finally {
    await closeAll(t);
  }
}

/**
 * Before a restore of a sharded target: with --thaw, the one plan, the requests, and with --wait
 * a read-through for each shard; without --thaw, a restore that would meet archived volumes stops
 * before writing anything. Returns the read-through to restore with, or an exit code.
 */
export async function thawShardsForRestore(
  o: CliOptions,
  reporter: Reporter,
  target: ShardedTarget,
  url: string,
  time: number | undefined,
  probe: TargetContext,
): Promise<{ readThrough?: (shard: number, ctx: TargetContext) => TargetContext; cleanup: () => Promise<void> } | number> {
  const none = { cleanup: async () => {} };
  if (!hasRestore(probe.backend)) return none;
  if (!o.thaw) {
    const { generation } = await chooseGeneration(target, time);
    let archived = false;
    for (let s = 0; s < generation.shards && !archived; s++) {
      const ctx = target.openShard(s, generation.shards);
      try {
        archived = (await ctx.backend.list()).some((x) => isArchivedClass(x.storageClass));
      } finally {
        await ctx.backend.close();
      }
    }
    if (!archived) return none;
  }
  const t = await prepare(target, o, time);
  const counts = countStates(t.combined.volumes);
  if (!o.thaw) {
    await closeAll(t);
    if (counts.ready === counts.total) return none;
    if (counts.archived === 0) {
      reporter.notice(`thaw in progress: ${counts.ready}/${counts.total} volumes ready: rerun the restore to continue (or add --wait)`);
      return ExitCode.thawInProgress;
    }
    throw new PermafrostError(
      ExitCode.backendError,
      `${counts.archived} of the ${counts.total} volumes this restore reads are archived and not restored: add --thaw (and --wait), or see the plan and its cost first with: permafrost thaw --dry-run ${url}`,
    );
  }
  if (counts.ready < counts.total) reporter.notice(formatPlan(t.combined, `${url} (generation ${t.generation})`));
  if (o.dryRun) {
    await closeAll(t);
    return none;
  }
  await send(t, reporter, false);
  const after = countStates(t.combined.volumes);
  if (after.ready < after.total && !o.wait) {
    await closeAll(t);
    reporter.notice(`thaw in progress: ${after.ready}/${after.total} volumes ready: rerun the restore to continue (or add --wait)`);
    return ExitCode.thawInProgress;
  }
  const dirs: string[] = [];
  const waiters: ThawWaiter[] = [];
  const prepared = new Map(t.shards.map((s) => [s.shard, s]));
  return {
    readThrough: (shard, ctx) => {
      const s = prepared.get(shard);
      if (!s) return ctx;
      const w = waiter(s.ctx, s.prepared.volumes, t, shard, o, reporter);
      waiters.push(w);
      // a private directory for the downloads ahead, as the single-target restore makes one
      const dir = mkdtempSync(path.join(ctx.tempRoot, `permafrost-thaw-shard-${shard}-`));
      dirs.push(dir);
      return { ...ctx, backend: new ThawingBackend(ctx.backend, w, s.prepared.volumes, dir) };
    },
    cleanup: async () => {
      for (const w of waiters) w.stop();
      for (const d of dirs) await fsp.rm(d, { recursive: true, force: true });
      await closeAll(t);
    },
  };
}
