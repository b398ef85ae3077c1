/** `collection-status` (with --costs, the storage costs too), as text or --json. */
import { ExitCode } from '../../core/errors.ts';
import type { Reporter } from '../../ops/reporter.ts';
import { collectionStatus, formatStatus } from '../../ops/status/status.ts';
import { formatStorageCosts, storageCosts } from '../../ops/status/storage-costs.ts';
import { formatRequestSummary } from '../../backend/request-accounting.ts';
import { loadPricing } from '../../pricing/pricing-table.ts';
import type { CliOptions, ParsedCommandLine } from '../command-line.ts';
import type { Output } from '../output.ts';
import { formatBytes } from '../../core/format-bytes.ts';
import { targetContext } from '../target-context.ts';
import { closing, need, withRequests } from './command-steps.ts';
import { requestSummaryOf } from '../../backend/backend.ts';

export async function runStatus(cmd: ParsedCommandLine, o: CliOptions, reporter: Reporter, out: Output): Promise<number> {
  const ctx = targetContext(need(cmd.url, 'target URL'), o, reporter);
  // --costs: a bad pricing file fails before the target is listed
  const pricing = o.costs ? await loadPricing(o.pricingFile) : undefined;
  const st = await closing(ctx, async () => {
    const status = await collectionStatus(ctx);
    return pricing ? { ...status, costs: await storageCosts(ctx, pricing) } : status;
  });
  const requests = requestSummaryOf(ctx.backend);
  if (o.json) {
    out.document(withRequests(st, requests), 2);
    return ExitCode.ok;
  }
  const text = 'costs' in st ? `${formatStatus(st)}\n\n${formatStorageCosts(st.costs, formatBytes)}` : formatStatus(st);
  if (reporter.record) reporter.record('INFO', 3, '', text);
  else out.text(text);
  if (requests) reporter.notice(formatRequestSummary(requests, formatBytes));
  return ExitCode.ok;
}
