/** `full`, `incremental`, `backup`: a backup of SOURCE_DIR to the target, its statistics and --json. */
import { parseTimeSpec } from '../../codec/time-string.ts';
import { backup, type BackupRequest, type BackupResult } from '../../ops/backup/backup.ts';
import { ExitCode } from '../../core/errors.ts';
import type { Reporter } from '../../ops/reporter.ts';
import { checkSourceDir } from '../../ops/source-dir.ts';
import { statisticsTimeLines } from '../statistics-times.ts';
import { formatRequestSummary } from '../../backend/request-accounting.ts';
import type { CliOptions, ParsedCommandLine } from '../command-line.ts';
import type { Output } from '../output.ts';
import { formatBytes } from '../../core/format-bytes.ts';
import { selectionFor } from '../selection-rules.ts';
import { targetContext } from '../target-context.ts';
import { UsageError } from '../../command-line/usage-error.ts';
import { closing, need, withRequests } from './command-steps.ts';
import { requestSummaryOf } from '../../backend/backend.ts';

export async function runBackup(cmd: ParsedCommandLine, o: CliOptions, reporter: Reporter, out: Output): Promise<number> {
  const url = need(cmd.url, 'target URL');
  const source = need(cmd.localPath, 'source directory');
  const ctx = targetContext(url, o, reporter);
  const now = ctx.now();
  await checkSourceDir(source);
  const request = await backupRequest(cmd, o, source, now);
  const result = await closing(ctx, async () => backup(ctx, request));
  const requests = requestSummaryOf(ctx.backend);
  if (o.json) out.document(withRequests(backupJson(result), requests));
  else {
    if (o.printStatistics) reporter.notice(backupStatistics(result));
    if (requests) reporter.notice(formatRequestSummary(requests, formatBytes));
  }
  return backupExitCode(result, reporter);
}

/** The operation's request from the command line; a sharded worker's too (sharded-command.ts). */
export async function backupRequest(cmd: ParsedCommandLine, o: CliOptions, source: string, now: number): Promise<BackupRequest> {
  let fullIfOlderThan: number | undefined;
  if (o.fullIfOlderThan !== undefined) {
    try {
      fullIfOlderThan = parseTimeSpec(o.fullIfOlderThan, now, { timeSeparator: o.timeSeparator });
    } catch (err) {
      throw new UsageError(`--full-if-older-than: ${(err as Error).message}`);
    }
  }
  return {
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
  };
}

/** 4 (with a warning) when files could not be read, else 0. */
export function backupExitCode(r: BackupResult, reporter: Reporter): number {
  if (r.errors === 0) return ExitCode.ok;
  reporter.warning(`Backup completed with ${r.errors} error${r.errors === 1 ? '' : 's'}: the files named above were not backed up.`);
  return ExitCode.completedWithErrors;
}

/** The set's part of the --json document (docs/schemas/backup.schema.json). */
export function backupJson(r: BackupResult): Record<string, unknown> {
  return {
    type: r.type,
    startTime: r.startTime,
    endTime: r.endTime,
    volumes: r.volumes,
    errors: r.errors,
    elapsedMs: r.elapsedMs,
    uploadedBytes: r.uploadedBytes,
    ...r.stats,
  };
}

function backupStatistics(r: BackupResult): string {
  const s = r.stats;
  return [
    '--------------[ Backup Statistics ]--------------',
    ...statisticsTimeLines(r.startedAt, r.endedAt),
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
