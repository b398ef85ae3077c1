/** `remove-older-than`, `remove-all-but-n-full`, `remove-all-inc-of-but-n-full`. */
import { parseTimeSpec } from '../../codec/time-string.ts';
import { ExitCode } from '../../core/errors.ts';
import type { Reporter } from '../../ops/reporter.ts';
import { retention, type RetentionRequest } from '../../ops/retention/retention.ts';
import { loadPricing } from '../../pricing/pricing-table.ts';
import type { CliOptions, ParsedCommandLine } from '../command-line.ts';
import type { Output } from '../output.ts';
import { targetContext } from '../target-context.ts';
import { UsageError } from '../../command-line/usage-error.ts';
import { closing, need, withRequests } from './command-steps.ts';
import { requestSummaryOf } from '../../backend/backend.ts';

export async function runRetention(cmd: ParsedCommandLine, o: CliOptions, reporter: Reporter, out: Output): Promise<number> {
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
    request = {
      mode: cmd.verb === 'remove-all-but-n-full' ? 'remove-all-but-n-full' : 'remove-all-inc-of-but-n-full',
      count: need(cmd.keepCount, 'count'),
    };
  }
  const pricing = await loadPricing(o.pricingFile);
  const result = await closing(ctx, () =>
    retention(ctx, request, { force: o.force, allowEarlyDeletion: o.allowEarlyDeletion, dryRun: o.dryRun, pricing }),
  );
  if (o.json) out.document(withRequests(result, requestSummaryOf(ctx.backend)), 2);
  return ExitCode.ok;
}
