/** `permafrost daemon`'s own command line and its start-up checks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { runPermafrost } from '../support/permafrost.ts';
import { baseEnv, runDaemon } from '../daemon/helpers.ts';

const hooks = fileCleanup();

function env(extra: Record<string, string> = {}): Record<string, string> {
  const home = tmpDir(hooks, 'daemon-cli');
  return baseEnv(home, { PERMAFROST_STATE_DIR: join(home, 'state'), ...extra });
}

test('--help prints the daemon usage; `permafrost --help` names the daemon', async () => {
  const r = await runDaemon(['--help'], env());
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Usage: permafrost daemon \[--once PERIOD\] \[--check\]/);
  const main = await runPermafrost(['--help']);
  assert.match(main.stdout, /permafrost daemon \[options\] +runs JOB_<N>_WHAT\/WHEN on a schedule/);
  assert.match(main.stdout, /^ +60 +daemon \(one period run\): at least one job failed/m);
});

test('bad daemon options exit 2 with one line', async () => {
  for (const [argv, message] of [
    [['--bogus'], /Unknown option '--bogus'/],
    [['--once'], /--once/],
    [['extra'], /positional/i],
    [['--check', '--once', 'daily'], /--once and --check do not go together/],
    [['--once', 'fortnightly'], /--once "fortnightly": no such period \(15min, hourly, daily, weekly, monthly\)/],
  ] as const) {
    const r = await runDaemon(argv, env({ JOB_1_WHAT: 'true', JOB_1_WHEN: 'daily' }));
    assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});

test('configuration problems are all reported before anything runs (exit 2), secrets redacted', async () => {
  const e = env({
    PASSPHRASE: 'topsecret-passphrase',
    JOB_1_WHAT: 'echo ran > "$HOME/ran"',
    JOB_1_WHEN: 'daily',
    JOB_2_WHAT: 'dup $SRC $DST',
    JOB_2_WHEN: 'daily',
    JOB_3_WHAT: 'x',
    JOB_3_WHEN: 'dayly',
    SRC: '/src',
    DST: 'file:///dst',
    OPTIONS: '--no-such-option topsecret-passphrase',
  });
  const r = await runDaemon(['--once', 'daily'], e);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /JOB_3_WHEN: unknown period "dayly"/);
  assert.doesNotMatch(r.stderr, /topsecret-passphrase/);
  assert.ok(!existsSync(join(e['HOME']!, 'ran')), 'no job ran');

  const r2 = await runDaemon(['--once', 'daily'], { ...e, JOB_3_WHEN: 'daily' });
  assert.equal(r2.code, 2, r2.stderr);
  assert.match(r2.stderr, /^permafrost daemon: JOB_2_WHAT: .*no-such-option/m);
  assert.doesNotMatch(r2.stderr, /topsecret-passphrase/);
  assert.ok(!existsSync(join(e['HOME']!, 'ran')), 'no job ran');
});

test('--once on a period without jobs does nothing (exit 0); --check lists periods and jobs', async () => {
  const e = env({
    JOB_1_WHAT: 'echo hi',
    JOB_1_WHEN: 'daily',
    JOB_2_WHAT: "dup collection-status --name 'job two' file:///srv/backups/two",
    JOB_2_WHEN: 'weekly',
    CRONTAB_DAILY: '15 3 * * *',
    EMAIL_FROM: 'a@x',
    EMAIL_TO: 'b@x',
    SMTP_REPORT_SUCCESS: 'false',
  });
  const r = await runDaemon(['--once', 'monthly'], e);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /monthly: nothing to do/);
  const c = await runDaemon(['--check'], e);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stdout, /^period daily: 15 3 \* \* \*$/m);
  assert.match(c.stdout, /^job 1 \(daily\): sh -c echo hi$/m);
  // shell-quoted, so that the line runs as printed
  assert.match(c.stdout, /^job 2 \(weekly\): permafrost collection-status --name 'job two' file:\/\/\/srv\/backups\/two$/m);
  assert.match(c.stdout, /^next: .* 03:15:00 GMT\+0000 .*: daily$/m);
  assert.match(c.stdout, /^e-mail: b@x via smtp:25 \(failures only\)$/m);
});
