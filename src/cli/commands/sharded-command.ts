/**
 * The one place where a command meets a sharded target (docs/shards.md): a backup with
 * `--shards`, and any other verb given a target that has a shard catalogue, go to ops/shards;
 * every other command is left to its own module. What does not handle shards yet (verify
 * --file-to-restore, thaw --batch-manifest) refuses with a message naming the shard URLs, rather
 * than reading the target's root as an empty target.
 */
import { indexFromString, indexToDisplay } from '../../core/path-index.ts';
import { ExitCode } from '../../core/errors.ts';
import { formatBytes } from '../../core/format-bytes.ts';
import type { Reporter } from '../../ops/reporter.ts';
import { checkSourceDir } from '../../ops/source-dir.ts';
import { prettyTime } from '../../ops/status/pretty-time.ts';
import { CATALOGUE_NAME, CONTROL_FOLDER, shardCacheName, shardFolder, subUrl } from '../../ops/shards/layout.ts';
import { shardedBackup } from '../../ops/shards/sharded-backup.ts';
import {
  shardedListCurrentFiles,
  shardedStatus,
  shardedVerifyCompare,
  shardedVerifyTarget,
  type ShardedStatus,
} from '../../ops/shards/sharded-read.ts';
import { shardedCleanup } from '../../ops/shards/sharded-cleanup.ts';
import { shardedRestore } from '../../ops/shards/sharded-restore.ts';
import type { TargetContext } from '../../ops/context.ts';
import { runShardedThaw, thawShardsForRestore } from './sharded-thaw-command.ts';
import type { Output } from '../output.ts';
import { shardedRetention } from '../../ops/shards/sharded-retention.ts';
import type { RetentionRequest } from '../../ops/retention/retention.ts';
import { loadPricing } from '../../pricing/pricing-table.ts';
import type { ShardedTarget } from '../../ops/shards/sharded-target.ts';
import { requireShardIndex, shardIndexFrom } from '../../ops/shards/shard-index.ts';
import { timeToString, parseTimeSpec } from '../../codec/time-string.ts';
import { UsageError } from '../../command-line/usage-error.ts';
import type { CliOptions, ParsedCommandLine } from '../command-line.ts';
import { selectionFor } from '../selection-rules.ts';
import { targetContext } from '../target-context.ts';
import { parseTargetUrl } from '../../backend/target-url.ts';
import { need, timeOption } from './command-steps.ts';
import { BACKUP_VERBS } from './sharded-probe.ts';
import { backupExitCode, backupJson, backupRequest } from './backup-command.ts';

/**
 * Runs the command on a sharded target: run.ts calls it when `isShardedRun` (sharded-probe.ts)
 * said the command is about one.
 */
export async function runSharded(
  cmd: ParsedCommandLine & { url: string },
  o: CliOptions,
  reporter: Reporter,
  out: Output,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  if (o.shards === undefined && BACKUP_VERBS.has(cmd.verb))
    throw new UsageError(`${cmd.url} is a sharded target (it has ${CONTROL_FOLDER}/${CATALOGUE_NAME}): give --shards N`);
  // a bad URL is reported as typed, not as the control folder's URL made from it
  parseTargetUrl(cmd.url);
  const target = shardedTarget(cmd.url, o, reporter);
  try {
    switch (cmd.verb) {
      case 'full':
      case 'incremental':
      case 'backup':
        return await backupShard(cmd, o, reporter, out, target, env);
      case 'restore':
        return await restoreShards(cmd, o, reporter, out, target, env, cmd.url);
      case 'cleanup':
        return await cleanupShards(o, reporter, out, target);
      case 'thaw':
        return await runShardedThaw(o, reporter, out, target, cmd.url, timeOption(o, target.now()));
      case 'list-current-files':
        return await listShards(o, out, target);
      case 'collection-status':
        return await statusShards(o, out, target);
      case 'remove-older-than':
      case 'remove-all-but-n-full':
      case 'remove-all-inc-of-but-n-full':
        return await retentionShards(cmd, o, out, target);
      default:
        return await verifyShards(cmd, o, reporter, out, target);
    }
  } finally {
    await target.close();
  }
}

