/**
 * The dashboard's address and token rules (docs/dashboard.md "Address and token"), with the real
 * daemon: loopback needs no token; any other address is refused (exit 2, one line) without one;
 * with a token (environment or file) every request needs it, /metrics as a bearer token, the
 * event stream also as ?token=. And the CLI's start-up does not load the server's libraries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { PERMAFROST_BIN } from '../support/permafrost.ts';
import { sourceModules } from '../support/loaded-modules.ts';
import { baseEnv, runDaemon, waitFor } from '../daemon/helpers.ts';
import { onceIn, readEvents, startDashboard } from './helpers.ts';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';

const hooks = fileCleanup();
const TOKEN = 'dashboard-token-4f9a1c';

test('loopback: no token needed; session says so and actions are off', async () => {
  const home = tmpDir(hooks, 'dash-loopback');
  const d = await startDashboard(baseEnv(home, { PERMAFROST_STATE_DIR: join(home, 'state') }));
  try {
    const session = await d.get('/api/session');
    assert.equal(session.status, 200);
    assert.deepEqual({ ...session.json(), now: 'x' }, { tokenRequired: false, actionsEnabled: false, version: packageVersion(), now: 'x' });
    assert.equal((await d.get('/metrics')).status, 200);
    const page = await d.get('/');
    assert.equal(page.status, 200);
    // another host name for the same port (a DNS-rebinding page) gets nothing
    const port = new URL(d.url).port;
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`])
      assert.equal((await rawGet(d.url, '/api/session', host)).status, 200, host);
    for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1.evil.example:${port}`]) {
      const r = await rawGet(d.url, '/api/overview', host);
      assert.equal(r.status, 403, host);
      assert.match(r.body, /answers only to 127\.0\.0\.1/);
    }
    // a second daemon on the same port: says why and exits 2 before its schedule starts
    const second = await runDaemon(['--listen', `127.0.0.1:${port}`], baseEnv(home, { PERMAFROST_STATE_DIR: join(home, 'state2') }));
    assert.equal(second.code, 2, second.stderr);
    assert.match(second.stderr, /error: the dashboard cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
    // an action only as JSON: a form posted by another site is refused before anything else
    const form = await fetch(`${d.url}/api/targets/x/thaw`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'tier=Bulk',
    });
    assert.equal(form.status, 415);
  } finally {
    assert.equal((await d.stop()).code, 0);
  }
});

test('another address without a token: refused at start, exit 2, one line', async () => {
  const home = tmpDir(hooks, 'dash-refused');
  for (const listen of ['0.0.0.0:0', '[::]:0']) {
    const r = await runDaemon(['--listen', listen], baseEnv(home, { PERMAFROST_STATE_DIR: join(home, 'state') }));
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^permafrost daemon: --listen .* is not a loopback address: set PERMAFROST_UI_TOKEN or a token file/);
  }
  // PERMAFROST_LISTEN the same
  const r = await runDaemon([], baseEnv(home, { PERMAFROST_STATE_DIR: join(home, 'state'), PERMAFROST_LISTEN: '0.0.0.0:0' }));
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1);
});

test('bad addresses and token files: exit 2, one line, nothing started', async () => {
  const home = tmpDir(hooks, 'dash-bad');
  const env = baseEnv(home, { PERMAFROST_STATE_DIR: join(home, 'state') });
  for (const [args, message] of [
    [['--listen', '8080'], /expected HOST:PORT/],
    [['--listen', '127.0.0.1:99999'], /not a port number/],
    [['--listen', '0.0.0.0:0', '--ui-token-file', join(home, 'missing')], /cannot read the dashboard token file .*missing: ENOENT/],
    [['--ui-actions'], /need --listen/],
  ] as const) {
    const r = await runDaemon(args, env);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, message);
  }
  writeFileSync(join(home, 'empty-token'), '\n');
  const r = await runDaemon(['--listen', '0.0.0.0:0', '--ui-token-file', join(home, 'empty-token')], env);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /token file .* is empty/);
});

for (const how of ['environment', 'file'] as const) {
  test(`a token from the ${how}: 401 without it or with a wrong one, 200 with it; /metrics by bearer; events by ?token=`, async () => {
    const home = tmpDir(hooks, `dash-token-${how}`);
    const tokenFile = join(home, 'ui-token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const env = baseEnv(home, {
      PERMAFROST_STATE_DIR: join(home, 'state'),
      ...(how === 'environment' ? { PERMAFROST_UI_TOKEN: TOKEN } : { PERMAFROST_UI_TOKEN_FILE: tokenFile }),
      // a job that says whether it was given the token (it must not be)
      JOB_1_WHAT: 'if printenv PERMAFROST_UI_TOKEN >/dev/null; then echo token-seen; else echo token-absent; fi',
      JOB_1_WHEN: onceIn(3),
    });
    const d = await startDashboard(env, [], '0.0.0.0:0');
    const url = d.url.replace('0.0.0.0', '127.0.0.1');
    const get = (path: string, headers: Record<string, string> = {}) => fetch(`${url}${path}`, { headers });
    try {
      // the app's page is public (it holds no data, and asks for the token); data is not
      assert.equal((await get('/')).status, 200);
      for (const path of ['/api/session', '/api/overview', '/metrics', '/api/events', '/api/targets/x/status', '/api', '/metrics/']) {
        const none = await get(path);
        assert.equal(none.status, 401, path);
        assert.match(none.headers.get('content-security-policy') ?? '', /default-src 'self'/);
        assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
        assert.match(await none.text(), /a token is needed/);
        const wrong = await get(path, { authorization: `Bearer ${TOKEN}x` });
        assert.equal(wrong.status, 401, path);
        assert.match(await wrong.text(), /wrong token/);
        assert.equal((await get(path, { authorization: 'Basic Zm9vOmJhcg==' })).status, 401);
      }
      const session = await get('/api/session', { authorization: `Bearer ${TOKEN}` });
      assert.equal(session.status, 200);
      assert.equal(((await session.json()) as { tokenRequired: boolean }).tokenRequired, true);
      const metrics = await get('/metrics', { authorization: `Bearer ${TOKEN}` });
      assert.equal(metrics.status, 200);
      assert.match(await metrics.text(), /^# HELP permafrost_job_last_success_timestamp_seconds /m);
      // ?token= is for the event stream only (EventSource cannot set headers)
      assert.equal((await get(`/api/overview?token=${TOKEN}`)).status, 401);
      assert.equal((await get(`/metrics?token=${TOKEN}`)).status, 401);
      const stream = readEvents(url, `?token=${TOKEN}`);
      await stream.opened;
      stream.close();
      assert.equal(stream.events[0]!.event, 'hello');
      const bearer = { authorization: `Bearer ${TOKEN}` };
      const run = await waitFor('the job', async () => {
        const runs = (await (await get('/api/jobs/1/runs', bearer)).json()) as { runs: { id: string; result: string }[] };
        return runs.runs.find((r) => r.result === 'OK');
      });
      const log = await (await get(`/api/runs/${run.id}/log`, bearer)).text();
      assert.match(log, /token-absent/);
      const answers = await Promise.all(
        ['/api/session', '/api/overview', '/api/history', '/api/jobs/1/runs', '/api/jobs/1/report', '/metrics'].map(async (p) =>
          (await get(p, bearer)).text(),
        ),
      );
      assert.ok(answers.join('\n').includes('"job":"1"'), 'the check reads real answers');
      assert.ok(!answers.some((a) => a.includes(TOKEN)), 'the token is in no answer');
    } finally {
      const r = await d.stop();
      assert.equal(r.code, 0);
      assert.ok(!r.stderr.includes(TOKEN), 'the token is not in the log');
    }
  });
}

test('`permafrost --version` loads neither hono nor prom-client; `daemon --listen` does (the check can fail)', async () => {
  const home = tmpDir(hooks, 'dash-modules');
  const hook = join(home, 'record-modules.mjs');
  // a module resolve hook that writes down every module Node resolves
  writeFileSync(
    hook,
    `import { registerHooks } from 'node:module';
import { appendFileSync } from 'node:fs';
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); appendFileSync(process.env.MODULES_LOG, r.url + '\\n'); return r; } });
`,
  );
  const serverLibs = /\/node_modules\/(hono|@hono\/node-server|prom-client)\//;
  const versionLog = join(home, 'version.log');
  const v = spawnSync(process.execPath, ['--import', hook, PERMAFROST_BIN, '--version'], {
    env: baseEnv(home, { MODULES_LOG: versionLog }),
    encoding: 'utf8',
  });
  assert.equal(v.status, 0, v.stderr);
  const loaded = sourceModules(readFileSync(versionLog, 'utf8').split('\n').filter(Boolean));
  assert.ok(
    loaded.some((u) => u.endsWith('/src/cli/main.ts')),
    'the hook saw the CLI load',
  );
  assert.deepEqual(
    loaded.filter((u) => serverLibs.test(u)),
    [],
  );

  // the positive control: a daemon that serves loads them, and the hook sees it
  const daemonLog = join(home, 'daemon.log');
  const child = spawn(process.execPath, ['--import', hook, PERMAFROST_BIN, 'daemon', '--listen', '127.0.0.1:0'], {
    env: baseEnv(home, { PERMAFROST_STATE_DIR: join(home, 'state'), MODULES_LOG: daemonLog }),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString('utf8');
  });
  const closed = once(child, 'close');
  await waitFor('the dashboard to listen', () => (stderr.includes('dashboard: listening on') ? true : undefined));
  child.kill('SIGTERM');
  await closed;
  assert.ok(
    readFileSync(daemonLog, 'utf8')
      .split('\n')
      .some((u) => serverLibs.test(u)),
    'the hook sees hono when the daemon serves',
  );
});

/** A GET with a Host header of our choosing (fetch sets its own). */
function rawGet(base: string, path: string, host: string): Promise<{ status: number; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => {
        body += b.toString('utf8');
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}
