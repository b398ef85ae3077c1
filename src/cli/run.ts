import { indexFromString, indexToDisplay } from '../core/path-index.ts';
import { parseTimeSpec, timeToString } from '../codec/time-string.ts';
import { backup, type BackupResult } from '../ops/backup/backup.ts';
import { restore } from '../ops/restore/restore.ts';
import { collectionStatus, formatStatus, prettyTime } from '../ops/status/status.ts';
import { listCurrentFiles } from '../ops/list/list-files.ts';
import { verify } from '../ops/verify/verify.ts';
import { verifyTarget } from '../ops/verify/verify-target.ts';
import { cleanup } from '../ops/cleanup/cleanup.ts';
import { retention, type RetentionRequest } from '../ops/retention/retention.ts';
import { ExitCode, PermafrostError } from '../ops/errors.ts';
import type { Reporter } from '../ops/reporter.ts';
import { parseCommandLine, type CliOptions, type ParsedCommandLine } from './command-line.ts';
import { ConsoleReporter } from './console-reporter.ts';
import { withProgress, formatBytes } from './progress.ts';
import { reportFatal } from './exit.ts';
import { helpText } from './help.ts';
import { targetContext } from './target-context.ts';
import type { TargetContext } from '../ops/context.ts';
import { formatRequestSummary, type RequestSummary } from '../backend/request-accounting.ts';
import { selectionFor } from './selection-rules.ts';
import { UsageError } from './usage-error.ts';
import { checkSourceDir } from '../ops/source-dir.ts';
import { runThaw, thawForRestore } from './thaw-command.ts';
import { runEstimate } from './estimate-command.ts';
import { formatStorageCosts, storageCosts } from '../ops/status/storage-costs.ts';
import { loadPricing } from '../pricing/pricing-table.ts';

const VERSION = '0.1.0';

/** Runs one command line; returns the exit code. Never throws. */
export async function run(argv: readonly string[]): Promise<number> {
  let console: ConsoleReporter | null = null;
  let reporter: Reporter = fallbackReporter;
  let stopProgress = () => {};
  try {
    const cmd = parseCommandLine(argv);
    const o = cmd.options;
    console = new ConsoleReporter({ verbosity: o.verbosity, ...(o.logFile !== undefined ? { logFile: o.logFile } : {}), logTimestamp: o.logTimestamp });
    reporter = console;
    if (o.progress) {
      const p = withProgress(console, { intervalSeconds: o.progressRate });
      reporter = p;
      stopProgress = () => p.stop();
    }
    for (const w of cmd.warnings) reporter.warning(w);
    if (cmd.ignored.length > 0) reporter.info(`Options without effect here: ${cmd.ignored.join(', ')}`);
    const s3Options = s3OptionsGiven(argv);
    if (s3Options.length > 0 && cmd.url !== undefined && !/^(boto3\+)?s3(\+http)?:\/\//i.test(cmd.url)) {
      reporter.info(`S3 options have no effect on ${cmd.url.split('://')[0]}:// targets: ${s3Options.join(', ')}`);
    }
    return await dispatch(cmd, o, reporter);
  } catch (err) {
    stopProgress();
    return reportFatal(err, reporter);
  } finally {
    stopProgress();
    console?.close();
  }
}

async function dispatch(cmd: ParsedCommandLine, o: CliOptions, reporter: Reporter): Promise<number> {
  switch (cmd.verb) {
    case 'help':
      process.stdout.write(`${helpText()}\n`);
      return ExitCode.ok;
    case 'version':
      process.stdout.write(`permafrost ${VERSION}\n`);
      return ExitCode.ok;
    case 'full':
    case 'incremental':
    case 'backup':
      return runBackup(cmd, o, reporter);
    case 'restore':
      return runRestore(cmd, o, reporter);
    case 'collection-status':
      return runStatus(cmd, o, reporter);
    case 'list-current-files':
      return runList(cmd, o, reporter);
    case 'verify':
      return runVerify(cmd, o, reporter);
    case 'cleanup':
      return runCleanup(cmd, o, reporter);
    case 'thaw': {
      const ctx = targetContext(need(cmd.url, 'target URL'), o, reporter);
      return closing(ctx, () => runThaw(ctx, o, timeOption(o, ctx.now()), reporter));
    }
    case 'remove-older-than':
    case 'remove-all-but-n-full':
    case 'remove-all-inc-of-but-n-full':
      return runRetention(cmd, o, reporter);
    case 'estimate':
      return runEstimate(cmd, o, reporter);
    default:
      throw new PermafrostError(ExitCode.usage, `"${cmd.verb}" is not implemented yet in this version`);
  }
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new UsageError(`missing ${what}`);
  return value;
}

