import { ExitCode, PermafrostError } from '../core/errors.ts';
import type { Reporter } from '../ops/reporter.ts';
import { parseCommandLine, type CliOptions, type ParsedCommandLine } from './command-line.ts';
import { ConsoleReporter } from './console-reporter.ts';
import { withProgress } from './progress.ts';
import { reportFatal } from './exit.ts';
import { helpText } from './help.ts';
import { runBackup } from './commands/backup-command.ts';
import { runRestore } from './commands/restore-command.ts';
import { runStatus } from './commands/status-command.ts';
import { runList } from './commands/list-command.ts';
import { runVerify } from './commands/verify-command.ts';
import { runCleanup } from './commands/cleanup-command.ts';
import { runThawCommand } from './commands/thaw-command.ts';
import { runRetention } from './commands/retention-command.ts';
import { runEstimate } from './commands/estimate-command.ts';
import { runIfSharded } from './commands/sharded-command.ts';
import { permafrostVersion } from './version.ts';

/** Runs one command line; returns the exit code. Never throws. */
export async function run(argv: readonly string[]): Promise<number> {
  let console: ConsoleReporter | null = null;
  let reporter: Reporter = fallbackReporter;
  let stopProgress = () => {};
  try {
    const cmd = parseCommandLine(argv);
    const o = cmd.options;
    console = new ConsoleReporter({
      verbosity: o.verbosity,
      ...(o.logFile !== undefined ? { logFile: o.logFile } : {}),
      logTimestamp: o.logTimestamp,
    });
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
  const sharded = await runIfSharded(cmd, o, reporter);
  if (sharded !== null) return sharded;
  switch (cmd.verb) {
    case 'help':
      process.stdout.write(`${helpText()}\n`);
      return ExitCode.ok;
    case 'version':
      process.stdout.write(`permafrost ${permafrostVersion()}\n`);
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
    case 'thaw':
      return runThawCommand(cmd, o, reporter);
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
