import * as path from 'node:path';
import * as fsp from 'node:fs/promises';
import { indexFromString, indexToDisplay, type PathIndex } from '../../core/path-index.ts';
import { loadPricing } from '../../pricing/pricing-table.ts';
import type { TargetContext } from '../../ops/context.ts';
import { ExitCode, PermafrostError } from '../../core/errors.ts';
import type { Reporter } from '../../ops/reporter.ts';
import { prettyTime } from '../../ops/status/pretty-time.ts';
import {
  formatHours,
  prepareThaw,
  sendThawRequests,
  writeBatchManifest,
  type PreparedThaw,
  type TierQuote,
} from '../../ops/thaw/prepare-thaw.ts';
import { countStates, ThawWaiter, type ThawCounts } from '../../ops/thaw/thaw.ts';
import { hasRestore, isArchivedClass, type RemoteObjectInfo } from '../../backend/backend.ts';
import { ThawingBackend } from '../../ops/thaw/thawing-backend.ts';
import { thawJson } from '../../ops/thaw/thaw-json.ts';
import { makeRunTempDir } from '../../ops/run-temp-dir.ts';
import type { CliOptions, ParsedCommandLine } from '../command-line.ts';
import { formatBytes } from '../../core/format-bytes.ts';
import type { Output } from '../output.ts';
import { targetContext } from '../target-context.ts';
import { closing, need, timeOption } from './command-steps.ts';
import { rerunCommand, restoreScopeWords } from '../rerun-command.ts';

/** Polls back off up to this, unless --poll-interval asks for longer (docs/glacier-semantics.md §9.4 item 16: 15–60 min for Standard/Bulk). */
const MAX_POLL_SECONDS = 15 * 60;

interface ThawTarget {
  readonly time?: number;
  readonly fileToRestore?: PathIndex;
}

function targetOf(o: CliOptions, time: number | undefined): ThawTarget {
  return {
    ...(time !== undefined ? { time } : {}),
    ...(o.fileToRestore !== undefined ? { fileToRestore: indexFromString(o.fileToRestore) } : {}),
  };
}

async function prepare(
  ctx: TargetContext,
  o: CliOptions,
  time: number | undefined,
  listing?: readonly RemoteObjectInfo[],
): Promise<PreparedThaw> {
  const pricing = await loadPricing(o.pricingFile);
  return prepareThaw(ctx, {
    ...targetOf(o, time),
    tier: o.tier ?? 'Standard',
    ...(o.days !== undefined ? { days: o.days } : {}),
    pricing,
    ...(listing ? { listing } : {}),
  });
}

/**
 * `permafrost thaw URL`: plans, prints the plan and its price, and requests the restores (or
 * writes a Batch Operations manifest). With --wait it returns once every volume is readable;
 * otherwise 75 while restores are still running, so that a script can loop on it.
 */
export async function runThaw(
  ctx: TargetContext,
  o: CliOptions,
  time: number | undefined,
  reporter: Reporter,
  out: Output,
): Promise<number> {
  const prepared = await prepare(ctx, o, time);
  if (!o.json) reporter.notice(formatPlan(prepared, ctx.backend.displayUrl));
  if (o.dryRun) {
    if (o.json) printJson(out, prepared, null);
    return ExitCode.ok;
  }
  if (o.batchManifest !== undefined) {
    const rows = await writeBatchManifest(ctx, prepared, o.batchManifest);
    if (o.json) printJson(out, prepared, null, { batchManifest: o.batchManifest, rows });
    else reporter.notice(batchInstructions(o.batchManifest, rows, prepared, restoreAfterBatch(o, ctx.backend.displayUrl)));
    return ExitCode.ok;
  }
  const tally = await sendThawRequests(ctx, prepared);
  if (tally.sent > 0 && !o.json)
    reporter.notice(
      `Sent ${tally.sent} restore request${tally.sent === 1 ? '' : 's'} (${prepared.tier}, copies kept ${prepared.days} day${prepared.days === 1 ? '' : 's'}): ${tally.started} started, ${tally.extended} already restored, ${tally.alreadyRunning} already running.`,
    );
  if (o.wait) {
    const waiter = waiterFor(ctx, o, prepared, reporter);
    await waiter.all();
    reporter.progressDone?.();
  }
  const counts = countStates(prepared.volumes);
  if (o.json) printJson(out, prepared, tally);
  if (counts.ready === counts.total) {
    const thawed = prepared.volumes.some((v) => v.volume.archived);
    if (!o.json)
      reporter.notice(
        `All ${counts.total} volume${counts.total === 1 ? '' : 's'} the restore needs can be read now: run the restore${thawed ? ' before the restored copies expire' : ''}.`,
      );
    return ExitCode.ok;
  }
  if (!o.json) reporter.notice(inProgressMessage(counts, 'thaw'));
  return ExitCode.thawInProgress;
}

