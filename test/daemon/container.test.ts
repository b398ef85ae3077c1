/**
 * The container, without a docker engine: the Dockerfile checked through a parser (dockerfile-ast)
 * for what the image must be (multi-stage, pinned bases, non-root, tini as PID 1, no secrets in
 * ENV/ARG, apt lists cleaned), its `dup` script run as a shell would run it, and compose.yaml
 * compared with the users' guide's docker-compose example and fed to `permafrost daemon --check`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Copy, DockerfileParser, type Instruction } from 'dockerfile-ast';
import { parse as parseYaml } from 'yaml';
import { PROJECT_ROOT } from '../support/duplicity.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { runDaemon } from './helpers.ts';

const hooks = fileCleanup();
const DOCKERFILE = readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
const dockerfile = DockerfileParser.parse(DOCKERFILE);

/** The instructions of each stage (a FROM starts one). */
function stages(): Instruction[][] {
  const out: Instruction[][] = [];
  for (const i of dockerfile.getInstructions()) {
    if (i.getKeyword() === 'FROM') out.push([]);
    out.at(-1)?.push(i);
  }
  return out;
}

/** The value of a build ARG declared before the first FROM. */
function initialArg(name: string): string | undefined {
  for (const a of dockerfile.getInitialARGs()) {
    const p = a.getProperty();
    if (p?.getName() === name) return p.getValue() ?? undefined;
  }
  return undefined;
}

function args(i: Instruction): string[] {
  return i.getArguments().map((a) => a.getValue());
}

test('Dockerfile: multi-stage, every base image pinned to an exact version, the runtime stage copies only build output', () => {
  const st = stages();
  assert.ok(st.length >= 2, 'multi-stage');
  for (const stage of st) {
    let image = args(stage[0]!)[0]!;
    if (image === 'scratch') continue;
    image = image.replace(/^\$\{?([A-Za-z_]+)\}?$/, (_m, name: string) => initialArg(name) ?? image);
    const digest = /@sha256:[0-9a-f]{64}$/.test(image);
    const tag = /:([^:/@]+)$/.exec(image)?.[1];
    assert.ok(digest || (tag !== undefined && /^\d+\.\d+\.\d+/.test(tag)), `base image ${image} is pinned to an exact version or digest`);
    assert.notEqual(tag, 'latest');
  }
  // The runtime's files are assembled in the stage `files`, then copied whole into the last one.
  const last = st.at(-1)!;
  assert.deepEqual(args(last[0]!), ['scratch', 'AS', 'runtime']);
  assert.deepEqual(
    last.filter((i): i is Copy => i instanceof Copy).map((c) => [c.getFromFlag()?.getValue(), ...args(c)]),
    [['files', '/', '/']],
  );
  const runtime = st.find((s) => /AS files$/i.test(s[0]!.getArgumentsContent() ?? ''))!;
  const copies = runtime
    .filter((i): i is Copy => i instanceof Copy)
    .map((c) => ({ from: c.getFromFlag()?.getValue() ?? null, src: args(c)[0] }));
  assert.ok(
    copies.some((c) => c.from === 'build' && c.src === '/app/dist'),
    'dist/ comes from the build stage',
  );
  assert.ok(
    copies.some((c) => c.from === 'deps' && c.src === '/app/node_modules'),
    'node_modules from the production-only stage',
  );
  assert.ok(!copies.some((c) => c.from === null && (c.src === 'src' || c.src === '.')), 'no sources in the runtime image');
  const deps = st.find((s) => /AS deps$/i.test(s[0]!.getArgumentsContent() ?? ''))!;
  assert.ok(deps.some((i) => i.getKeyword() === 'RUN' && /npm ci --omit=dev/.test(i.getArgumentsContent() ?? '')));
});

test('Dockerfile: non-root user, tini as the entrypoint, the daemon as the command', () => {
  const runtime = stages().at(-1)!;
  const users = runtime.filter((i) => i.getKeyword() === 'USER').map((i) => args(i)[0]!);
  assert.ok(users.length > 0, 'a USER instruction');
  assert.ok(!/^(root|0)(:|$)/.test(users.at(-1)!), `the image runs as ${users.at(-1)}, not root`);
  const entry = runtime.filter((i) => i.getKeyword() === 'ENTRYPOINT').at(-1)!;
  const entryJson = JSON.parse(entry.getArgumentsContent()!) as string[];
  assert.equal(entryJson[0], '/usr/bin/tini', 'exec form, tini first (signals reach the daemon)');
  assert.ok(
    dockerfile
      .getInstructions()
      .some((i) => i.getKeyword() === 'RUN' && /apt-get install[^&]*\btini\b/.test(i.getArgumentsContent() ?? '')),
    "Debian's tini is installed",
  );
  const health = runtime.filter((i) => i.getKeyword() === 'HEALTHCHECK').at(-1)!;
  assert.match(health.getArgumentsContent()!, /CMD \["node", "\/opt\/permafrost\/bin\/permafrost\.js", "daemon", "--health"\]$/);
  const cmd = JSON.parse(
    runtime
      .filter((i) => i.getKeyword() === 'CMD')
      .at(-1)!
      .getArgumentsContent()!,
  ) as string[];
  assert.deepEqual(cmd.slice(-2), ['/opt/permafrost/bin/permafrost.js', 'daemon']);
});

