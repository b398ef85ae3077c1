/**
 * The image, built by scripts/test-image.sh (which runs this file; `npm test` does not: it needs
 * the image and podman configured by that script), run as docs/service.md says: the guide's
 * `docker run` one-off commands and the compose service, against moto's S3 and an SMTP server
 * (aiosmtpd) on loopback. `docker` is podman here, through a small shim that only adds what the
 * host network needs: the S3 endpoint on loopback, and a hosts entry for the container's name
 * (Docker's bridge network adds that one by itself). The commands themselves are checked to be
 * docs/service.md's, word for word.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../support/duplicity.ts';
import { startMoto, TEST_CREDENTIALS, type MotoServer } from '../support/moto.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { createBucket, headAll } from '../s3/helpers.ts';

const IMAGE = process.env['PERMAFROST_TEST_IMAGE'];
const TOOLS = process.env['PERMAFROST_IMAGE_TOOLS'];
if (!IMAGE || !TOOLS || !process.env['CONTAINERS_CONF'])
  throw new Error('run this through `bash scripts/test-image.sh`: it builds the image and configures podman');

const hooks = fileCleanup();
const DOCS = readFileSync(join(PROJECT_ROOT, 'docs/service.md'), 'utf8');

// --- what docs/service.md says ------------------------------------------------------------------
const PREPARE = 'mkdir -p data config logs recovered && chown 1000:1000 config logs recovered';
const EXPORT_OPTIONS = `export OPTIONS='--full-if-older-than 4W --s3-use-deep-archive --no-compression --no-encryption --progress --archive-dir /mnt/backup/src/config --s3-use-multiprocessing --volsize 1024 --verbosity i --log-file /logfiles/log-$(date "+%Y%m%d-%H%M%S").log'`;
const EXPORT_OPTIONS_EXTRA = `export OPTIONS_EXTRA='--asynchronous-upload --s3-european-buckets --s3-multipart-chunk-size 10 --s3-use-new-style --metadata-sync-mode partial --file-prefix-archive archive-$(hostname -f)- --file-prefix-manifest manifest-$(hostname -f)- --file-prefix-signature signature-$(hostname -f)-'`;
const RUN = `docker run --rm --hostname backupname -e OPTIONS -e OPTIONS_EXTRA -e AWS_ACCESS_KEY_ID -e AWS_SECRET_ACCESS_KEY \\
  -v "$PWD/data:/mnt/backup/src/data:ro" -v "$PWD/config:/mnt/backup/src/config" -v "$PWD/logs:/logfiles"`;
const URL = 'boto3+s3://bucketname/backup-folder';
const ONE_OFF = {
  backup: `${RUN} \\\n  permafrost:latest dup /mnt/backup/src/data ${URL}`,
  status: `${RUN} \\\n  permafrost:latest dup collection-status ${URL}`,
  list: `${RUN} \\\n  permafrost:latest dup list-current-files ${URL}`,
  retention: `${RUN} \\\n  permafrost:latest dup remove-all-but-n-full 7 --force ${URL}`,
  thaw: `${RUN} -v "$PWD/recovered:/mnt/recovered" \\\n  permafrost:latest dup restore --thaw --file-to-restore smallfiles ${URL} /mnt/recovered/smallfiles`,
  restore: `${RUN} -v "$PWD/recovered:/mnt/recovered" \\\n  permafrost:latest dup restore --thaw --wait --file-to-restore smallfiles ${URL} /mnt/recovered/smallfiles`,
};
const DASHBOARD = {
  token: 'head -c 32 /dev/urandom | base64 > ui-token && chown 1000:1000 ui-token && chmod 400 ui-token',
  run: `docker run -d --name permafrost-dashboard -e PERMAFROST_LISTEN=0.0.0.0:8080 -e PERMAFROST_UI_TOKEN_FILE=/run/secrets/ui-token \\
  -v "$PWD/ui-token:/run/secrets/ui-token:ro" -p 127.0.0.1:8080:8080 permafrost:latest`,
  metrics: 'curl -H "Authorization: Bearer $(cat ui-token)" http://127.0.0.1:8080/metrics',
};
const COMPOSE = {
  prepare: 'mkdir -p config logs state && chown 1000:1000 config logs state',
  up: 'docker compose up -d',
  once: 'docker compose exec backup permafrost daemon --once daily',
  check: 'docker compose exec backup permafrost daemon --check',
  logs: 'docker compose logs -f backup',
  status: 'docker compose exec backup cat /var/lib/permafrost/status.json',
  health: 'docker inspect --format "{{.State.Health.Status}}" srcname',
  stop: 'docker compose stop',
};

// --- the parts ----------------------------------------------------------------------------------
interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

let moto: MotoServer;
let smtpPort: number;
let mailDir: string;
let shimDir: string;

function sh(script: string, cwd: string, env: Record<string, string> = {}, timeoutMs = 180_000): Promise<Result> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-ec', script], {
      cwd,
      env: { ...process.env, PATH: `${shimDir}:${TOOLS}/bin:${process.env['PATH']}`, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

async function ok(script: string, cwd: string, env: Record<string, string> = {}): Promise<Result> {
  const r = await sh(script, cwd, env);
  assert.equal(r.code, 0, `\`${script}\` exited ${r.code}:\n${r.stderr.slice(-3000)}\n${r.stdout.slice(-2000)}`);
  return r;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** aiosmtpd's Mailbox handler stores each message in a Maildir. */
