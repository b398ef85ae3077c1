import { ExitCode, PermafrostError } from '../core/errors.ts';
import type { Reporter } from '../ops/reporter.ts';
import { parseCommandLine, type CliOptions, type ParsedCommandLine } from './command-line.ts';
import { ConsoleReporter, Level } from './console-reporter.ts';
import { exitReportFor, reportFatal } from './exit.ts';
import { exitCodeMeaning, helpText } from './help.ts';
import { asksForJson, CliOutput, type Output, type OutputStreams } from './output.ts';
import { permafrostVersion } from './version.ts';
import { fatalHint } from './rerun-command.ts';
import { isShardedRun } from './commands/sharded-probe.ts';

/**
 * Runs one command line; returns the exit code. Never throws. Every byte it prints goes through
 * one Output over `streams` (docs/output.md: with --json, stdout is one JSON document).
 */
export async function run(argv: readonly string[], streams: OutputStreams): Promise<number> {
  // until the command line parses, --json is read from argv: a usage error is a document too
  let output = new CliOutput(asksForJson(argv), streams);
  let console: ConsoleReporter | null = null;
  let reporter: Reporter = fallbackReporter(output);
  let stopProgress = () => {};
  let cmd: ParsedCommandLine | undefined;
  try {
    cmd = parseCommandLine(argv);
    const o = cmd.options;
    output = new CliOutput(o.json, streams);
    reporter = fallbackReporter(output);
    console = new ConsoleReporter({
      verbosity: o.verbosity,
      ...(o.logFile !== undefined ? { logFile: o.logFile } : {}),
      logTimestamp: o.logTimestamp,
      stdout: output.log,
      stderr: output.stderr,
    });
    reporter = console;
    if (o.progress) {
      const { withProgress } = await import('./progress.ts');
      const verbosity = o.verbosity;
      const p = withProgress(console, {
        intervalSeconds: o.progressRate,
        stream: output.stderr,
        shows: (level) => Level[level] <= verbosity,
      });
      reporter = p;
      stopProgress = () => p.stop();
    }
    for (const w of cmd.warnings) reporter.warning(w);
    if (cmd.ignored.length > 0) reporter.info(`Options without effect here: ${cmd.ignored.join(', ')}`);
    const s3Options = s3OptionsGiven(argv);
    if (s3Options.length > 0 && cmd.url !== undefined && !/^(boto3\+)?s3(\+http)?:\/\//i.test(cmd.url)) {
      reporter.info(`S3 options have no effect on ${cmd.url.split('://')[0]}:// targets: ${s3Options.join(', ')}`);
    }
    return output.finish(await dispatch(cmd, o, reporter, output), exitCodeMeaning);
  } catch (err) {
    stopProgress();
    const code = reportFatal(err, reporter, cmd && fatalHint(err, cmd));
    output.failed({ code, message: exitReportFor(err).message });
    return code;
  } finally {
    stopProgress();
    console?.close();
  }
}

// Each verb's module (and the progress renderer, for --progress) is imported when it runs: a backup does not
// load the restore, status or thaw code (docs/performance.md, "Start-up").
async function dispatch(cmd: ParsedCommandLine, o: CliOptions, reporter: Reporter, out: Output): Promise<number> {
  if (cmd.url !== undefined && (await isShardedRun(cmd, o)))
    return (await import('./commands/sharded-command.ts')).runSharded({ ...cmd, url: cmd.url }, o, reporter, out);
  switch (cmd.verb) {
    case 'help':
      // asked for by name: the text on stdout even with --json (docs/output.md)
      out.help(helpText());
      return ExitCode.ok;
    case 'version':
      if (o.json) out.document({ name: 'permafrost', version: permafrostVersion() });
      else out.text(`permafrost ${permafrostVersion()}`);
      return ExitCode.ok;
    case 'full':
    case 'incremental':
    case 'backup': {
      // every backup that writes uses the file writer thread (the cache's copies are never
      // encrypted): it starts here, so that its start runs beside the loading of the backup's modules
      const release = o.dryRun ? null : (await import('../archive/thread-file.ts')).startFileWriterThread();
      try {
        return await (await import('./commands/backup-command.ts')).runBackup(cmd, o, reporter, out);
      } finally {
        release?.();
      }
    }
    case 'restore':
      return (await import('./commands/restore-command.ts')).runRestore(cmd, o, reporter, out);
    case 'collection-status':
      return (await import('./commands/status-command.ts')).runStatus(cmd, o, reporter, out);
    case 'list-current-files':
      return (await import('./commands/list-command.ts')).runList(cmd, o, reporter, out);
    case 'verify':
      return (await import('./commands/verify-command.ts')).runVerify(cmd, o, reporter, out);
    case 'cleanup':
      return (await import('./commands/cleanup-command.ts')).runCleanup(cmd, o, reporter, out);
    case 'thaw':
      return (await import('./commands/thaw-command.ts')).runThawCommand(cmd, o, reporter, out);
    case 'remove-older-than':
    case 'remove-all-but-n-full':
    case 'remove-all-inc-of-but-n-full':
      return (await import('./commands/retention-command.ts')).runRetention(cmd, o, reporter, out);
    case 'estimate':
      return (await import('./commands/estimate-command.ts')).runEstimate(cmd, o, reporter, out);
    default:
      throw new PermafrostError(ExitCode.usage, `"${cmd.verb}" is not implemented yet in this version`);
  }
}

/** The --s3-* options on the command line, as typed (for the note on non-S3 targets). */
function s3OptionsGiven(argv: readonly string[]): string[] {
  return [...new Set(argv.filter((a) => a.startsWith('--s3-')).map((a) => a.split('=')[0]!))];
}

/** Until the ConsoleReporter exists (a command line that does not parse): the error and its hint on stderr, as duplicity's. */
function fallbackReporter(out: Output): Reporter {
  return {
    error: (m) => out.stderr.write(`${m}\n`),
    warning: (m) => out.stderr.write(`${m}\n`),
    notice: (m) => out.stderr.write(`${m}\n`),
    info: () => {},
    debug: () => {},
  };
}
