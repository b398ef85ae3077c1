/**
 * What a run loads at start-up (docs/performance.md, "Start-up"): a file:// backup without
 * encryption loads neither the AWS SDK, nor openpgp.js, nor the progress renderer, nor the dashboard's
 * server libraries, nor the code of the other verbs. A module resolve hook writes down every file
 * Node resolves in the CLI's process and its threads; the files of the bundle stand for the src/
 * modules they hold (test/support/loaded-modules.ts); the positive controls show that the same
 * hook sees each of these loaded when a run needs it, so the checks can fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpDir } from '../support/tmp.ts';
import { PERMAFROST_BIN } from '../support/permafrost.ts';
import { BUNDLE_MAIN_URL, sourceModules } from '../support/loaded-modules.ts';

const HOOK = `import { registerHooks } from 'node:module';
import { appendFileSync } from 'node:fs';
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); appendFileSync(process.env.MODULES_LOG, r.url + '\\n'); return r; } });
`;

/** Runs the CLI (this Node, bin/permafrost.js) with the hook; the files it resolved, and the modules they hold. */
function modulesOf(
  home: string,
  label: string,
  args: string[],
  env: Record<string, string> = {},
): { files: string[]; urls: string[]; status: number | null; stderr: string } {
  const hook = join(home, 'record-modules.mjs');
  writeFileSync(hook, HOOK);
  const log = join(home, `${label}.modules`);
  writeFileSync(log, '');
  const r = spawnSync(process.execPath, ['--import', hook, PERMAFROST_BIN, ...args], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home, TMPDIR: home, MODULES_LOG: log, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const files = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  return { files, urls: sourceModules(files), status: r.status, stderr: r.stderr };
}

const LIBS: Record<string, RegExp> = {
  'the AWS SDK': /\/node_modules\/@(aws-sdk|smithy|aws-crypto)\//,
  'openpgp.js': /\/node_modules\/openpgp\//,
  'the progress renderer': /\/src\/cli\/progress\.ts$/,
  'the dashboard server': /\/node_modules\/(hono|@hono\/node-server|prom-client)\//,
  'the mailer': /\/node_modules\/nodemailer\//,
};
/** Code of other verbs and of the daemon, which a backup never runs. */
const OTHER_VERBS =
  /\/src\/(cli\/commands\/(restore|status|list|verify|cleanup|thaw|retention|estimate|daemon)-command\.ts|ops\/(restore|verify|status\/status\.ts|thaw|retention|cleanup|list|estimate)|daemon\/|dashboard\/|pricing\/)/;

test('a file:// backup without encryption loads no AWS SDK, openpgp.js, progress renderer, server libraries, nor other verbs (the checks can fail)', (t) => {
  const home = tmpDir(t, 'startup-modules');
  const src = join(home, 'src');
  mkdirSync(join(src, 'd'), { recursive: true });
  writeFileSync(join(src, 'd', 'a.txt'), 'a small file\n');
  const target = `file://${join(home, 'target')}`;
  const common = ['--no-encryption', '--archive-dir', join(home, 'cache'), '--name', 'startup'];

  for (const verb of ['full', 'incremental']) {
    const run = modulesOf(home, verb, [verb, ...common, src, target]);
    assert.equal(run.status, 0, run.stderr);
    assert.ok(run.files.includes(BUNDLE_MAIN_URL), 'bin/permafrost.js runs the bundle (build it with npm run build)');
    assert.ok(
      run.urls.some((u) => u.endsWith('/src/ops/backup/backup.ts')),
      'the hook saw the backup load',
    );
    assert.ok(
      run.urls.some((u) => u.endsWith('/src/archive/thread-file-worker.ts')),
      'the hook sees the modules of the worker thread too',
    );
    for (const [name, re] of Object.entries(LIBS))
      assert.deepEqual(
        run.urls.filter((u) => re.test(u)),
        [],
        `${verb} loads ${name}`,
      );
    assert.deepEqual(
      run.urls.filter((u) => OTHER_VERBS.test(u)),
      [],
      `${verb} loads other verbs' code`,
    );
  }

  // positive controls: the same hook sees each of them when a run needs it
  const progress = modulesOf(home, 'progress', ['incremental', '--progress', ...common, src, target]);
  assert.equal(progress.status, 0, progress.stderr);
  assert.ok(
    progress.urls.some((u) => LIBS['the progress renderer']!.test(u)),
    '--progress loads the progress renderer',
  );

  const restore = modulesOf(home, 'restore', ['restore', ...common, target, join(home, 'restored')]);
  assert.equal(restore.status, 0, restore.stderr);
  assert.ok(
    restore.urls.some((u) => OTHER_VERBS.test(u)),
    'a restore loads its own code',
  );

  // an S3 target loads the SDK for its first request (here to a closed port, so it fails fast)
  const s3 = modulesOf(
    home,
    's3',
    ['collection-status', '--s3-endpoint-url', 'http://127.0.0.1:9', '--num-retries', '1', ...common, 's3://bucket/x'],
    {
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
  );
  assert.notEqual(s3.status, 0, 'nothing listens there');
  assert.ok(
    s3.urls.some((u) => LIBS['the AWS SDK']!.test(u)),
    `an s3:// run loads the AWS SDK (${s3.stderr.trim()})`,
  );
});
