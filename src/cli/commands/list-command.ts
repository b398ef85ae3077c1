/** `list-current-files`: one line per path, as text or --log-file records; with --json one document `{"files": [...]}`. */
import { indexToDisplay } from '../../core/path-index.ts';
import { timeToString } from '../../codec/time-string.ts';
import { ExitCode } from '../../core/errors.ts';
import { listCurrentFiles } from '../../ops/list/list-files.ts';
import type { Reporter } from '../../ops/reporter.ts';
import { prettyTime } from '../../ops/status/pretty-time.ts';
import type { CliOptions, ParsedCommandLine } from '../command-line.ts';
import type { Output } from '../output.ts';
import { targetContext } from '../target-context.ts';
import { need, timeOption } from './command-steps.ts';

export async function runList(cmd: ParsedCommandLine, o: CliOptions, reporter: Reporter, output: Output): Promise<number> {
  const ctx = targetContext(need(cmd.url, 'target URL'), o, reporter);
  const time = timeOption(o, ctx.now());
  const out: string[] = [];
  const flush = () => {
    if (out.length > 0) output.text(out.join('\n'));
    out.length = 0;
  };
  const files = o.json ? output.jsonArray('files') : undefined;
  // with --log-file, each line also goes there as duplicity's machine record (code 10)
  const viaRecords = !o.json && o.logFile !== undefined && reporter.record !== undefined;
  for await (const meta of listCurrentFiles(ctx, time)) {
    const name = indexToDisplay(meta.index);
    if (files) files.push({ path: name, type: meta.type, mtime: meta.mtime, size: meta.size, mode: meta.mode });
    else if (viaRecords)
      reporter.record!(
        'INFO',
        10,
        `${timeToString(Math.max(0, meta.mtime))} ${quotedForLog(name)} ${meta.type}`,
        `${prettyTime(meta.mtime)} ${name}`,
      );
    else out.push(`${prettyTime(meta.mtime)} ${name}`);
    if (out.length >= 1000) flush();
  }
  flush();
  files?.end();
  return ExitCode.ok;
}

/** A path in duplicity's log records: single-quoted, with backslashes, quotes and newlines escaped. */
function quotedForLog(path: string): string {
  return `'${path.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}
