/**
 * `permafrost daemon [--once PERIOD] [--check]`: the scheduled service (see src/daemon). Its
 * options are its own, not duplicity's, so they are parsed here rather than by command-line.ts.
 * The configuration is checked whole before anything runs: every job's command is expanded and
 * parsed, so a typo in OPTIONS fails the container's start, not a backup at night.
 */
import { homedir } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { DaemonConfigError, parseDaemonEnv, type DaemonConfig } from '../../daemon/config.ts';
import { startDaemon, type Daemon } from '../../daemon/daemon.ts';
import { DaemonEvents } from '../../daemon/daemon-events.ts';
import { assessHealth, readStatusDocument } from '../../daemon/health.ts';
import { jobCommand, wantsJsonSummary } from '../../daemon/job-command.ts';
import { jobFolders } from '../../daemon/job-folders.ts';
import { secretsOf } from '../../daemon/log-excerpt.ts';
import { DEFAULT_PERIODS, Schedule } from '../../daemon/schedule.ts';
import { waitForStateDirs } from '../../daemon/state-dir.ts';
import { ExitCode } from '../../core/errors.ts';
import { exitReportFor } from '../exit.ts';
import { quoteShellWord } from '../../command-line/shell-words.ts';
import { dashboardSettings, startDashboardFor, type DashboardSettings } from './daemon-dashboard.ts';

export const DAEMON_USAGE = `Usage: permafrost daemon [--once PERIOD] [--check] [--health] [--listen HOST:PORT [--ui-token-file FILE] [--ui-actions]]

Runs the jobs of the environment (JOB_<N>_WHAT, JOB_<N>_WHEN, as docker-duplicity) on their
schedule, in the foreground, and reports each run (EMAIL_*, SMTP_*, healthchecks, webhook).

  --once PERIOD   run the jobs of PERIOD (daily, weekly, ... or a job's cron expression) now, then
                  exit: 0 when every job succeeded, 60 when one failed, 23 when another run holds the lock,
                  52 when the state folder cannot be written
  --check         check the configuration, print each job's command and the next runs, and exit
  --listen HOST:PORT
                  also serve the dashboard, its API and /metrics there (PERMAFROST_LISTEN);
                  any address but loopback needs a token
  --ui-token-file FILE
                  the token, from a file (PERMAFROST_UI_TOKEN_FILE); or PERMAFROST_UI_TOKEN
  --ui-actions    let the dashboard start thaws, which cost money (PERMAFROST_UI_ACTIONS=1)
  --health        from the status file: exit 0 when healthy, 1 when a job's last run failed or a
                  run is overdue (the image's HEALTHCHECK)
  -h, --help      this text

See docs/service.md for the environment reference, docs/dashboard.md for the dashboard.`;

type Env = Readonly<Record<string, string | undefined>>;