async function startSmtp(): Promise<void> {
  mailDir = join(tmpDir(hooks, 'image-mail'), 'Maildir');
  smtpPort = await freePort();
  const child = spawn(
    `${TOOLS}/bin/python`,
    ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${smtpPort}`, '-c', 'aiosmtpd.handlers.Mailbox', mailDir],
    { stdio: 'ignore' },
  );
  hooks.after(() => {
    child.kill();
  });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const c = connect(smtpPort, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (up) return;
    await sleep(100);
  }
  throw new Error(`aiosmtpd did not listen on 127.0.0.1:${smtpPort}`);
}

function mails(): { subject: string; body: string }[] {
  const dir = join(mailDir, 'new');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .map((f) => {
      const text = readFileSync(join(dir, f), 'utf8');
      return { subject: /^Subject: (.*)$/m.exec(text)?.[1] ?? '', body: text };
    });
}

async function waitFor<T>(what: string, probe: () => Promise<T | null> | T | null, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(250);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  moto = await startMoto(hooks);
  await createBucket(moto.endpoint, 'bucketname');
  await createBucket(moto.endpoint, 'bucket');
  await startSmtp();
  shimDir = tmpDir(hooks, 'image-shim');
  // docker → podman. `run` gets the S3 endpoint and region (test only) and a hosts entry for its
  // --hostname (host network); `compose` is podman-compose with the test's override file.
  writeFileSync(
    join(shimDir, 'docker'),
    `#!/bin/sh
if [ "$1" = run ]; then
  shift
  host=; prev=
  for a in "$@"; do [ "$prev" = --hostname ] && host=$a; prev=$a; done
  exec podman run --env AWS_ENDPOINT_URL_S3=${moto.endpoint} --env AWS_REGION=us-east-1 \${host:+--add-host "$host:127.0.0.1"} "$@"
fi
if [ "$1" = compose ]; then
  shift
  exec podman-compose -f compose.yaml -f compose.test.yaml \${PERMAFROST_COMPOSE_EXTRA:+-f "$PERMAFROST_COMPOSE_EXTRA"} "$@"
fi
exec podman "$@"
`,
  );
  chmodSync(join(shimDir, 'docker'), 0o755);
  await sh('podman rm -f srcname >/dev/null 2>&1 || true', shimDir);
});

hooks.after(async () => {
  await sh('podman rm -f -t 0 srcname >/dev/null 2>&1 || true', '/');
});

/** The next report e-mail after `count` of them; on a timeout, the daemon's log lines about it. */
async function nextMail(count: number, output = ''): Promise<{ subject: string; body: string }> {
  try {
    return await waitFor('the report e-mail', () => (mails().length > count ? mails().at(-1)! : null), 20_000);
  } catch (err) {
    const logs = await sh('podman logs srcname 2>&1 | grep -i -e report -e mail -e smtp | tail -n 5', '/');
    const said = output
      .split('\n')
      .filter((l) => /report|mail|smtp/i.test(l))
      .slice(-5)
      .join('\n');
    throw new Error(`${(err as Error).message}; the daemon's log says:\n${said}${logs.stdout}`);
  }
}

const CREDENTIALS = { AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey };

