/** `verify`: the target's objects checked in place, or with --compare-data against the source. */
import { indexFromString } from '../../core/path-index.ts';
import { ExitCode } from '../../core/errors.ts';
import type { Reporter } from '../../ops/reporter.ts';
import { verify } from '../../ops/verify/verify.ts';
import { verifyTarget } from '../../ops/verify/verify-target.ts';
import { formatRequestSummary } from '../../backend/request-accounting.ts';
import type { CliOptions, ParsedCommandLine } from '../command-line.ts';
import type { Output } from '../output.ts';
import { formatBytes } from '../../core/format-bytes.ts';
import { selectionFor } from '../selection-rules.ts';
import { targetContext } from '../target-context.ts';
import { closing, need, timeOption, withRequests } from './command-steps.ts';
import { requestSummaryOf } from '../../backend/backend.ts';

export async function runVerify(cmd: ParsedCommandLine, o: CliOptions, reporter: Reporter, out: Output): Promise<number> {
  const url = need(cmd.url, 'target URL');
  const source = need(cmd.localPath, 'source directory');
  const ctx = targetContext(url, o, reporter);
  const now = ctx.now();
  const time = timeOption(o, now);
  if (!o.compareData) {
    // without --compare-data nothing is downloaded: the target's objects are checked in place
    const checked = await closing(ctx, () =>
      verifyTarget(ctx, {
        ...(time !== undefined ? { time } : {}),
        ...(o.fileToRestore !== undefined ? { fileToRestore: indexFromString(o.fileToRestore) } : {}),
      }),
    );
    const requests = requestSummaryOf(ctx.backend);
    if (o.json) out.document(withRequests(checked, requests));
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
  if (o.json) out.document(result);
  return result.differences.length > 0 ? ExitCode.differences : ExitCode.ok;
}
