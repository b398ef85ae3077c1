/**
 * Stopping the daemon: SIGTERM during a backup (grace 0: forwarded at once) leaves the target
 * restorable as of the previous backup, and the next run works; with a grace period the running
 * job finishes and no further job starts; an idle scheduler exits at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { runPermafrost } from '../support/permafrost.ts';
import { assertSameTree } from '../support/compare.ts';
import { baseEnv, runDaemon, spawnDaemon, startSmtp, waitFor } from './helpers.ts';

const hooks = fileCleanup();
const SMTP = { user: 'reporter', pass: 'smtp-secret-sig' };

/** Backup times are whole seconds, and a backup must be later than the last one. */
function nextSecond(): Promise<void> {
  return new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 50));
}

function volumes(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((n) => /\.vol\d+\.difftar/.test(n)) : [];
}

test('SIGTERM during a backup: the job is stopped, the target restores the previous backup, the next run completes it', async () => {
  const smtp = await startSmtp(hooks, SMTP);
  const work = tmpDir(hooks, 'daemon-sigterm');
  const src = join(work, 'src');
  const dst = join(work, 'dst');
  mkdirSync(join(src, 'big'), { recursive: true });
  writeFileSync(join(src, 'small.txt'), 'before the interrupted run\n');
  const env = baseEnv(work, {
    SRC: src,
    DST: `file://${dst}`,
    OPTIONS: `--no-encryption --volsize 1 --archive-dir ${join(work, 'cache')}`,
    PERMAFROST_STATE_DIR: join(work, 'state'),
    PERMAFROST_STOP_GRACE_SECONDS: '0',
    JOB_10_WHAT: 'dup $SRC $DST',
    JOB_10_WHEN: 'daily',
    JOB_20_WHAT: 'echo after >> "$HOME/after.txt"',
    JOB_20_WHEN: 'daily',
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(smtp.port),
    SMTP_USER: SMTP.user,
    SMTP_PASS: SMTP.pass,
    EMAIL_FROM: 'backup@example.com',
    EMAIL_TO: 'ops@example.com',
    NODE_EXTRA_CA_CERTS: smtp.caFile,
  });
  const first = await runDaemon(['--once', 'daily'], env);
  assert.equal(first.code, 0, first.stderr);
  const firstState = await restoreAndCompare(dst, join(work, 'restored-0'), src);
  const volumesBefore = volumes(dst).length;

  // 48 MiB that does not compress, in 1 MiB volumes: a backup that takes a while.
  for (let i = 0; i < 48; i++) writeFileSync(join(src, 'big', `f${String(i).padStart(2, '0')}.bin`), randomBytes(1 << 20));
  writeFileSync(join(src, 'small.txt'), 'changed in the interrupted run\n');
  await nextSecond();
  const d = spawnDaemon(['--once', 'daily'], env);
  let exited = false;
  void d.done.then(() => {
    exited = true;
  });
  await waitFor(
    'the backup to upload a few volumes',
    () => {
      if (exited) throw new Error(`the daemon ended before the test stopped it:\n${d.stderr()}`);
      return volumes(dst).length >= volumesBefore + 3 ? true : undefined;
    },
    120_000,
  );
  d.child.kill('SIGTERM');
  const r = await d.done;
  assert.equal(r.code, 60, `an interrupted job makes --once exit 60\n${r.stderr}`);
  assert.match(r.stderr, /SIGTERM: stopping; waiting up to 0s for the running job/);
  assert.match(r.stderr, /daily: job 10 interrupted/);
  assert.equal(readFileSync(join(work, 'after.txt'), 'utf8'), 'after\n', 'job 20 ran in the first run only: no job starts after the stop');
  const status = JSON.parse(readFileSync(join(work, 'state', 'status.json'), 'utf8'));
  assert.equal(status.jobs['10'].status, 'interrupted');
  assert.equal(status.jobs['10'].signal, 'SIGTERM');
  assert.equal(status.daemon.state, 'stopped');
  assert.ok(volumes(dst).length < volumesBefore + 48, 'the backup did not finish');

  const mail = smtp.mails.at(-1)!;
  assert.match(mail.subject, / - daily - ERROR$/);
  assert.match(mail.body, /^Interrupted: the daemon was stopped \(SIGTERM\) during this job\./m);
  assert.match(mail.body, /^Job 20: `echo after >> "\$HOME\/after\.txt"`\nNot started: the daemon was stopping \(SIGTERM\)\.$/m);

  // The target restores the state of the first backup: the interrupted set is ignored.
  await restoreAndCompare(dst, join(work, 'restored-1'), firstState);

  // The next run backs everything up, and the target restores the new state.
  await nextSecond();
  const next = await runDaemon(['--once', 'daily'], env);
  assert.equal(next.code, 0, next.stderr);
  await restoreAndCompare(dst, join(work, 'restored-2'), src);
  assert.equal(readFileSync(join(work, 'after.txt'), 'utf8'), 'after\nafter\n');
});

