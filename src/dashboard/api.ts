/**
 * The JSON API of the dashboard (docs/dashboard.md "API"). Every answer is built from redacted
 * daemon data or from the read-only operations' results; nothing here reads the environment.
 */
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { DashboardModel } from './dashboard-model.ts';
import type { HubEvent } from './event-hub.ts';
import { targetRoutes } from './target-api.ts';
import type { TargetReader } from './target-reader.ts';
import type { ThawTracker } from './thaw-tracker.ts';
import type { VerifyRecorder } from './verify-records.ts';

export interface ApiOptions {
  readonly model: DashboardModel;
  readonly reader: TargetReader;
  readonly thaws: ThawTracker;
  readonly verifies: VerifyRecorder;
  readonly actionsEnabled: boolean;
  readonly tokenRequired: boolean;
  readonly version: string;
  readonly redact: (s: string) => string;
}

/** Events kept for one stream that is slower than the daemon (a log line each, mostly). */
const MAX_QUEUED_EVENTS = 5000;
/** Milliseconds between comments on an idle event stream, so proxies keep it open. */
const KEEPALIVE_MS = 15_000;

export function apiRoutes(o: ApiOptions): Hono {
  const { model } = o;
  const api = new Hono();

  api.get('/session', (c) =>
    c.json({ tokenRequired: o.tokenRequired, actionsEnabled: o.actionsEnabled, version: o.version, now: new Date().toISOString() }),
  );

  api.get('/overview', (c) => c.json({ jobs: model.jobs(), targets: model.summaries() }));

  api.get('/jobs/:name/runs', (c) => {
    const name = c.req.param('name');
    if (!model.jobs().some((j) => j.name === name)) return c.json({ error: `no job ${name}` }, 404);
    return c.json({ runs: model.runs(name) });
  });

  api.get('/jobs/:name/report', (c) => {
    const name = c.req.param('name');
    const report = model.history.report(name);
    if (!report) return c.json({ error: `no report of job ${name} yet` }, 404);
    return c.json(report);
  });

  api.get('/runs/:id/log', async (c) => {
    const lines = await model.runLog(c.req.param('id'));
    if (lines === null) return c.json({ error: 'no such run, or its log is no longer kept' }, 404);
    return c.json({ lines });
  });

  api.get('/history', (c) =>
    c.json({
      points: model.history.points(),
      runs: model
        .runs()
        .filter((r) => r.result !== 'RUNNING')
        .reverse(),
    }),
  );

  api.route('/targets', targetRoutes(o));

  api.get('/events', (c) =>
    streamSSE(c, async (stream) => {
      const queue: HubEvent[] = [];
      let wake: (() => void) | null = null;
      const unsubscribe = model.hub.subscribe((e) => {
        queue.push(e);
        // a reader that stops reading must not grow the daemon's memory: the oldest events go
        if (queue.length > MAX_QUEUED_EVENTS) queue.splice(0, queue.length - MAX_QUEUED_EVENTS);
        wake?.();
      });
      stream.onAbort(() => {
        unsubscribe();
        wake?.();
      });
      await stream.writeSSE({ event: 'hello', data: JSON.stringify({ now: new Date().toISOString() }) });
      while (!stream.aborted) {
        const e = queue.shift();
        if (e) {
          await stream.writeSSE({ event: e.event, data: JSON.stringify(e.data) });
          continue;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, KEEPALIVE_MS);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = null;
        if (queue.length === 0 && !stream.aborted) await stream.write(': keep-alive\n\n');
      }
      unsubscribe();
    }),
  );

  return api;
}