function shardedTarget(url: string, o: CliOptions, reporter: Reporter): ShardedTarget & { probe: TargetContext; close(): Promise<void> } {
  // the settings' warnings (storage class, ...) come with every context: say each once
  const once = warningsOnce(reporter);
  const control = targetContext(subUrl(url, CONTROL_FOLDER), o, once);
  return {
    probe: control,
    control: control.backend.conditional,
    controlUrl: control.backend.displayUrl,
    reporter,
    now: control.now,
    // one Encryption for every shard: a passphrase typed at a prompt is asked for once
    openShard: (index, shards) => ({
      ...targetContext(subUrl(url, shardFolder(index, shards)), { ...o, name: shardCacheName(o.name, index, shards) }, once),
      reporter,
      encryption: control.encryption,
    }),
    close: () => control.backend.close(),
  };
}

/** `reporter`, with a warning it already gave left out. */
function warningsOnce(reporter: Reporter): Reporter {
  const given = new Set<string>();
  return {
    error: (m) => reporter.error(m),
    warning: (m) => {
      if (given.has(m)) return;
      given.add(m);
      reporter.warning(m);
    },
    notice: (m) => reporter.notice(m),
    info: (m) => reporter.info(m),
    debug: (m) => reporter.debug(m),
  };
}

async function backupShard(
  cmd: ParsedCommandLine,
  o: CliOptions,
  reporter: Reporter,
  out: Output,
  target: ShardedTarget,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const shards = o.shards!;
  const index = requireShardIndex(o.shardIndex, env, shards);
  const source = need(cmd.localPath, 'source directory');
  await checkSourceDir(source);
  const now = target.now();
  const r = await shardedBackup(target, { shards, index, backup: await backupRequest(cmd, o, source, now) });
  const summary = {
    generation: r.generation,
    shard: r.index,
    shards: r.shards,
    run: r.run,
    complete: r.complete,
    planMadeHere: r.planMadeHere,
    planMs: Math.round(r.planMs),
    catalogueMs: Math.round(r.catalogueMs),
    ...(r.result ? backupJson(r.result) : {}),
  };
  if (o.json) out.document(summary);
  else if (r.result)
    reporter.notice(
      `Shard ${r.index} of ${r.shards}, generation ${r.generation}: ${r.result.type === 'full' ? 'full' : 'incremental'} of ${r.result.stats.entries} entries, ${formatBytes(r.result.uploadedBytes)} stored${r.complete ? '; the generation is complete' : ''}`,
    );
  return r.result ? backupExitCode(r.result, reporter) : ExitCode.ok;
}

async function restoreShards(
  cmd: ParsedCommandLine,
  o: CliOptions,
  reporter: Reporter,
  out: Output,
  target: ShardedTarget & { probe: TargetContext },
  env: NodeJS.ProcessEnv,
  url: string,
): Promise<number> {
  const dest = need(cmd.localPath, 'restore destination');
  const time = timeOption(o, target.now());
  const index = shardIndexFrom(o.shardIndex, env)?.index;
  const thawed = await thawShardsForRestore(o, reporter, target, url, time, target.probe);
  if (typeof thawed === 'number') return thawed;
  const result = await shardedRestore(target, {
    ...(thawed.readThrough ? { readThrough: thawed.readThrough } : {}),
    ...(time !== undefined ? { time } : {}),
    ...(o.fileToRestore !== undefined ? { fileToRestore: indexFromString(o.fileToRestore) } : {}),
    ...(index !== undefined ? { index } : {}),
    jobs: o.jobs ?? 4,
    dest,
    force: o.force,
    dryRun: o.dryRun,
    numericOwner: o.numericOwner,
    restoreOwnership: !o.doNotRestoreOwnership && process.geteuid?.() === 0,
  }).finally(() => thawed.cleanup());
  if (o.json) out.document(result);
  else
    reporter.notice(
      `Restored ${result.files} entries (${formatBytes(result.bytes)}) from ${result.volumesRead} volume${result.volumesRead === 1 ? '' : 's'} of generation ${result.generation} (shard${result.shards.length === 1 ? '' : 's'} ${result.shards.join(', ')}), as of ${prettyTime(result.setTime)}.`,
    );
  return ExitCode.ok;
}

async function listShards(o: CliOptions, output: Output, target: ShardedTarget): Promise<number> {
  const time = timeOption(o, target.now());
  // --json: one document, {"files":[...]}, as list-current-files of a plain target (docs/output.md)
  const files = o.json ? output.jsonArray('files') : null;
  const out: string[] = [];
  const flush = () => {
    if (out.length > 0) output.text(`${out.join('\n')}\n`);
    out.length = 0;
  };
  for await (const meta of shardedListCurrentFiles(target, time)) {
    const name = indexToDisplay(meta.index);
    if (files !== null) files.push({ path: name, type: meta.type, mtime: meta.mtime, size: meta.size, mode: meta.mode });
    else out.push(`${prettyTime(meta.mtime)} ${name}`);
    if (out.length >= 1000) flush();
  }
  flush();
  files?.end();
  return ExitCode.ok;
}

