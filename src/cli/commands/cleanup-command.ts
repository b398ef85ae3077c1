/** `cleanup`: lists what interrupted or foreign runs left; deletes it with --force. */
import { cleanup } from '../../ops/cleanup/cleanup.ts';
import { ExitCode } from '../../core/errors.ts';
import type { Reporter } from '../../ops/reporter.ts';
import type { CliOptions, ParsedCommandLine } from '../command-line.ts';
import type { Output } from '../output.ts';
import { targetContext } from '../target-context.ts';
import { need } from './command-steps.ts';

export async function runCleanup(cmd: ParsedCommandLine, o: CliOptions, reporter: Reporter, out: Output): Promise<number> {
  const ctx = targetContext(need(cmd.url, 'target URL'), o, reporter);
  // --dry-run deletes nothing and so takes no lock (duplicity's cleanup skips the delete too)
  const result = await cleanup(ctx, o.force && !o.dryRun);
  if (o.json) {
    out.document(result);
    return ExitCode.ok;
  }
  if (result.extraneous.length === 0) reporter.notice('No extraneous files found, nothing deleted in cleanup.');
  else {
    reporter.notice(
      `${result.deleted ? 'Deleted' : 'Found'} ${result.extraneous.length} file${result.extraneous.length === 1 ? '' : 's'} not part of any complete backup set:`,
    );
    for (const n of result.extraneous) reporter.notice(n);
    if (!result.deleted)
      reporter.notice('Run duplicity again with the --force option to actually delete.'.replace('duplicity', 'permafrost'));
  }
  return ExitCode.ok;
}
