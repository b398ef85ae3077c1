/** `restore`: thaws first when --thaw asks, then restores into the destination. */
import { indexFromString } from '../../core/path-index.ts';
import { ExitCode } from '../../core/errors.ts';
import type { Reporter } from '../../ops/reporter.ts';
import { restore } from '../../ops/restore/restore.ts';
import { prettyTime } from '../../ops/status/pretty-time.ts';
import { formatRequestSummary } from '../../backend/request-accounting.ts';
import type { CliOptions, ParsedCommandLine } from '../command-line.ts';
import type { Output } from '../output.ts';
import { formatBytes } from '../../core/format-bytes.ts';
import { targetContext } from '../target-context.ts';
import { closing, need, timeOption, withRequests } from './command-steps.ts';
import { thawForRestore } from './thaw-command.ts';
import { requestSummaryOf } from '../../backend/backend.ts';

export async function runRestore(cmd: ParsedCommandLine, o: CliOptions, reporter: Reporter, out: Output): Promise<number> {
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
  const result = await closing(ctx, () =>
    restore(ctx, {
      ...(time !== undefined ? { time } : {}),
      ...(o.fileToRestore !== undefined ? { fileToRestore: indexFromString(o.fileToRestore) } : {}),
      dest,
      force: o.force,
      dryRun: o.dryRun,
      numericOwner: o.numericOwner,
      restoreOwnership: !o.doNotRestoreOwnership && process.geteuid?.() === 0,
    }),
  ).finally(() => thawed.cleanup());
  const requests = requestSummaryOf(ctx.backend);
  if (o.json) out.document(withRequests(result, requests));
  else {
    reporter.notice(
      `Restored ${result.files} entries (${formatBytes(result.bytes)}) from ${result.volumesRead} volume${result.volumesRead === 1 ? '' : 's'}, as of ${prettyTime(result.setTime)}.`,
    );
    if (requests) reporter.notice(formatRequestSummary(requests, formatBytes));
  }
  return ExitCode.ok;
}