export async function runDaemonCommand(argv: readonly string[], env: Env = process.env): Promise<number> {
  let values: {
    once?: string;
    check?: boolean;
    health?: boolean;
    help?: boolean;
    listen?: string;
    'ui-token-file'?: string;
    'ui-actions'?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        once: { type: 'string' },
        check: { type: 'boolean' },
        health: { type: 'boolean' },
        listen: { type: 'string' },
        'ui-token-file': { type: 'string' },
        'ui-actions': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
      strict: true,
    }));
  } catch (err) {
    return usageError((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${DAEMON_USAGE}\n`);
    return ExitCode.ok;
  }
  if (values.once !== undefined && values.check) return usageError('--once and --check do not go together');
  // the dashboard's address and token are checked before anything runs: a refusal is one line, exit 2
  let dashboard: DashboardSettings | null;
  try {
    dashboard = await dashboardSettings(values, env);
  } catch (err) {
    process.stderr.write(`permafrost daemon: ${(err as Error).message}\n`);
    return ExitCode.usage;
  }
  if (dashboard !== null && values.once !== undefined)
    return usageError('--listen does not go with --once (a dashboard needs a running daemon)');
  if (values.health && (values.once !== undefined || values.check)) return usageError('--health goes alone');

  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} permafrost daemon: ${line}\n`);
  let config: DaemonConfig;
  try {
    config = parseDaemonEnv(env, homedir());
    if (!values.health) await checkJobs(config, env);
  } catch (err) {
    if (err instanceof DaemonConfigError) {
      for (const p of err.problems) process.stderr.write(`permafrost daemon: ${secretsOf(env)(p)}\n`);
      // A health check answers 0 or 1 only (Docker reserves 2).
      return values.health ? ExitCode.differences : ExitCode.usage;
    }
    throw err;
  }
  for (const w of config.warnings) log(`warning: ${w}`);

  const once = values.once?.trim().replace(/\s+/g, ' ');
  if (once !== undefined && !knownPeriod(once, config, env)) {
    return usageError(
      `--once ${JSON.stringify(once)}: no such period (${[...new Set([...Object.keys(DEFAULT_PERIODS), ...config.periods.map((p) => p.name)])].join(', ')})`,
    );
  }
  if (values.health) return printHealth(config);
  if (values.check) {
    await printCheck(config, env);
    if (dashboard !== null)
      process.stdout.write(
        `dashboard: http://${values.listen ?? env['PERMAFROST_LISTEN']}${dashboard.token !== null ? ' (token required)' : ''}${dashboard.actionsEnabled ? ', actions enabled' : ''}\n`,
      );
    return ExitCode.ok;
  }
  if (once === undefined && config.jobs.length === 0) log('warning: no job is scheduled (no JOB_<N>_WHEN names a period)');

  const events = new DaemonEvents();
  // the dashboard listens first: an address it cannot use ends the start before any job runs
  let started: Daemon | undefined;
  let server: Awaited<ReturnType<typeof startDashboardFor>> = null;
  if (dashboard !== null) {
    server = await startDashboardFor(dashboard, { config, env, events, daemon: () => started, log });
    if (server === null) return ExitCode.usage;
  }
  const dirs = [dirname(config.statusFile), dirname(config.lockFile), ...(await jobFolders(config, env))];
  const ready = await waitForStateDirs(dirs, { wait: once === undefined, log });
  if (ready !== 'ready') {
    await server?.close();
    return ready === 'stopped' ? ExitCode.ok : ExitCode.localIo;
  }

  const daemon = startDaemon({ config, env, log, events }, once);
  started = daemon;
  const onSignal = (sig: NodeJS.Signals) => daemon.stop(sig);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    let last: Awaited<typeof daemon.done>;
    try {
      last = await daemon.done;
    } catch (err) {
      const report = exitReportFor(err);
      log(`error: ${secretsOf(env)(report.message)}`);
      return report.code;
    }
    if (once === undefined) {
      log('stopped');
      return ExitCode.ok;
    }
    if (last === null || last.kind === 'nothing') return ExitCode.ok;
    if (last.kind === 'locked') return ExitCode.locked;
    const r = last.report;
    return r.skipped.length > 0 || r.jobs.some((j) => j.outcome.status !== 'ok') ? ExitCode.jobFailed : ExitCode.ok;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await server?.close();
  }
}

/** Every job's command, expanded and (for `dup` commands) parsed now; all problems at once. */
async function checkJobs(config: DaemonConfig, env: Env): Promise<void> {
  const redact = secretsOf(env);
  const problems: string[] = [];
  for (const job of config.jobs) {
    try {
      await jobCommand(job.what, env);
    } catch (err) {
      problems.push(`JOB_${job.n}_WHAT: ${redact((err as Error).message)}`);
    }
  }
  if (problems.length > 0) throw new DaemonConfigError(problems);
}

function knownPeriod(name: string, config: DaemonConfig, env: Env): boolean {
  if (config.periods.some((p) => p.name === name)) return true;
  const custom = env[`CRONTAB_${name.toUpperCase()}`];
  if (custom !== undefined) return custom.trim() !== '';
  return Object.hasOwn(DEFAULT_PERIODS, name);
}

async function printCheck(config: DaemonConfig, env: Env): Promise<void> {
  const redact = secretsOf(env);
  const out: string[] = [];
  for (const p of config.periods) out.push(`period ${p.name}: ${p.cron}`);
  for (const job of config.jobs) {
    const cmd = await jobCommand(job.what, env);
    const how =
      cmd.kind === 'permafrost'
        ? `permafrost ${[...(wantsJsonSummary(cmd) ? ['--json'] : []), ...cmd.args].map(quoteShellWord).join(' ')}`
        : `sh -c ${cmd.script}`;
    out.push(`job ${job.n} (${job.periods.join(' ')}): ${redact(how)}`);
  }
  const schedule = new Schedule(config.periods);
  let t = Date.now();
  for (let i = 0; i < 5; i++) {
    const next = schedule.next(t);
    if (!next) break;
    out.push(`next: ${new Date(next.at).toString()}: ${next.periods.join(', ')}`);
    t = next.at;
  }
  out.push(
    `status file: ${config.statusFile}`,
    `lock file: ${config.lockFile}`,
    `e-mail: ${config.email ? `${config.email.to.join(', ')} via ${config.email.host}:${config.email.port}${config.reportSuccess ? '' : ' (failures only)'}` : 'off'}`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
}

async function printHealth(config: DaemonConfig): Promise<number> {
  const health = assessHealth(config, config.statusFile, await readStatusDocument(config.statusFile), Date.now());
  process.stdout.write(health.healthy ? 'healthy\n' : `unhealthy: ${health.problems.join('; ')}\n`);
  return health.healthy ? ExitCode.ok : ExitCode.differences;
}

function usageError(message: string): number {
  process.stderr.write(`permafrost daemon: ${message}\nEnter 'permafrost daemon --help' for help.\n`);
  return ExitCode.usage;
}