test('Dockerfile: no secret in ENV or ARG; apt without recommends and without leftover lists', () => {
  const secretName = /PASS|SECRET|TOKEN|KEY|CREDENTIAL/i;
  for (const i of dockerfile.getInstructions()) {
    const kw = i.getKeyword();
    if (kw === 'ENV' || kw === 'ARG') {
      const names =
        kw === 'ENV'
          ? (i as unknown as { getProperties(): { getName(): string }[] }).getProperties().map((p) => p.getName())
          : [args(i)[0]!.split('=')[0]!];
      for (const n of names) assert.ok(!secretName.test(n), `${kw} ${n} looks like a secret`);
    }
    if (kw === 'RUN' && /apt-get install/.test(i.getArgumentsContent() ?? '')) {
      const body = i.getArgumentsContent()!;
      assert.match(body, /--no-install-recommends/);
      const stage = stages().find((st) => st.includes(i))!;
      assert.ok(
        stage.some((x) => x.getKeyword() === 'ARG' && x.getArgumentsContent() === 'DEBIAN_FRONTEND=noninteractive'),
        'DEBIAN_FRONTEND=noninteractive for apt (an ARG: not left in the image)',
      );
      assert.match(body, /apt-get update/);
      assert.match(body, /rm -rf \/var\/lib\/apt\/lists/);
    }
  }
  const ignore = readFileSync(join(PROJECT_ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim());
  for (const p of ['.git', 'node_modules', '.cache', 'dist']) assert.ok(ignore.includes(p), `.dockerignore lists ${p}`);
  // the CLI runs as the bundle of scripts/build-cli.mjs (bin/permafrost.js): the build stage makes it
  assert.ok(ignore.includes('!scripts/build-cli.mjs'), '.dockerignore lets scripts/build-cli.mjs in');
  const build = stages().find((s) => /AS build$/i.test(s[0]!.getArgumentsContent() ?? ''))!;
  assert.ok(
    build.some((i) => i.getKeyword() === 'RUN' && /node scripts\/build-cli\.mjs/.test(i.getArgumentsContent() ?? '')),
    'the build stage bundles the CLI',
  );
});

test("the image's dup (bin/dup.js): OPTIONS and OPTIONS_EXTRA expanded as the daemon's jobs, a failing substitution refused", () => {
  const run = stages()
    .flat()
    .find((i) => i.getKeyword() === 'RUN' && /\/usr\/local\/bin\/dup\b/.test(i.getArgumentsContent() ?? ''))!;
  assert.match(run.getArgumentsContent()!, /ln -s \/opt\/permafrost\/bin\/dup\.js \/usr\/local\/bin\/dup/);
  const dup = join(PROJECT_ROOT, 'bin', 'dup.js');
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: tmpDir(hooks, 'dup-home') };
  // `$(echo i)` must have become `i`: `--verbosity $(echo` would be refused (exit 2).
  const out = execFileSync(process.execPath, [dup, '--version'], {
    env: { ...env, OPTIONS: '--verbosity $(echo i)', OPTIONS_EXTRA: '--name "a b"' },
  }).toString();
  assert.match(out, /^permafrost \d/);
  let failed: { status: number; stderr: Buffer } | undefined;
  try {
    execFileSync(process.execPath, [dup, '--version'], {
      env: { ...env, OPTIONS_EXTRA: '--file-prefix-archive archive-$(echo no name >&2; exit 1)-' },
      stdio: 'pipe',
    });
  } catch (err) {
    failed = err as { status: number; stderr: Buffer };
  }
  assert.equal(failed?.status, 2);
  assert.equal(
    failed?.stderr.toString(),
    'dup: OPTIONS_EXTRA: $(echo no name >&2; exit 1) failed (exit 1): no name; not run with an empty word in its place\n',
  );
});