test('SIGTERM with a grace period: the running job finishes, the later ones do not start', async () => {
  const work = tmpDir(hooks, 'daemon-grace');
  const started = join(work, 'started');
  const env = baseEnv(work, {
    PERMAFROST_STATE_DIR: join(work, 'state'),
    PERMAFROST_STOP_GRACE_SECONDS: '60',
    STARTED: started,
    JOB_1_WHAT: 'touch "$STARTED"; sleep 1; echo one >> "$HOME/order"',
    JOB_1_WHEN: 'daily',
    JOB_2_WHAT: 'echo two >> "$HOME/order"',
    JOB_2_WHEN: 'daily',
  });
  const d = spawnDaemon(['--once', 'daily'], env);
  await waitFor('job 1 to start', () => (existsSync(started) ? true : undefined));
  d.child.kill('SIGTERM');
  const r = await d.done;
  assert.equal(r.code, 60, r.stderr);
  assert.equal(readFileSync(join(work, 'order'), 'utf8'), 'one\n');
  const status = JSON.parse(readFileSync(join(work, 'state', 'status.json'), 'utf8'));
  assert.equal(status.jobs['1'].status, 'ok');
  assert.equal(status.jobs['2'], undefined);
  assert.equal(status.periods.daily.result, 'ERROR');
});

test('an idle scheduler says when it runs next and stops at once on SIGTERM (exit 0)', async () => {
  const work = tmpDir(hooks, 'daemon-idle');
  const statusFile = join(work, 'status.json');
  const env = baseEnv(work, {
    PERMAFROST_STATUS_FILE: statusFile,
    PERMAFROST_LOCK_FILE: join(work, 'run.lock'),
    JOB_1_WHAT: 'true',
    JOB_1_WHEN: 'monthly',
  });
  const d = spawnDaemon([], env);
  const idle = await waitFor('the status file to show the next run', () => {
    try {
      const s = JSON.parse(readFileSync(statusFile, 'utf8'));
      return s.daemon?.state === 'idle' && s.daemon.nextRun ? s : undefined;
    } catch {
      return undefined;
    }
  });
  // docker-duplicity's monthly: 05:00 on the 1st (TZ=UTC here).
  const now = new Date();
  let expected = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1, 5);
  if (expected <= now.getTime()) expected = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1, 5);
  assert.equal(idle.daemon.nextRun.at, new Date(expected).toISOString());
  assert.deepEqual(idle.daemon.nextRun.periods, ['monthly']);
  const t0 = Date.now();
  d.child.kill('SIGTERM');
  const r = await d.done;
  assert.equal(r.code, 0, r.stderr);
  assert.ok(Date.now() - t0 < 5000, 'stops without waiting for the next firing');
  assert.equal(JSON.parse(readFileSync(statusFile, 'utf8')).daemon.state, 'stopped');
});

test('scheduled mode, on the real clock: a job every second runs repeatedly, one run at a time, until SIGTERM', async () => {
  const work = tmpDir(hooks, 'daemon-every-second');
  const env = baseEnv(work, {
    PERMAFROST_STATE_DIR: join(work, 'state'),
    // A six-field cron expression: every second. Each run takes longer than that.
    JOB_1_WHAT: 'echo "start $(date +%s%N)" >> "$HOME/runs"; sleep 1.2; echo end >> "$HOME/runs"',
    JOB_1_WHEN: '* * * * * *',
  });
  const d = spawnDaemon([], env);
  await waitFor('three runs', () => {
    const lines = existsSync(join(work, 'runs')) ? readFileSync(join(work, 'runs'), 'utf8').split('\n') : [];
    return lines.filter((l) => l === 'end').length >= 3 ? true : undefined;
  });
  d.child.kill('SIGTERM');
  const r = await d.done;
  assert.equal(r.code, 0, r.stderr);
  const lines = readFileSync(join(work, 'runs'), 'utf8').trimEnd().split('\n');
  // Runs never overlap: start and end alternate.
  lines.forEach((l, i) => {
    assert.match(l, i % 2 === 0 ? /^start \d+$/ : /^end$/, `line ${i}: ${lines.join(' | ')}`);
  });
  assert.match(r.stderr, /\* \* \* \* \* \*: running job 1/);
  const status = JSON.parse(readFileSync(join(work, 'state', 'status.json'), 'utf8'));
  assert.equal(status.periods['* * * * * *'].result, 'OK');
  assert.equal(status.daemon.state, 'stopped');
});

test('a state directory that cannot be written: --once ends with exit 52 and one line', async () => {
  const work = tmpDir(hooks, 'daemon-readonly-state');
  const state = join(work, 'state');
  mkdirSync(state);
  writeFileSync(join(state, 'status.json'), '{}');
  const env = baseEnv(work, { PERMAFROST_STATE_DIR: join(work, 'state', 'status.json', 'sub'), JOB_1_WHAT: 'true', JOB_1_WHEN: 'daily' });
  const r = await runDaemon(['--once', 'daily'], env);
  assert.equal(r.code, 52, r.stderr);
  assert.match(r.stderr, /permafrost daemon: error: .*(ENOTDIR|not a directory)/);
});

/** Restores the latest state of the file:// target `dst` into `into`, checks it equals `expected`, and returns `into`. */
async function restoreAndCompare(dst: string, into: string, expected: string): Promise<string> {
  const r = await runPermafrost(['restore', '--no-encryption', `file://${dst}`, into]);
  assert.equal(r.code, 0, r.stderr);
  assertSameTree(expected, into);
  return into;
}