// --- the image itself ---------------------------------------------------------------------------
test('the image: runs as uid 1000 (node), tini is PID 1, no build tools (compiler, make, python, npm, yarn, corepack, git, tsc, C headers)', async () => {
  const r = await ok(
    `podman run --rm ${IMAGE} sh -c 'id -u; id -un; cat /proc/1/comm; for t in gcc cc c++ g++ make python3 python npm npx yarn corepack git tsc; do command -v $t || true; done; ls /usr/local/include 2>/dev/null || true; ls /opt/permafrost/node_modules/typescript 2>/dev/null || true'`,
    shimDir,
  );
  const [uid, user, pid1, ...rest] = r.stdout.trim().split('\n');
  assert.equal(uid, '1000');
  assert.equal(user, 'node');
  assert.equal(pid1, 'tini');
  assert.deepEqual(rest, [], `build tools in the image: ${rest.join(', ')}`);
  const v = await ok(`podman run --rm ${IMAGE} permafrost --version`, shimDir);
  assert.match(v.stdout, /^permafrost \d/);
});

// --- the guide's one-off commands ---------------------------------------------------------------
test("the README's service commands are the ones this test runs", () => {
  const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
  for (const cmd of [COMPOSE.prepare, COMPOSE.up, COMPOSE.check, COMPOSE.once, COMPOSE.logs])
    assert.ok(readme.includes(cmd), `README.md shows:\n${cmd}`);
});

test("docs/service.md's one-off commands are the ones this test runs", () => {
  for (const cmd of [
    PREPARE,
    EXPORT_OPTIONS,
    EXPORT_OPTIONS_EXTRA,
    ...Object.values(ONE_OFF),
    ...Object.values(DASHBOARD),
    ...Object.values(COMPOSE),
  ])
    assert.ok(DOCS.includes(cmd), `docs/service.md shows:\n${cmd}`);
});

let oneOff: string;
const oneOffEnv = () => ({ ...CREDENTIALS });
const withOptions = (cmd: string) => `${EXPORT_OPTIONS}\n${EXPORT_OPTIONS_EXTRA}\n${cmd}`;

test('docker run dup: a backup with OPTIONS/OPTIONS_EXTRA, volumes in DEEP_ARCHIVE, metadata in STANDARD, the hostname in the prefixes', async () => {
  oneOff = tmpDir(hooks, 'image-oneoff');
  await ok(PREPARE, oneOff);
  mkdirSync(join(oneOff, 'data', 'smallfiles', 'sub'), { recursive: true });
  for (let i = 0; i < 20; i++) writeFileSync(join(oneOff, 'data', 'smallfiles', `f${i}.txt`), `small file ${i}\n`.repeat(i + 1));
  writeFileSync(join(oneOff, 'data', 'smallfiles', 'sub', 'deep.txt'), 'deep\n');
  writeFileSync(join(oneOff, 'data', 'big.bin'), Buffer.alloc(3_000_000, 7));
  await ok(withOptions(ONE_OFF.backup), oneOff, oneOffEnv());
  const objects = await headAll(moto.endpoint, 'bucketname', 'backup-folder/');
  const archives = objects.filter((o) => o.key.includes('/archive-backupname-duplicity-full.'));
  assert.ok(archives.length >= 1, `volumes named archive-backupname-...: ${objects.map((o) => o.key).join(', ')}`);
  for (const o of archives) assert.equal(o.storageClass, 'DEEP_ARCHIVE', o.key);
  const meta = objects.filter((o) => /\/(manifest|signature)-backupname-/.test(o.key));
  assert.equal(meta.length, 2, 'a manifest and a signature file');
  for (const o of meta) assert.equal(o.storageClass, 'STANDARD', o.key);
  assert.ok(
    readdirSync(join(oneOff, 'logs')).some((f) => /^log-\d{8}-\d{6}\.log$/.test(f)),
    'the --log-file in /logfiles',
  );
});

test('docker run dup collection-status, list-current-files, remove-all-but-n-full 7 --force', async () => {
  const status = await ok(withOptions(ONE_OFF.status), oneOff, oneOffEnv());
  assert.match(status.stdout, /Full\s/);
  const list = await ok(withOptions(ONE_OFF.list), oneOff, oneOffEnv());
  assert.match(list.stdout, /smallfiles\/sub\/deep\.txt$/m);
  assert.match(list.stdout, /big\.bin$/m);
  const before = await headAll(moto.endpoint, 'bucketname', 'backup-folder/');
  await ok(withOptions(ONE_OFF.retention), oneOff, oneOffEnv());
  assert.equal((await headAll(moto.endpoint, 'bucketname', 'backup-folder/')).length, before.length, 'one chain: nothing to delete');
});

