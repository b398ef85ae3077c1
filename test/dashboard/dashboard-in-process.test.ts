/**
 * The server in-process, with the daemon's real configuration and event observer (the daemon's
 * loop is not run; its events are told here): the browser app's files from a ui directory made
 * here (files by name, the app's own paths as index.html, nothing outside the directory, no API
 * path turned into a page, the security headers), the one-line page when the app is not built,
 * and reads that sync a target's cache waiting while a job writes that target.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { parseDaemonEnv } from '../../src/daemon/config.ts';
import { DaemonEvents } from '../../src/daemon/daemon-events.ts';
import { startDashboard } from '../../src/dashboard/server.ts';
import { parseListenAddress } from '../../src/dashboard/listen-address.ts';
import { targetContext } from '../../src/cli/target-context.ts';

const hooks = fileCleanup();

async function serve(uiDir: string, env: Record<string, string> = {}, events = new DaemonEvents()) {
  const home = tmpDir(hooks, 'dash-static');
  const config = parseDaemonEnv({ PERMAFROST_STATE_DIR: join(home, 'state'), ...env }, home);
  const server = await startDashboard({
    listen: parseListenAddress('127.0.0.1:0'),
    token: null,
    actionsEnabled: false,
    version: '0.0.0-test',
    daemon: {
      config,
      env,
      events,
      state: () => ({ pid: process.pid, host: 'h', startedAt: new Date().toISOString(), state: 'idle', current: null, nextRun: null }),
      statusDocument: () => ({ version: 1, updatedAt: '', daemon: null, periods: {}, jobs: {} }),
    },
    openTarget: (url, options, reporter) => targetContext(url, options, reporter, {}),
    stateDir: join(home, 'state'),
    log: () => {},
    redact: (s) => s,
    uiDir,
  });
  hooks.after(() => server.close());
  return server.url;
}

test('the built app: files, app paths, no way out, headers', async () => {
  const parent = tmpDir(hooks, 'dash-ui');
  const ui = join(parent, 'ui');
  mkdirSync(join(ui, 'assets'), { recursive: true });
  writeFileSync(join(ui, 'index.html'), '<!doctype html><title>app</title>');
  writeFileSync(join(ui, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(ui, '..', 'outside.txt'), 'secret');
  const url = await serve(ui);
  const get = (p: string) => fetch(`${url}${p}`);
  for (const p of ['/', '/chains', '/restore/abc']) {
    const r = await get(p);
    assert.equal(r.status, 200, p);
    assert.equal(await r.text(), '<!doctype html><title>app</title>');
    assert.match(r.headers.get('content-type') ?? '', /^text\/html/);
  }
  const js = await get('/assets/app.js');
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type') ?? '', /javascript/);
  assert.match(js.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  assert.equal(js.headers.get('x-frame-options'), 'DENY');
  for (const p of ['/missing.js', '/api/nope', '/../outside.txt', '/assets/../../outside.txt', '/%2e%2e/outside.txt'])
    assert.equal((await get(p)).status, 404, p);
  assert.equal((await get('/api/session')).status, 200);
});

test('not built: a one-line page saying so', async () => {
  const url = await serve(tmpDir(hooks, 'dash-ui-empty'));
  const r = await fetch(`${url}/`);
  assert.equal(r.status, 200);
  assert.match(await r.text(), /The dashboard UI is not built: run <code>npm run build<\/code>/);
});

test('while a job writes a target, reads that sync its cache answer 409; after it, they run', async () => {
  const home = tmpDir(hooks, 'dash-busy');
  const url = `file://${join(home, 'target')}`;
  const events = new DaemonEvents();
  const base = await serve(
    join(home, 'no-ui'),
    { JOB_1_WHAT: `dup ${join(home, 'src')} ${url} --archive-dir ${join(home, 'cache')}`, JOB_1_WHEN: 'daily' },
    events,
  );
  const id = ((await (await fetch(`${base}/api/overview`)).json()) as { targets: { id: string }[] }).targets[0]!.id;
  const runId = '00000000-0000-4000-8000-000000000001';
  events.emit({ type: 'job-start', runId, job: 1, period: 'daily', command: 'dup ...', at: Date.now() });
  for (const path of [`/api/targets/${id}/files`, `/api/targets/${id}/restore-plan`]) {
    const r = await fetch(`${base}${path}`);
    assert.equal(r.status, 409, path);
    assert.match(((await r.json()) as { error: string }).error, /^job 1 is writing to this target now/);
  }
  assert.equal((await fetch(`${base}/api/targets/${id}/status`)).status, 200, 'a listing does not touch the cache');
  events.emit({
    type: 'job-end',
    runId,
    outcome: {
      n: 1,
      period: 'daily',
      command: 'dup ...',
      startedAt: 0,
      finishedAt: 1,
      durationMs: 1,
      status: 'ok',
      exitCode: 0,
      signal: null,
      log: '',
      logBytes: 0,
    },
  });
  const after = await fetch(`${base}/api/targets/${id}/files`);
  assert.equal(after.status, 404, 'read now: the empty target has no chain');
  assert.match(((await after.json()) as { error: string }).error, /no backup chain found/);
});
