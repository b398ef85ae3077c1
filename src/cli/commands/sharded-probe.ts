/**
 * Whether a command is about a sharded target (docs/shards.md): a backup with `--shards`, or a
 * verb that reads or changes a target whose control folder holds the shard catalogue. Kept apart
 * from sharded-command.ts so that a plain command loads none of the shard code (it is imported
 * only when this says yes).
 */
import type { Backend } from '../../backend/backend.ts';
import { parseTargetUrl } from '../../backend/target-url.ts';
import type { Reporter } from '../../ops/reporter.ts';
import { CATALOGUE_NAME, CONTROL_FOLDER, subUrl } from '../../ops/shards/layout.ts';
import type { CliOptions, ParsedCommandLine } from '../command-line.ts';
import { targetContext } from '../target-context.ts';

export const BACKUP_VERBS: ReadonlySet<string> = new Set(['full', 'incremental', 'backup']);
const READ_VERBS: ReadonlySet<string> = new Set([
  'cleanup',
  'thaw',
  'restore',
  'list-current-files',
  'collection-status',
  'verify',
  'remove-older-than',
  'remove-all-but-n-full',
  'remove-all-inc-of-but-n-full',
]);

const SILENT: Reporter = { error: () => {}, warning: () => {}, notice: () => {}, info: () => {}, debug: () => {} };

export async function isShardedRun(cmd: ParsedCommandLine, o: CliOptions): Promise<boolean> {
  if (cmd.url === undefined) return false;
  const isBackup = BACKUP_VERBS.has(cmd.verb);
  if (!isBackup && !READ_VERBS.has(cmd.verb)) return false;
  return o.shards !== undefined || (await hasCatalogue(cmd.url, o));
}

/**
 * Whether the target has a shard catalogue: a listing of the control folder alone (on S3 one
 * ListObjectsV2 of its prefix), never a GET or HEAD, so a plain target's command makes no read it
 * did not make before. A URL that does not parse, or a listing that fails, counts as no: the
 * command itself then reports its target's problem as it always did.
 */
async function hasCatalogue(url: string, o: CliOptions): Promise<boolean> {
  try {
    parseTargetUrl(url);
  } catch {
    return false;
  }
  let control: Backend | undefined;
  try {
    control = targetContext(subUrl(url, CONTROL_FOLDER), o, SILENT).backend;
    return (await control.list()).some((x) => x.name === CATALOGUE_NAME);
  } catch {
    return false;
  } finally {
    await control?.close().catch(() => {});
  }
}