function timeOption(o: CliOptions, now: number): number | undefined {
  if (o.time === undefined) return undefined;
  try {
    return parseTimeSpec(o.time, now, { timeSeparator: o.timeSeparator });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

async function runBackup(cmd: ParsedCommandLine, o: CliOptions, reporter: Reporter): Promise<number> {
  const url = need(cmd.url, 'target URL');
  const source = need(cmd.localPath, 'source directory');
  const ctx = targetContext(url, o, reporter);
  const now = ctx.now();
  await checkSourceDir(source);
  let fullIfOlderThan: number | undefined;
  if (o.fullIfOlderThan !== undefined) {
    try {
      fullIfOlderThan = parseTimeSpec(o.fullIfOlderThan, now, { timeSeparator: o.timeSeparator });
    } catch (err) {
      throw new UsageError(`--full-if-older-than: ${(err as Error).message}`);
    }
  }
  const result = await closing(ctx, async () => backup(ctx, {
    mode: cmd.verb === 'full' ? 'full' : cmd.verb === 'incremental' ? 'incremental' : 'auto',
    source,
    volsize: Math.round(o.volsize * 1024 * 1024),
    ...(fullIfOlderThan !== undefined ? { fullIfOlderThan } : {}),
    maxBlocksize: o.maxBlocksize,
    selection: await selectionFor(o, source, now),
    dryRun: o.dryRun,
    allowSourceMismatch: o.allowSourceMismatch,
    asyncUpload: o.asyncUpload,
    progressTotals: o.progress,
    changeRules: { ignoreCtime: o.ignoreCtime, ignoreInode: o.ignoreInode },
  }));
  const requests = ctx.backend.requestSummary?.();
  if (o.json) process.stdout.write(`${JSON.stringify(withRequests(backupJson(result), requests))}\n`);
  else {
    if (o.printStatistics) reporter.notice(backupStatistics(result));
    if (requests) reporter.notice(formatRequestSummary(requests, formatBytes));
  }
  if (result.errors > 0) {
    reporter.warning(`Backup completed with ${result.errors} error${result.errors === 1 ? '' : 's'}: the files named above were not backed up.`);
    return ExitCode.completedWithErrors;
  }
  return ExitCode.ok;
}

function backupJson(r: BackupResult): unknown {
  return { type: r.type, startTime: r.startTime, endTime: r.endTime, volumes: r.volumes, errors: r.errors, elapsedMs: r.elapsedMs, uploadedBytes: r.uploadedBytes, ...r.stats };
}

function backupStatistics(r: BackupResult): string {
  const s = r.stats;
  const secs = (r.elapsedMs / 1000).toFixed(2);
  return [
    '--------------[ Backup Statistics ]--------------',
    `StartTime ${r.startTime}.00 (${prettyTime(r.startTime)})`,
    `EndTime ${r.endTime}.00 (${prettyTime(r.endTime)})`,
    `ElapsedTime ${secs} (${secs} seconds)`,
    `Type ${r.type === 'full' ? 'full' : 'incremental'}`,
    `DeltaEntries ${s.entries}`,
    `NewFiles ${s.newFiles}`,
    `ChangedFiles ${s.changedFiles}`,
    `DeletedFiles ${s.deletedFiles}`,
    `ChangedWhileRead ${s.changedWhileRead}`,
    `SourceBytesRead ${s.sourceBytes} (${formatBytes(s.sourceBytes)})`,
    `RawDeltaSize ${s.storedBytes} (${formatBytes(s.storedBytes)})`,
    `Volumes ${r.volumes}`,
    `TotalDestinationSizeChange ${r.uploadedBytes} (${formatBytes(r.uploadedBytes)})`,
    `Errors ${r.errors}`,
    '-------------------------------------------------',
  ].join('\n');
}

async function runRestore(cmd: ParsedCommandLine, o: CliOptions, reporter: Reporter): Promise<number> {
  const url = need(cmd.url, 'target URL');
  const dest = need(cmd.localPath, 'restore destination');
  const target = targetContext(url, o, reporter);
  const time = timeOption(o, target.now());
  const thawed = await thawForRestore(target, o, time, reporter).catch(async (err: unknown) => {
    await target.backend.close();
    throw err;
  });
  if (typeof thawed === 'number') {
    await target.backend.close();
    return thawed;
  }
  const ctx = thawed.ctx;
  const result = await closing(ctx, () => restore(ctx, {
    ...(time !== undefined ? { time } : {}),
    ...(o.fileToRestore !== undefined ? { fileToRestore: indexFromString(o.fileToRestore) } : {}),
    dest,
    force: o.force,
    dryRun: o.dryRun,
    numericOwner: o.numericOwner,
    restoreOwnership: !o.doNotRestoreOwnership && process.geteuid?.() === 0,
  })).finally(() => thawed.cleanup());
  const requests = ctx.backend.requestSummary?.();
  if (o.json) process.stdout.write(`${JSON.stringify(withRequests(result, requests))}\n`);
  else {
    reporter.notice(`Restored ${result.files} entries (${formatBytes(result.bytes)}) from ${result.volumesRead} volume${result.volumesRead === 1 ? '' : 's'}, as of ${prettyTime(result.setTime)}.`);
    if (requests) reporter.notice(formatRequestSummary(requests, formatBytes));
  }
  return ExitCode.ok;
}

async function runStatus(cmd: ParsedCommandLine, o: CliOptions, reporter: Reporter): Promise<number> {
  const ctx = targetContext(need(cmd.url, 'target URL'), o, reporter);
  // --costs: a bad pricing file fails before the target is listed
  const pricing = o.costs ? await loadPricing(o.pricingFile) : undefined;
  const st = await closing(ctx, async () => {
    const status = await collectionStatus(ctx);
    return pricing ? { ...status, costs: await storageCosts(ctx, pricing) } : status;
  });
  const requests = ctx.backend.requestSummary?.();
  if (o.json) {
    process.stdout.write(`${JSON.stringify(withRequests(st, requests), null, 2)}\n`);
    return ExitCode.ok;
  }
  const text = 'costs' in st ? `${formatStatus(st)}\n\n${formatStorageCosts(st.costs, formatBytes)}` : formatStatus(st);
  if (reporter.record) reporter.record('INFO', 3, '', text);
  else process.stdout.write(`${text}\n`);
  if (requests) reporter.notice(formatRequestSummary(requests, formatBytes));
  return ExitCode.ok;
}

async function runList(cmd: ParsedCommandLine, o: CliOptions, reporter: Reporter): Promise<number> {
  const ctx = targetContext(need(cmd.url, 'target URL'), o, reporter);
  const time = timeOption(o, ctx.now());
  const out: string[] = [];
  const flush = () => {
    if (out.length > 0) process.stdout.write(`${out.join('\n')}\n`);
    out.length = 0;
  };
  // with --log-file, each line also goes there as duplicity's machine record (code 10)
  const viaRecords = !o.json && o.logFile !== undefined && reporter.record !== undefined;
  for await (const meta of listCurrentFiles(ctx, time)) {
    const name = indexToDisplay(meta.index);
    if (o.json) out.push(JSON.stringify({ path: name, type: meta.type, mtime: meta.mtime, size: meta.size, mode: meta.mode }));
    else if (viaRecords) reporter.record!('INFO', 10, `${timeToString(Math.max(0, meta.mtime))} ${quotedForLog(name)} ${meta.type}`, `${prettyTime(meta.mtime)} ${name}`);
    else out.push(`${prettyTime(meta.mtime)} ${name}`);
    if (out.length >= 1000) flush();
  }
  flush();
  return ExitCode.ok;
}

async function runVerify(cmd: ParsedCommandLine, o: CliOptions, reporter: Reporter): Promise<number> {
  const url = need(cmd.url, 'target URL');
  const source = need(cmd.localPath, 'source directory');
  const ctx = targetContext(url, o, reporter);
  const now = ctx.now();
  const time = timeOption(o, now);
  if (!o.compareData) {
    // without --compare-data nothing is downloaded: the target's objects are checked in place
    const checked = await closing(ctx, () => verifyTarget(ctx, {
      ...(time !== undefined ? { time } : {}),
      ...(o.fileToRestore !== undefined ? { fileToRestore: indexFromString(o.fileToRestore) } : {}),
    }));
    const requests = ctx.backend.requestSummary?.();
    if (o.json) process.stdout.write(`${JSON.stringify(withRequests(checked, requests))}\n`);
    else if (requests) reporter.notice(formatRequestSummary(requests, formatBytes));
    return checked.differences.length > 0 ? ExitCode.differences : ExitCode.ok;
  }
  const result = await verify(ctx, {
    ...(time !== undefined ? { time } : {}),
    ...(o.fileToRestore !== undefined ? { fileToRestore: indexFromString(o.fileToRestore) } : {}),
    compareData: o.compareData,
    source,
    selection: await selectionFor(o, source, now),
  });
  if (o.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  return result.differences.length > 0 ? ExitCode.differences : ExitCode.ok;
}

async function runCleanup(cmd: ParsedCommandLine, o: CliOptions, reporter: Reporter): Promise<number> {
  const ctx = targetContext(need(cmd.url, 'target URL'), o, reporter);
  // --dry-run deletes nothing and so takes no lock (duplicity's cleanup skips the delete too)
  const result = await cleanup(ctx, o.force && !o.dryRun);
  if (o.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return ExitCode.ok;
  }
  if (result.extraneous.length === 0) reporter.notice('No extraneous files found, nothing deleted in cleanup.');
  else {
    reporter.notice(`${result.deleted ? 'Deleted' : 'Found'} ${result.extraneous.length} file${result.extraneous.length === 1 ? '' : 's'} not part of any complete backup set:`);
    for (const n of result.extraneous) reporter.notice(n);
    if (!result.deleted) reporter.notice('Run duplicity again with the --force option to actually delete.'.replace('duplicity', 'permafrost'));
  }
  return ExitCode.ok;
}

async function runRetention(cmd: ParsedCommandLine, o: CliOptions, reporter: Reporter): Promise<number> {
  const ctx = targetContext(need(cmd.url, 'target URL'), o, reporter);
  let request: RetentionRequest;
  if (cmd.verb === 'remove-older-than') {
    let time: number;
    try {
      time = parseTimeSpec(need(cmd.removeTime, 'time'), ctx.now(), { timeSeparator: o.timeSeparator });
    } catch (err) {
      throw new UsageError(`remove-older-than: ${(err as Error).message}`);
    }
    request = { mode: 'remove-older-than', time };
  } else {
    request = { mode: cmd.verb === 'remove-all-but-n-full' ? 'remove-all-but-n-full' : 'remove-all-inc-of-but-n-full', count: need(cmd.keepCount, 'count') };
  }
  const pricing = await loadPricing(o.pricingFile);
  const result = await closing(ctx, () => retention(ctx, request, { force: o.force, allowEarlyDeletion: o.allowEarlyDeletion, dryRun: o.dryRun, pricing }));
  if (o.json) process.stdout.write(`${JSON.stringify(withRequests(result, ctx.backend.requestSummary?.()), null, 2)}\n`);
  return ExitCode.ok;
}

/** Runs an operation, then releases its target (an object store aborts uploads left open). */
async function closing<T>(ctx: TargetContext, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } finally {
    await ctx.backend.close();
  }
}

/** --json output with the object store's request accounting (absent for file:// targets). */
function withRequests(value: unknown, requests: RequestSummary | undefined): unknown {
  return requests ? { ...(value as object), requests } : value;
}

/** A path in duplicity's log records: single-quoted, with backslashes, quotes and newlines escaped. */
function quotedForLog(path: string): string {
  return `'${path.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

/** The --s3-* options on the command line, as typed (for the note on non-S3 targets). */
function s3OptionsGiven(argv: readonly string[]): string[] {
  return [...new Set(argv.filter((a) => a.startsWith('--s3-')).map((a) => a.split('=')[0]!))];
}

const fallbackReporter: Reporter = {
  error: (m) => process.stderr.write(`${m}\n`),
  warning: (m) => process.stderr.write(`${m}\n`),
  notice: (m) => process.stderr.write(`${m}\n`),
  info: () => {},
  debug: () => {},
};
