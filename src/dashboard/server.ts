/**
 * The dashboard's HTTP server (hono on Node's http module): the browser app from dist/ui/ at `/`,
 * the JSON API under `/api/`, live events at `/api/events`, and `/metrics`. The daemon command
 * imports this module only for `--listen`, so the CLI never loads hono or prom-client otherwise.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { serve, type ServerType } from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono } from 'hono';
import { apiRoutes } from './api.ts';
import { bearerToken, tokenChecker } from './auth.ts';
import type { DaemonAccess, TargetOpener } from './daemon-access.ts';
import { DashboardModel } from './dashboard-model.ts';
import { HistoryStore } from './history-store.ts';
import { hostForUrl, isLoopback, type ListenAddress } from './listen-address.ts';
import { DashboardMetrics } from './metrics.ts';
import { TargetReader } from './target-reader.ts';
import { discoverTargets, withoutUrlCredentials } from './targets.ts';
import { ThawTracker } from './thaw-tracker.ts';
import { VerifyRecorder } from './verify-records.ts';

/** dist/ui/, built by `npm run build` next to dist/dashboard/. */
export const DEFAULT_UI_DIR = fileURLToPath(new URL('../ui/', import.meta.url));

export interface DashboardOptions {
  readonly listen: ListenAddress;
  /** null: no token (only allowed on a loopback address; the daemon command checks) */
  readonly token: string | null;
  /** --ui-actions: the dashboard may start thaws (they cost money) */
  readonly actionsEnabled: boolean;
  readonly version: string;
  readonly daemon: DaemonAccess;
  readonly openTarget: TargetOpener;
  /** the daemon's state directory: the dashboard's history is kept there */
  readonly stateDir: string;
  readonly log: (line: string) => void;
  /** removes the daemon's secrets from a text */
  readonly redact: (s: string) => string;
  readonly uiDir?: string;
}

/** `127.0.0.1:8080`, `[::1]:8080`, `localhost:8080` (any port): the names a loopback dashboard answers to. */
export function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return isLoopback(name);
}

/** The paths that answer with data: they need the token (the rest is the app's static files). */
export function isDataPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/') || path === '/metrics' || path.startsWith('/metrics/');
}

export interface DashboardServer {
  /** `http://host:port` as bound (the port is the real one when 0 was asked for) */
  readonly url: string;
  close(): Promise<void>;
}

export async function startDashboard(options: DashboardOptions): Promise<DashboardServer> {
  // what the daemon redacts, and any credentials written into a URL (a job's command, an error)
  const o = { ...options, redact: (s: string) => withoutUrlCredentials(options.redact(s)) };
  const history = new HistoryStore(o.stateDir);
  await history.load();
  const targets = await discoverTargets(o.daemon.config, o.daemon.env);
  let metrics: DashboardMetrics | null = null;
  const reader = new TargetReader(
    o.openTarget,
    (line) => o.log(o.redact(line)),
    (t, requests) => metrics?.countRequests(t, requests),
  );
  const model = new DashboardModel({ daemon: o.daemon, targets, history, reader, log: o.log, redact: o.redact });
  const thaws = new ThawTracker({ model, reader, log: o.log, redact: o.redact });
  const verifies = new VerifyRecorder({ daemon: o.daemon, targets, history, reader, log: (line) => o.log(o.redact(line)) });
  metrics = new DashboardMetrics(
    model,
    () => thaws.countsByTarget(),
    (t) => verifies.records(t),
  );

  const app = new Hono();
  app.onError((err, c) => {
    o.log(`dashboard: ${c.req.method} ${c.req.path}: ${o.redact(err.message)}`);
    return c.json({ error: o.redact(err.message) }, 500);
  });
  app.use('*', async (c, next) => {
    await next();
    // nothing the dashboard serves may be cached by a proxy or framed by another site
    c.header('Cache-Control', 'no-store');
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('X-Frame-Options', 'DENY');
    // the app is served whole by the daemon: nothing may come from, or go to, another origin
    c.header(
      'Content-Security-Policy',
      "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
    );
  });
  if (o.token === null) {
    // Without a token only this machine can connect, but a web page in a local browser could
    // still reach the port under a name of its own (DNS rebinding): answer loopback names only.
    app.use('*', async (c, next) => {
      if (!isLoopbackHost(c.req.header('host')))
        return c.json({ error: 'this dashboard answers only to 127.0.0.1, [::1] or localhost' }, 403);
      await next();
    });
  }
  // an action must come from the app (JSON), never from a form another site posts
  app.use('*', async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && !/^application\/json\b/i.test(c.req.header('content-type') ?? ''))
      return c.json({ error: 'expected Content-Type: application/json' }, 415);
    await next();
  });
  if (o.token !== null) {
    const matches = tokenChecker(o.token);
    app.use('*', async (c, next) => {
      // The app's own files are the same public build for everyone and hold no data; a browser
      // cannot send a bearer token when it opens the page, so the app asks for the token and
      // sends it with every API request. Everything with data (/api/, /metrics) needs it.
      if (!isDataPath(c.req.path)) return next();
      const given = bearerToken(c.req.header('authorization')) ?? (c.req.path === '/api/events' ? c.req.query('token') : null);
      if (!matches(given)) {
        c.header('WWW-Authenticate', 'Bearer realm="permafrost"');
        return c.json({ error: given ? 'wrong token' : 'a token is needed: Authorization: Bearer TOKEN' }, 401);
      }
      await next();
    });
  }
  app.get('/metrics', async (c) => c.body(await metrics!.render(), 200, { 'Content-Type': metrics!.registry.contentType }));
  app.route(
    '/api',
    apiRoutes({
      model,
      reader,
      thaws,
      verifies,
      actionsEnabled: o.actionsEnabled,
      tokenRequired: o.token !== null,
      version: o.version,
      redact: o.redact,
    }),
  );
  const uiDir = o.uiDir ?? DEFAULT_UI_DIR;
  if (existsSync(`${uiDir}/index.html`)) {
    app.use('/*', serveStatic({ root: uiDir }));
    // the app's own paths (/chains, /restore/...) are index.html too; a file or an API path that is not there stays a 404
    const appPage = serveStatic({ root: uiDir, path: 'index.html' });
    app.get('/*', (c, next) => (c.req.path.startsWith('/api/') || /\.[a-z0-9]+$/i.test(c.req.path) ? next() : appPage(c, next)));
  } else
    app.get('/', (c) =>
      c.html('<!doctype html><title>permafrost</title><p>The dashboard UI is not built: run <code>npm run build</code>.</p>\n'),
    );

  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: o.listen.host, port: o.listen.port }, () => resolve(s));
    s.once('error', reject);
  });
  server.on('error', (err) => o.log(`dashboard: ${err.message}`));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : o.listen.port;
  model.start();
  verifies.start();
  await thaws.resume();
  const url = `http://${hostForUrl(o.listen, port)}`;
  return {
    url,
    async close() {
      model.stop();
      verifies.stop();
      thaws.stop();
      await new Promise<void>((resolve) => {
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