test('docker run dup restore --thaw, then --thaw --wait, --file-to-restore: one path back from Deep Archive in two steps', async () => {
  // Step 1 asks S3 to restore the volumes that the path needs and exits 75 while they thaw
  // (moto finishes at once, S3 in hours); step 2 finds them readable and restores.
  const thaw = await sh(withOptions(ONE_OFF.thaw), oneOff, oneOffEnv());
  assert.equal(thaw.code, 75, `step 1 exits 75 (thawing):\n${thaw.stderr}${thaw.stdout}`);
  assert.ok(!existsSync(join(oneOff, 'recovered', 'smallfiles')), 'nothing restored yet');
  const r = await ok(withOptions(ONE_OFF.restore), oneOff, oneOffEnv());
  assert.ok(r.ms < 30_000, `no wait for what is readable (${r.ms} ms)`);
  const back = join(oneOff, 'recovered', 'smallfiles');
  assert.equal(readFileSync(join(back, 'f3.txt'), 'utf8'), readFileSync(join(oneOff, 'data', 'smallfiles', 'f3.txt'), 'utf8'));
  assert.equal(readFileSync(join(back, 'sub', 'deep.txt'), 'utf8'), 'deep\n');
  assert.ok(!existsSync(join(back, 'big.bin')), 'only the path asked for');
});

test('a failing $(hostname -f) in OPTIONS_EXTRA stops dup with exit 2 and says which, instead of writing archive--', async () => {
  // podman directly, without the shim's hosts entry: `hostname -f` cannot resolve the name.
  const bare = RUN.replace('docker run', `podman run --env AWS_ENDPOINT_URL_S3=${moto.endpoint} --env AWS_REGION=us-east-1`);
  const r = await sh(
    withOptions(`${bare} \\\n  permafrost:latest dup /mnt/backup/src/data boto3+s3://bucketname/no-name`),
    oneOff,
    oneOffEnv(),
  );
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^dup: OPTIONS_EXTRA: \$\(hostname -f\) failed \(exit 1\)/m);
  assert.deepEqual(await headAll(moto.endpoint, 'bucketname', 'no-name/'), []);
});

test('a cache inside the source is left out of the backup, with a notice', async () => {
  const r = await ok(withOptions(`${RUN} \\\n  permafrost:latest dup /mnt/backup/src boto3+s3://bucketname/whole`), oneOff, oneOffEnv());
  assert.match(
    r.stdout + r.stderr,
    /the cache \/mnt\/backup\/src\/config \(--archive-dir\) lies inside the source \/mnt\/backup\/src: it is not backed up/,
  );
  const list = await ok(
    withOptions(`${RUN} \\\n  permafrost:latest dup list-current-files boto3+s3://bucketname/whole`),
    oneOff,
    oneOffEnv(),
  );
  assert.match(list.stdout, /data\/big\.bin$/m);
  assert.doesNotMatch(list.stdout, / config($|\/)/m, 'not the cache');
});