/**
 * What `restore` reads through: with --thaw the plan is run first (requests sent), and with
 * --wait the restore reads through a backend that waits for each volume. Without --thaw, a
 * restore that would hit archived volumes stops before writing anything, saying what to run.
 * Returns the context to restore with, or an exit code to end with.
 */
export async function thawForRestore(
  ctx: TargetContext,
  o: CliOptions,
  time: number | undefined,
  reporter: Reporter,
): Promise<{ ctx: TargetContext; cleanup: () => Promise<void> } | number> {
  const none = { ctx, cleanup: async () => {} };
  if (!hasRestore(ctx.backend)) return none;
  let listing: RemoteObjectInfo[] | undefined;
  if (!o.thaw) {
    listing = await ctx.backend.list();
    if (!listing.some((x) => isArchivedClass(x.storageClass))) return none;
  }
  const prepared = await prepare(ctx, o, time, listing);
  const counts = countStates(prepared.volumes);
  if (!o.thaw) {
    if (counts.ready === counts.total) return none;
    if (counts.archived === 0) {
      reporter.notice(inProgressMessage(counts, 'restore'));
      return ExitCode.thawInProgress;
    }
    throw new PermafrostError(
      ExitCode.backendError,
      `${counts.archived} of the ${counts.total} volumes this restore reads are archived and not restored: add --thaw (and --wait), or see the plan and its cost first with: ${rerunCommand(['thaw', '--dry-run', ...restoreScopeWords(o)], o, ctx.backend.displayUrl)}`,
    );
  }
  if (counts.ready < counts.total) reporter.notice(formatPlan(prepared, ctx.backend.displayUrl));
  if (o.dryRun) return none;
  const tally = await sendThawRequests(ctx, prepared);
  if (tally.sent > 0)
    reporter.notice(
      `Sent ${tally.sent} restore request${tally.sent === 1 ? '' : 's'} (${prepared.tier}, copies kept ${prepared.days} day${prepared.days === 1 ? '' : 's'}).`,
    );
  const after = countStates(prepared.volumes);
  if (after.ready < after.total && !o.wait) {
    reporter.notice(inProgressMessage(after, 'restore'));
    return ExitCode.thawInProgress;
  }
  // even with every copy readable now, one may expire before the restore reads it
  const waiter = waiterFor(ctx, o, prepared, reporter);
  const dir = await makeRunTempDir(ctx.tempRoot, 'thaw');
  const backend = new ThawingBackend(ctx.backend, waiter, prepared.volumes, dir);
  return {
    ctx: { ...ctx, backend },
    cleanup: async () => {
      waiter.stop();
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}

function waiterFor(ctx: TargetContext, o: CliOptions, prepared: PreparedThaw, reporter: Reporter): ThawWaiter {
  return new ThawWaiter(ctx, prepared.volumes, prepared.journal, {
    tier: prepared.tier,
    days: prepared.days,
    wait: o.wait,
    pollSeconds: o.pollInterval,
    maxPollSeconds: MAX_POLL_SECONDS,
    onProgress: (c: ThawCounts) => {
      reporter.notice(`Thaw: ${c.ready} of ${c.total} volumes ready${c.inProgress > 0 ? ` (${c.inProgress} being restored)` : ''}`);
      reporter.progress?.({ phase: 'thaw', filesDone: c.ready, filesTotal: c.total, itemLabel: 'volumes ready', bytesDone: 0 });
    },
  });
}

function inProgressMessage(c: ThawCounts, verb: 'thaw' | 'restore'): string {
  const rerun = verb === 'restore' ? 'rerun the restore to continue (or add --wait)' : 'rerun to check, or add --wait';
  return `thaw in progress: ${c.ready}/${c.total} volumes ready: ${rerun}`;
}

function money(x: number): string {
  if (x === 0) return '$0';
  return x < 0.01 ? `$${x.toFixed(4)}` : `$${x.toFixed(2)}`;
}

/** The plan as the user sees it before anything is requested. */
export function formatPlan(p: PreparedThaw, target: string): string {
  const plan = p.plan;
  const bytes = plan.volumes.reduce((n, v) => n + v.size, 0);
  const what = plan.within.length === 0 ? 'the whole backup' : indexToDisplay(plan.within);
  const classes = new Map<string, number>();
  for (const v of p.volumes) if (v.state === 'archived') classes.set(v.volume.storageClass, (classes.get(v.volume.storageClass) ?? 0) + 1);
  const lines = [
    `Thaw plan for ${what} as of ${prettyTime(plan.setTime)} at ${target}:`,
    `  reads ${plan.volumes.length} of ${plan.volumesInSets} volumes (${formatBytes(bytes)} of ${formatBytes(plan.bytesInSets)}) in ${plan.sets} backup set${plan.sets === 1 ? '' : 's'}`,
    `  ready: ${p.counts.ready}, being restored: ${p.counts.inProgress}, archived: ${p.counts.archived}${classes.size > 0 ? ` (${[...classes].map(([c, n]) => `${n} in ${c}`).join(', ')}; ${formatBytes(p.toRequest.bytes)})` : ''}`,
  ];
  if (p.toRequest.objects > 0) {
    lines.push(
      `  cost of restoring the ${p.toRequest.objects} archived volume${p.toRequest.objects === 1 ? '' : 's'} (requests, retrieval, ${p.days} day${p.days === 1 ? '' : 's'} of restored copies):`,
    );
    for (const q of p.quotes)
      lines.push(`  ${q.tier === p.tier ? '*' : ' '} ${q.tier.padEnd(10)} ${money(q.total).padStart(10)}   ${waitText(q)}`);
    lines.push(
      `  (* the tier used, --tier; list prices ${p.pricing.region} ${p.pricing.asOf}${p.pricing.source === 'built-in' ? '' : ` from ${p.pricing.source}`}; downloads add GET requests, and egress outside AWS)`,
    );
  }
  if (p.counts.archived + p.counts.inProgress > 0) lines.push(`  everything downloaded in about ${formatHours(p.estimatedHours)} at worst`);
  return lines.join('\n');
}

function waitText(q: TierQuote): string {
  const substituted = q.parts.filter((x) => x.tier !== q.tier).map((x) => `${x.storageClass} uses ${x.tier}`);
  const wait =
    q.parts.length === 0
      ? 'not offered'
      : q.typicalHours[0] === 0
        ? `up to ${formatHours(q.typicalHours[1])}`
        : `usually ${formatHours(q.typicalHours[0])}–${formatHours(q.typicalHours[1])}`;
  return substituted.length > 0 ? `${wait} (${substituted.join(', ')})` : wait;
}

/** The restore to run once the Batch Operations job has restored the volumes. */
function restoreAfterBatch(o: CliOptions, url: string): string {
  return rerunCommand(['restore', '--thaw', '--wait', ...restoreScopeWords(o)], o, url, ['DEST_DIR']);
}

function batchInstructions(file: string, rows: number, p: PreparedThaw, restoreCommand: string): string {
  const tier = p.tier.toUpperCase();
  return [
    `Wrote ${rows} volume${rows === 1 ? '' : 's'} to the S3 Batch Operations manifest ${file} (no restore requests were sent).`,
    'Upload it and create the job, e.g.:',
    `  aws s3 cp ${path.basename(file)} s3://MANIFEST-BUCKET/${path.basename(file)}`,
    `  aws s3control create-job --account-id ACCOUNT --operation '{"S3InitiateRestoreObject":{"ExpirationInDays":${p.days},"GlacierJobTier":"${tier}"}}' \\`,
    `    --manifest '{"Spec":{"Format":"S3BatchOperations_CSV_20180820","Fields":["Bucket","Key"]},"Location":{"ObjectArn":"arn:aws:s3:::MANIFEST-BUCKET/${path.basename(file)}","ETag":"ETAG"}}' \\`,
    `    --report '{"Enabled":false}' --priority 10 --role-arn ROLE-ARN --no-confirmation-required`,
    `Then \`${restoreCommand}\` waits for the copies and restores into DEST_DIR (it requests only volumes still archived).`,
  ].join('\n');
}

function printJson(out: Output, p: PreparedThaw, tally: unknown, extra: object = {}): void {
  out.document(thawJson(p, tally, extra));
}

/** The `thaw` verb: the target's context, then `runThaw`, then the target released. */
export async function runThawCommand(cmd: ParsedCommandLine, o: CliOptions, reporter: Reporter, out: Output): Promise<number> {
  const ctx = targetContext(need(cmd.url, 'target URL'), o, reporter);
  return closing(ctx, () => runThaw(ctx, o, timeOption(o, ctx.now()), reporter, out));
}
