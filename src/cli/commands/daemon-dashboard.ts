/**
 * The daemon command's dashboard part: `--listen HOST:PORT` (PERMAFROST_LISTEN), the token
 * (PERMAFROST_UI_TOKEN, or `--ui-token-file` / PERMAFROST_UI_TOKEN_FILE) and `--ui-actions`
 * (PERMAFROST_UI_ACTIONS). The server (src/dashboard, hono, prom-client) is imported only when
 * `--listen` is given, so the CLI's start-up never loads it.
 */
import type { DaemonConfig } from '../../daemon/config.ts';
import type { Daemon } from '../../daemon/daemon.ts';
import type { DaemonEvents } from '../../daemon/daemon-events.ts';
import { secretsOf } from '../../daemon/log-excerpt.ts';
import type { DaemonState } from '../../daemon/status-file.ts';
import { hostname } from 'node:os';
import { loadToken } from '../../dashboard/auth.ts';
import { parseListenAddress, type ListenAddress } from '../../dashboard/listen-address.ts';
import type { DashboardServer } from '../../dashboard/server.ts';
import { targetContext } from '../target-context.ts';
import { permafrostVersion } from '../version.ts';

type Env = Readonly<Record<string, string | undefined>>;

export interface DashboardSettings {
  readonly listen: ListenAddress;
  readonly token: string | null;
  readonly actionsEnabled: boolean;
}

/**
 * The dashboard's settings, or null without `--listen`. Throws a one-line Error for a bad address,
 * an unreadable token file, or an address other than loopback without a token.
 */
export async function dashboardSettings(
  flags: {
    readonly listen?: string | undefined;
    readonly 'ui-token-file'?: string | undefined;
    readonly 'ui-actions'?: boolean | undefined;
  },
  env: Env,
): Promise<DashboardSettings | null> {
  const listenText = flags.listen ?? nonEmpty(env['PERMAFROST_LISTEN']);
  if (listenText === undefined) {
    if (flags['ui-token-file'] !== undefined || flags['ui-actions'])
      throw new Error('--ui-token-file and --ui-actions need --listen HOST:PORT');
    return null;
  }
  const listen = parseListenAddress(listenText);
  const token = await loadToken({
    token: env['PERMAFROST_UI_TOKEN'],
    tokenFile: flags['ui-token-file'] ?? nonEmpty(env['PERMAFROST_UI_TOKEN_FILE']),
  });
  if (!listen.loopback && token === null)
    throw new Error(
      `--listen ${listenText} is not a loopback address: set PERMAFROST_UI_TOKEN or a token file (--ui-token-file, PERMAFROST_UI_TOKEN_FILE) so that every request needs the token`,
    );
  const actionsEnabled =
    flags['ui-actions'] === true || ['1', 'true', 'yes', 'on'].includes((env['PERMAFROST_UI_ACTIONS'] ?? '').trim().toLowerCase());
  return { listen, token, actionsEnabled };
}

/** Starts the server; null (after a one-line log) when it cannot listen. */
export async function startDashboardFor(
  s: DashboardSettings,
  d: {
    config: DaemonConfig;
    env: Env;
    events: DaemonEvents;
    /** the daemon, once started (the dashboard listens before it starts) */
    daemon: () => Daemon | undefined;
    log: (line: string) => void;
  },
): Promise<DashboardServer | null> {
  const envRedact = secretsOf(d.env);
  const token = s.token;
  const redact = (text: string) => {
    const out = envRedact(text);
    return token === null ? out : out.split(token).join('[redacted]');
  };
  const { startDashboard } = await import('../../dashboard/server.ts');
  const notYet: DaemonState = {
    pid: process.pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
    state: 'idle',
    current: null,
    nextRun: null,
  };
  try {
    const server = await startDashboard({
      listen: s.listen,
      token,
      actionsEnabled: s.actionsEnabled,
      version: permafrostVersion(),
      daemon: {
        config: d.config,
        env: d.env,
        events: d.events,
        state: () => d.daemon()?.state() ?? notYet,
        statusDocument: () =>
          d.daemon()?.statusDocument() ?? { version: 1, updatedAt: notYet.startedAt, daemon: null, periods: {}, jobs: {} },
      },
      openTarget: (url, options, reporter) => targetContext(url, options, reporter, d.env as NodeJS.ProcessEnv),
      stateDir: d.config.stateDir,
      log: d.log,
      redact,
    });
    d.log(
      `dashboard: listening on ${server.url}${token !== null ? ' (token required)' : ''}${s.actionsEnabled ? '; actions enabled' : ''}`,
    );
    return server;
  } catch (err) {
    d.log(`error: the dashboard cannot listen on ${s.listen.host}:${s.listen.port}: ${redact((err as Error).message)}`);
    return null;
  }
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s.trim() === '' ? undefined : s.trim();
}