async function statusShards(o: CliOptions, out: Output, target: ShardedTarget): Promise<number> {
  const st = await shardedStatus(target);
  if (o.json) out.document(st, 2);
  else out.text(`${formatShardedStatus(st)}\n`);
  return ExitCode.ok;
}

export function formatShardedStatus(st: ShardedStatus): string {
  const lines = [
    `Sharded target: ${st.generations.length} generation(s); a restore uses ${st.current === null ? 'none (no complete generation)' : `generation ${st.current}`}`,
  ];
  for (const g of st.generations) {
    lines.push(
      `Generation ${g.generation}: ${g.shards} shards, started ${timeToString(g.started)}, ${g.state === 'complete' ? `complete ${timeToString(g.complete!)}` : `INCOMPLETE: shards ${g.missing.join(', ')} have no full`}`,
    );
    for (const [shard, d] of Object.entries(g.done).sort((a, b) => Number(a[0]) - Number(b[0])))
      lines.push(`  ${shardFolder(Number(shard), g.shards)}: full ${timeToString(d.full)}, last set ${timeToString(d.last)}`);
  }
  lines.push('Each shard is an ordinary target: collection-status <URL>/shard-<i>-of-<N> shows its chains.');
  return lines.join('\n');
}

async function retentionShards(cmd: ParsedCommandLine, o: CliOptions, out: Output, target: ShardedTarget): Promise<number> {
  let request: RetentionRequest;
  if (cmd.verb === 'remove-older-than') {
    try {
      request = {
        mode: 'remove-older-than',
        time: parseTimeSpec(need(cmd.removeTime, 'time'), target.now(), { timeSeparator: o.timeSeparator }),
      };
    } catch (err) {
      throw new UsageError(`remove-older-than: ${(err as Error).message}`);
    }
  } else {
    request = {
      mode: cmd.verb === 'remove-all-but-n-full' ? 'remove-all-but-n-full' : 'remove-all-inc-of-but-n-full',
      count: need(cmd.keepCount, 'count'),
    };
  }
  const pricing = await loadPricing(o.pricingFile);
  const result = await shardedRetention(target, request, {
    force: o.force,
    allowEarlyDeletion: o.allowEarlyDeletion,
    dryRun: o.dryRun,
    pricing,
  });
  // indented, as the retention verbs' document of a plain target
  if (o.json) out.document(result, 2);
  return ExitCode.ok;
}

async function verifyShards(
  cmd: ParsedCommandLine,
  o: CliOptions,
  reporter: Reporter,
  out: Output,
  target: ShardedTarget,
): Promise<number> {
  const source = need(cmd.localPath, 'source directory');
  const time = timeOption(o, target.now());
  const within = o.fileToRestore !== undefined ? indexFromString(o.fileToRestore) : undefined;
  if (o.compareData) {
    const r = await shardedVerifyCompare(target, time, source, await selectionFor(o, source, target.now()), within);
    if (o.json) out.document(r);
    else
      reporter.notice(
        `Compared generation ${r.generation} with ${source}: ${r.filesChecked} entries, ${r.volumesRead} volumes read, ${r.differences.length} difference(s)`,
      );
    return r.differences.length > 0 ? ExitCode.differences : ExitCode.ok;
  }
  const r = await shardedVerifyTarget(target, time, within);
  if (o.json) out.document(r);
  else reporter.notice(`Verified generation ${r.generation}: ${r.shards.length} shards, ${r.differences.length} problem(s)`);
  return r.differences.length > 0 ? ExitCode.differences : ExitCode.ok;
}

async function cleanupShards(o: CliOptions, reporter: Reporter, out: Output, target: ShardedTarget): Promise<number> {
  const result = await shardedCleanup(target, o.force && !o.dryRun);
  if (o.json) out.document(result);
  else if (result.extraneous.length === 0) reporter.notice('No extraneous files found in any shard, nothing deleted in cleanup.');
  else {
    reporter.notice(`${result.deleted ? 'Deleted' : 'Found'} ${result.extraneous.length} file(s) not part of any complete backup set:`);
    for (const n of result.extraneous) reporter.notice(n);
    if (!result.deleted) reporter.notice('Run permafrost again with the --force option to actually delete.');
  }
  return ExitCode.ok;
}