// --- the dashboard -----------------------------------------------------------------------------
test('docker run with PERMAFROST_LISTEN on the documented port: the dashboard without a token, /metrics only with it', async () => {
  const dir = tmpDir(hooks, 'image-dashboard');
  await ok(DASHBOARD.token, dir);
  const token = readFileSync(join(dir, 'ui-token'), 'utf8').trim();
  // host network here: a free port stands in for 8080, which something on the machine may hold
  const port = await freePort();
  hooks.after(async () => {
    await sh('podman rm -f -t 0 permafrost-dashboard >/dev/null 2>&1 || true', '/');
  });
  await ok(DASHBOARD.run.replaceAll('8080', String(port)), dir);
  const base = `http://127.0.0.1:${port}`;
  const page = await waitFor(
    'the dashboard to listen',
    async () => {
      try {
        return await fetch(`${base}/`);
      } catch {
        return null;
      }
    },
    30_000,
  );
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<script[^>]+app\.js/, 'the built app, served by the image');
  assert.equal((await fetch(`${base}/metrics`)).status, 401, 'no token: refused');
  assert.equal((await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status, 401, 'a wrong token: refused');
  // the documented curl, as node's fetch (curl need not be installed)
  assert.ok(DASHBOARD.metrics.includes('Authorization: Bearer'));
  const metrics = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(metrics.status, 200);
  assert.match(await metrics.text(), /^# TYPE permafrost_job_last_success_timestamp_seconds gauge$/m);
  const logs = await sh('podman logs permafrost-dashboard 2>&1', '/');
  assert.ok(!logs.stdout.includes(token), 'the token is not in the log');
});

// --- the compose service ------------------------------------------------------------------------
let project: string;

function override(): string {
  return `services:
  backup:
    network_mode: host
    extra_hosts:
      - "srcname.backup:127.0.0.1"
    volumes:
      - ./data:/mnt/backup/src/data:ro
    environment:
      AWS_ENDPOINT_URL_S3: ${moto.endpoint}
      AWS_REGION: us-east-1
      AWS_ACCESS_KEY_ID: ${TEST_CREDENTIALS.accessKeyId}
      AWS_SECRET_ACCESS_KEY: ${TEST_CREDENTIALS.secretAccessKey}
      SMTP_HOST: 127.0.0.1
      SMTP_PORT: "${smtpPort}"
`;
}

async function containerExit(): Promise<number> {
  const r = await ok('podman inspect --format "{{.State.Status}} {{.State.ExitCode}}" srcname', project);
  const [state, code] = r.stdout.trim().split(' ');
  assert.equal(state, 'exited');
  return Number(code);
}

test('compose: up, then daemon --once daily backs up to DEEP_ARCHIVE (metadata STANDARD) and the report e-mail arrives', async () => {
  project = tmpDir(hooks, 'image-compose');
  copyFileSync(join(PROJECT_ROOT, 'compose.yaml'), join(project, 'compose.yaml'));
  writeFileSync(join(project, 'compose.test.yaml'), override());
  mkdirSync(join(project, 'data', 'docs'), { recursive: true });
  for (let i = 0; i < 10; i++) writeFileSync(join(project, 'data', 'docs', `d${i}.txt`), `document ${i}\n`.repeat(1000));
  await ok(COMPOSE.prepare, project);
  await ok(COMPOSE.up, project);
  const mailsBefore = mails().length;
  const once = await ok(COMPOSE.once, project);
  const objects = await headAll(moto.endpoint, 'bucket', 'backup-path/');
  const archives = objects.filter((o) => o.key.includes('/archive-srcname.backup-duplicity-full.'));
  assert.ok(archives.length >= 1, objects.map((o) => o.key).join(', '));
  for (const o of archives) assert.equal(o.storageClass, 'DEEP_ARCHIVE', o.key);
  const meta = objects.filter((o) => /\/(manifest|signature)-srcname\.backup-duplicity-full/.test(o.key));
  assert.equal(meta.length, 2);
  for (const o of meta) assert.equal(o.storageClass, 'STANDARD', o.key);
  const got = await nextMail(mailsBefore, once.stderr + once.stdout);
  assert.equal(got.subject, 'Backup report: srcname.backup - daily - OK');
  assert.match(got.body, /Job 200: `dup \/mnt\/backup\/src boto3\+s3:\/\/bucket\/backup-path`/);
  assert.match(got.body, /Backup: full, /);
});

test('compose: a second run makes an incremental; the status file and the health check say ok', async () => {
  await ok(COMPOSE.once, project);
  const objects = await headAll(moto.endpoint, 'bucket', 'backup-path/');
  const inc = objects.filter((o) => o.key.includes('/archive-srcname.backup-duplicity-inc.'));
  assert.ok(inc.length >= 1, `an incremental volume: ${objects.map((o) => o.key).join(', ')}`);
  const status = JSON.parse((await ok(COMPOSE.status, project)).stdout) as { jobs: Record<string, { status: string }> };
  assert.equal(status.jobs['200']?.status, 'ok');
  assert.equal(status.jobs['300']?.status, 'ok');
  const health = await sh('podman healthcheck run srcname', project);
  assert.equal(health.code, 0, `healthy: ${health.stdout}${health.stderr}`);
  const inspect = await ok(COMPOSE.health, project);
  assert.equal(inspect.stdout.trim(), 'healthy');
  const check = await ok(COMPOSE.check, project);
  assert.match(check.stdout, /^job 200 \(daily\): permafrost --json .* \/mnt\/backup\/src boto3\+s3:\/\/bucket\/backup-path$/m);
  // logs -f follows until interrupted: 5 s of it
  const logs = await sh(`timeout 5 ${COMPOSE.logs} || true`, project);
  assert.match(logs.stdout + logs.stderr, /permafrost daemon: next run: daily at /);
  const top = await ok('podman exec srcname sh -c "cat /proc/1/comm; id -u"', project);
  assert.deepEqual(top.stdout.trim().split('\n'), ['tini', '1000']);
});

test('compose: SIGTERM to the idle daemon stops it at once with exit 0', async () => {
  const r = await ok(COMPOSE.stop, project);
  assert.ok(r.ms < 15_000, `stopped in ${r.ms} ms`);
  assert.equal(await containerExit(), 0);
  const logs = await ok('podman logs srcname', project);
  assert.match(logs.stderr + logs.stdout, /SIGTERM: stopping/);
});

test('compose: SIGTERM to a busy daemon: the job gets the grace period, then SIGTERM; ERROR report, exit 0', async () => {
  // A period every second whose job outlasts the grace period.
  writeFileSync(
    join(project, 'compose.busy.yaml'),
    `services:
  backup:
    environment:
      CRONTAB_BUSY: "* * * * * *"
      JOB_100_WHAT: sleep 300
      JOB_100_WHEN: busy
      PERMAFROST_STOP_GRACE_SECONDS: "2"
`,
  );
  const env = { PERMAFROST_COMPOSE_EXTRA: 'compose.busy.yaml' };
  await ok('docker compose up -d --force-recreate', project, env);
  await waitFor(
    'job 100 to run',
    async () => {
      const r = await sh(COMPOSE.status, project, env);
      return r.code === 0 && /"job": 100/.test(r.stdout) ? true : null;
    },
    30_000,
  );
  const mailsBefore = mails().length;
  const r = await ok(COMPOSE.stop, project, env);
  assert.ok(r.ms >= 2_000 && r.ms < 40_000, `stopped after the 2 s grace period (${r.ms} ms)`);
  assert.equal(await containerExit(), 0);
  const got = await nextMail(mailsBefore);
  assert.equal(got.subject, 'Backup report: srcname.backup - busy - ERROR');
  assert.match(got.body, /interrupted/i);
});

test('compose up without making the folders first: docker creates them as root; one line each with the fix, no exit (no restart loop), unhealthy; it starts once they are chowned', async () => {
  const fresh = tmpDir(hooks, 'image-compose-fresh');
  copyFileSync(join(PROJECT_ROOT, 'compose.yaml'), join(fresh, 'compose.yaml'));
  writeFileSync(join(fresh, 'compose.test.yaml'), override());
  mkdirSync(join(fresh, 'data'));
  await ok('podman rm -f -t 0 srcname >/dev/null 2>&1 || true', fresh);
  await ok(COMPOSE.up, fresh);
  const logs = () => sh('podman logs srcname 2>&1', fresh).then((r) => r.stdout);
  await waitFor('the message', async () => (/waiting until it is writable/.test(await logs()) ? true : null), 30_000);
  const said = await logs();
  for (const folder of ['/var/lib/permafrost', '/mnt/backup/config', '/logfiles']) {
    const lines = said.split('\n').filter((l) => l.includes(`cannot write ${folder}:`));
    assert.equal(lines.length, 1, said);
    assert.match(
      lines[0]!,
      new RegExp(
        `EACCES \\(owned by uid 0, this process runs as uid 1000\\); fix: on the host, \`chown -R 1000:1000\` the folder mounted at ${folder}$`,
      ),
    );
  }
  await sleep(2000);
  const running = await ok('podman inspect --format "{{.State.Status}} {{.RestartCount}}" srcname', fresh);
  assert.equal(running.stdout.trim(), 'running 0');
  const health = await sh('podman healthcheck run srcname', fresh);
  assert.notEqual(health.code, 0, 'unhealthy');
  await ok('chown 1000:1000 config logs state', fresh);
  await waitFor('the start', async () => (/writable now: starting/.test(await logs()) ? true : null), 30_000);
  await waitFor('the status file', () => (existsSync(join(fresh, 'state', 'status.json')) ? true : null), 10_000);
  const healthy = await sh('podman healthcheck run srcname', fresh);
  assert.equal(healthy.code, 0, healthy.stdout + healthy.stderr);
  await ok('podman rm -f -t 0 srcname', fresh);
});