/** The guide's docker-compose environment (shared/reference/users-guide-duplicity-glacier.txt), as written there. */
const GUIDE_ENV: Readonly<Record<string, string>> = {
  JOB_200_WHAT: 'dup $$SRC $$DST',
  JOB_200_WHEN: 'daily',
  JOB_300_WHAT: 'dup remove-all-but-n-full 7 $$DST --force',
  JOB_300_WHEN: 'daily',
  DST: 'boto3+s3://bucket/backup-path',
  EMAIL_FROM: 'user@nobody.com',
  EMAIL_TO: 'user@nobody.com',
  // the guide's, but for the cache: /mnt/backup/src/config lies inside SRC
  OPTIONS:
    '--s3-use-deep-archive --no-encryption --archive-dir /mnt/backup/config --s3-use-multiprocessing --volsize 1024 --verbosity i --log-file /logfiles/log-$$(date "+%Y%m%d-%H%M%S").log --full-if-older-than 4W --asynchronous-upload',
  OPTIONS_EXTRA:
    '--s3-european-buckets --s3-multipart-chunk-size 10 --s3-use-new-style --metadata-sync-mode partial --file-prefix-archive archive-$$(hostname -f)- --file-prefix-manifest manifest-$$(hostname -f)- --file-prefix-signature signature-$$(hostname -f)-',
};
const GUIDE_MOUNTS = ['/mnt/backup/config', '/mnt/backup/src/data:ro', '/logfiles'];

interface ComposeService {
  image?: string;
  hostname?: string;
  stop_grace_period?: string;
  environment?: Record<string, string>;
  volumes?: string[];
}

test("compose.yaml mirrors the guide's docker-compose example, and the daemon accepts its environment", async () => {
  const compose = parseYaml(readFileSync(join(PROJECT_ROOT, 'compose.yaml'), 'utf8')) as { services: Record<string, ComposeService> };
  const svc = compose.services['backup']!;
  assert.equal(svc.hostname, 'srcname.backup');
  for (const [k, v] of Object.entries(GUIDE_ENV)) assert.equal(svc.environment?.[k], v, `${k} as in the guide`);
  // The guide's SMTP_HOST: localhost is the container itself on compose's network: never delivered.
  assert.doesNotMatch(svc.environment?.['SMTP_HOST'] ?? '', /^(localhost|127\.|::1)/, 'SMTP_HOST is not the container itself');
  for (const m of GUIDE_MOUNTS)
    assert.ok(
      svc.volumes?.some((v) => v.endsWith(`:${m}`)),
      `a volume at ${m}`,
    );
  const grace = /^(\d+)m$/.exec(svc.stop_grace_period ?? '');
  assert.ok(grace && Number(grace[1]) * 60 > 300, 'docker waits longer than the daemon grace period (300 s) before SIGKILL');
  for (const k of Object.keys(svc.environment ?? {})) assert.ok(!/SECRET|PASS/.test(k), `no secret in compose.yaml (${k})`);

  // What the container sees: compose turns $$ into $, the image adds its ENV.
  const imageEnv: Record<string, string> = {};
  for (const i of stages()
    .at(-1)!
    .filter((x) => x.getKeyword() === 'ENV')) {
    for (const p of (i as unknown as { getProperties(): { getName(): string; getValue(): string | null }[] }).getProperties())
      imageEnv[p.getName()] = p.getValue() ?? '';
  }
  assert.equal(imageEnv['SRC'], '/mnt/backup/src', "the image's SRC, as docker-duplicity's");
  const work = tmpDir(hooks, 'compose-env');
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: work,
    TZ: 'UTC',
    ...imageEnv,
    PERMAFROST_STATE_DIR: join(work, 'state'),
  };
  for (const [k, v] of Object.entries(svc.environment ?? {})) env[k] = v.replace(/\$\$/g, '$');
  const r = await runDaemon(['--check'], env);
  assert.equal(r.code, 0, r.stderr);
  const host = execFileSync('hostname', ['-f']).toString().trim();
  const job200 = r.stdout.split('\n').find((l) => l.startsWith('job 200 (daily): '))!;
  assert.match(
    job200,
    new RegExp(
      `^job 200 \\(daily\\): permafrost --json --s3-use-deep-archive .* --log-file /logfiles/log-\\d{8}-\\d{6}\\.log .* --file-prefix-archive archive-${host}- .* /mnt/backup/src boto3\\+s3://bucket/backup-path$`,
    ),
  );
  assert.match(r.stdout, /^job 300 \(daily\): permafrost .* remove-all-but-n-full 7 boto3\+s3:\/\/bucket\/backup-path --force$/m);
  assert.match(r.stdout, /^period daily: 0 2 \* \* MON-SAT$/m);
  assert.match(r.stdout, /^e-mail: user@nobody\.com via smtp:25$/m);
});

test('package-lock.json gives every package its registry URL ("resolved"), so npm ci in the image build resolves nothing', () => {
  const lock = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string; resolved?: string; integrity?: string; link?: boolean }>;
  };
  const missing = Object.entries(lock.packages)
    .filter(
      ([path, e]) =>
        path !== '' && !e.link && e.version !== undefined && !/^https:\/\/registry\.npmjs\.org\/.+\.tgz$/.test(e.resolved ?? ''),
    )
    .map(([path]) => path);
  assert.deepEqual(missing, [], 'entries without "resolved" (a user .npmrc with omit-lockfile-registry-resolved=true wrote them)');
  assert.match(readFileSync(join(PROJECT_ROOT, '.npmrc'), 'utf8'), /^omit-lockfile-registry-resolved=false$/m);
});
