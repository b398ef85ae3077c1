/**
 * The daemon: the scheduler loop or one period (`--once`), and the stop. On SIGTERM (or SIGINT)
 * no further run or job starts; a running job gets the grace period to finish, then SIGTERM is
 * forwarded to it (an interrupted backup leaves an incomplete set that restores ignore and the
 * next backup does not extend); the report of that run is still sent. A second signal forwards at
 * once.
 */
import { hostname as osHostname } from 'node:os';
import { execFile } from 'node:child_process';
import type { DaemonConfig } from './config.ts';
import type { RunningJob } from './job-runner.ts';
import { secretsOf } from './log-excerpt.ts';
import { runPeriod, type PeriodRun, type RunContext } from './run-period.ts';
import { Schedule } from './schedule.ts';
import { schedulerLoop, systemClock, type Clock } from './scheduler.ts';
import { StatusFile, type DaemonState, type StatusDocument } from './status-file.ts';
import type { DaemonEvents } from './daemon-events.ts';

export interface DaemonOptions {
  readonly config: DaemonConfig;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly log: (line: string) => void;
  readonly clock?: Clock;
  /** the host name in reports (default: `hostname -f`, as docker-duplicity's getfqdn) */
  readonly hostname?: string;
  /** told of jobs, their output, reports and state changes (the dashboard's source) */
  readonly events?: DaemonEvents;
}

export interface Daemon {
  /** First call: stop scheduling, let a running job finish within the grace period. Second: forward SIGTERM now. */
  stop(reason: string): void;
  /** the last period run, for --once */
  readonly done: Promise<PeriodRun | null>;
  /** what the daemon is doing now (as the status file says it) */
  state(): DaemonState;
  /** the status file's content: the last run of each job and period, also from earlier daemons */
  statusDocument(): StatusDocument;
}

export function startDaemon(o: DaemonOptions, once?: string): Daemon {
  const clock = o.clock ?? systemClock;
  const abort = new AbortController();
  let job: RunningJob | null = null;
  let graceTimer: NodeJS.Timeout | undefined;
  let forwardNow = false;
  const status = new StatusFile(o.config.statusFile);
  const startedAt = new Date(clock.now()).toISOString();
  let state: DaemonState = { pid: process.pid, host: o.hostname ?? osHostname(), startedAt, state: 'idle', current: null, nextRun: null };
  /** every change of the state is told to the observer */
  const setState = (next: DaemonState) => {
    state = next;
    o.events?.emit({ type: 'state', state });
  };

  const stop = (reason: string) => {
    if (!abort.signal.aborted) {
      abort.abort();
      o.log(`${reason}: stopping${job ? `; waiting up to ${o.config.stopGraceSeconds}s for the running job` : ''}`);
      setState({ ...state, state: 'stopping' });
      if (job) {
        graceTimer = setTimeout(() => {
          forwardNow = true;
          if (job) {
            o.log('grace period over: forwarding SIGTERM to the running job');
            job.terminate();
          }
        }, o.config.stopGraceSeconds * 1000);
      }
      return;
    }
    forwardNow = true;
    if (job) {
      o.log(`${reason} again: forwarding SIGTERM to the running job`);
      job.terminate();
    }
  };

  const done = (async () => {
    const hostname = o.hostname ?? (await fqdn());
    setState({ ...state, host: hostname });
    await status.load();
    const ctx: RunContext = {
      config: o.config,
      env: o.env,
      hostname,
      status,
      log: o.log,
      redact: secretsOf(o.env),
      now: () => clock.now(),
      stopping: () => abort.signal.aborted,
      onJob: (j) => {
        job = j;
        if (j && forwardNow) j.terminate();
      },
      daemonState: () => state,
      ...(o.events ? { events: o.events } : {}),
    };
    try {
      if (once !== undefined) {
        await status.setDaemon({
          ...state,
          state: 'running',
          current: { period: once, job: null, since: new Date(clock.now()).toISOString() },
        });
        return await runPeriod(ctx, once);
      }
      const schedule = new Schedule(o.config.periods);
      let last: PeriodRun | null = null;
      await schedulerLoop({
        schedule,
        clock,
        signal: abort.signal,
        run: async (period) => {
          setState({ ...state, state: 'running', current: { period, job: null, since: new Date(clock.now()).toISOString() } });
          try {
            await status.setDaemon(state);
            last = await runPeriod(ctx, period);
          } catch (err) {
            // A run that could not even start (the state directory is not writable, ...) must
            // not end the schedule: the next firing tries again.
            o.log(`${period}: the run failed: ${ctx.redact((err as Error).message)}`);
          }
          setState({ ...state, state: abort.signal.aborted ? 'stopping' : 'idle', current: null });
        },
        onIdle: (next) => {
          setState({
            ...state,
            state: 'idle',
            current: null,
            nextRun: next ? { at: new Date(next.at).toISOString(), periods: next.periods } : null,
          });
          if (next) o.log(`next run: ${next.periods.join(', ')} at ${new Date(next.at).toISOString()}`);
          void status.setDaemon(state).catch((err: Error) => o.log(`cannot write ${status.file}: ${err.message}`));
        },
      });
      return last;
    } finally {
      clearTimeout(graceTimer);
      setState({ ...state, state: 'stopped', current: null, nextRun: null });
      await status.setDaemon(state).catch((err: Error) => o.log(`cannot write ${status.file}: ${err.message}`));
    }
  })();

  return { stop, done, state: () => state, statusDocument: () => status.document };
}

/** The fully qualified host name, as Python's socket.getfqdn() gives docker-duplicity. */
export function fqdn(): Promise<string> {
  return new Promise((resolve) => {
    execFile('hostname', ['-f'], { timeout: 5000 }, (err, stdout) => {
      const name = stdout.trim();
      resolve(err || name === '' ? osHostname() : name);
    });
  });
}
