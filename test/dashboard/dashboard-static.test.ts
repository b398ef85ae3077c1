/**
 * The browser app's files, served in-process from a ui directory made here: files by name, the
 * app's own paths as index.html, nothing outside the directory, no API path turned into a page,
 * the security headers; and the one-line page when the app is not built.
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

async function serve(uiDir: string) {
  const home = tmpDir(hooks, 'dash-static');
  const config = parseDaemonEnv({ PERMAFROST_STATE_DIR: join(home, 'state') }, home);
  const server = await startDashboard({
    listen: parseListenAddress('127.0.0.1:0'),
    token: null,
    actionsEnabled: false,
    version: '0.0.0-test',
    daemon: {
      config,
      env: {},
      events: new DaemonEvents(),
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
