/**
 * `permafrost daemon --once` against real parts: shell jobs and `dup` backups to a file:// target,
 * an SMTP server with STARTTLS and AUTH, an HTTP listener for healthchecks pings and webhooks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { runPermafrost } from '../support/permafrost.ts';
import { assertSameTree } from '../support/compare.ts';
import { baseEnv, runDaemon, startHttpRecorder, startSmtp, type ReceivedMail } from './helpers.ts';

const hooks = fileCleanup();
const PASSPHRASE = 'daemon-test-passphrase-7f3a';
const SMTP = { user: 'reporter', pass: 'smtp-secret-9b1c' };
const FQDN = execFileSync('hostname', ['-f']).toString().trim();

interface Setup {
  readonly work: string;
  readonly src: string;
  readonly dst: string;
  readonly order: string;
  readonly env: Record<string, string>;
}

function setup(label: string, smtpPort: number, caFile: string, extra: Record<string, string>): Setup {
  const work = tmpDir(hooks, label);
  const src = join(work, 'src');
  mkdirSync(join(src, 'data', 'sub'), { recursive: true });
  writeFileSync(join(src, 'data', 'a.txt'), 'first file\n');
  writeFileSync(join(src, 'data', 'sub', 'b.bin'), Buffer.alloc(70_000, 7));
  const dst = join(work, 'dst');
  const order = join(work, 'order.txt');
  const env = baseEnv(work, {
    SRC: src,
    DST: `file://${dst}`,
    PASSPHRASE,
    ORDER: order,
    OPTIONS: `--archive-dir ${join(work, 'cache')} --verbosity i --full-if-older-than 4W`,
    OPTIONS_EXTRA:
      '--metadata-sync-mode partial --file-prefix-archive archive-$(hostname -f)- --file-prefix-manifest manifest-$(hostname -f)- --file-prefix-signature signature-$(hostname -f)-',
    PERMAFROST_STATE_DIR: join(work, 'state'),
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(smtpPort),
    SMTP_USER: SMTP.user,
    SMTP_PASS: SMTP.pass,
    EMAIL_FROM: 'backup@example.com',
    EMAIL_TO: 'ops@example.com, oncall@example.com',
    NODE_EXTRA_CA_CERTS: caFile,
    ...extra,
  });
  return { work, src, dst, order, env };
}

/** The per-job blocks of a report body, by job number, in the order they appear. */
function jobBlocks(body: string): { n: number; text: string }[] {
  return body
    .split('===================================\n')
    .slice(1)
    .map((text) => ({ n: Number(/^Job (\d+):/.exec(text)?.[1]), text }));
}

test('a period runs its jobs in ascending N, a failure does not stop later jobs, and the report, pings and status say what happened', async (t) => {
  const smtp = await startSmtp(hooks, SMTP);
  const http = await startHttpRecorder(hooks);
  const s = setup('daemon-run', smtp.port, smtp.caFile, {
    // Defined out of order on purpose: 100 < 30 < 5 as strings, 5 < 30 < 100 as numbers.
    JOB_100_WHAT: 'dup $SRC $DST',
    JOB_100_WHEN: 'daily',
    JOB_30_WHAT: 'echo 30 >> "$ORDER"; echo "boom: pass is $(printenv PASSPHRASE)" >&2; exit 3',
    JOB_30_WHEN: 'daily weekly',
    JOB_5_WHAT: 'echo 5 >> "$ORDER"',
    JOB_5_WHEN: 'hourly daily',
    JOB_7_WHAT: 'echo 7 >> "$ORDER"',
    JOB_7_WHEN: 'weekly',
    JOB_5_HEALTHCHECKS_URL: '', // set below, needs the port
  });
  Object.assign(s.env, {
    JOB_5_HEALTHCHECKS_URL: `${http.base}/hc/five`,
    JOB_30_HEALTHCHECKS_URL: `${http.base}/hc/thirty`,
    JOB_30_DAILY_HEALTHCHECKS_URL: `${http.base}/hc/thirty-daily`,
    JOB_100_HEALTHCHECKS_URL: `${http.base}/broken/hc`,
    PERMAFROST_WEBHOOK_URL: `${http.base}/hook`,
    JOB_30_UPTIME_KUMA_URL: `${http.base}/kuma/push/abc?status=up&msg=OK&ping=`,
  });

  const r = await runDaemon(['--once', 'daily'], s.env);
  assert.equal(r.code, 60, `a failed job makes --once exit 60\n${r.stderr}`);

  // Order: the shell jobs wrote their numbers; job 7 is weekly only.
  assert.equal(readFileSync(s.order, 'utf8'), '5\n30\n');
  // Job 100's backup is there and restores to the source.
  const restored = join(s.work, 'restored');
  const rr = await runPermafrost(
    [
      'restore',
      '--file-prefix-archive',
      `archive-${FQDN}-`,
      '--file-prefix-manifest',
      `manifest-${FQDN}-`,
      '--file-prefix-signature',
      `signature-${FQDN}-`,
      `file://${s.dst}`,
      restored,
    ],
    { PASSPHRASE },
  );
  assert.equal(rr.code, 0, rr.stderr);
  assertSameTree(s.src, restored);

  // The report: one mail, through STARTTLS, authenticated, to both recipients.
  assert.equal(smtp.mails.length, 1);
  const mail: ReceivedMail = smtp.mails[0]!;
  assert.equal(mail.secure, true, 'the client upgraded with STARTTLS');
  assert.equal(mail.user, SMTP.user);
  assert.deepEqual([...mail.to].sort(), ['oncall@example.com', 'ops@example.com']);
  assert.equal(mail.from, 'backup@example.com');
  assert.equal(mail.subject, `Backup report: ${FQDN} - daily - ERROR`);
  const blocks = jobBlocks(mail.body);
  assert.deepEqual(
    blocks.map((b) => b.n),
    [5, 30, 100],
  );
  const [b5, b30, b100] = blocks.map((b) => b.text);
  assert.match(b5!, /^Job 5: `echo 5 >> "[^"]+order\.txt"`$/m);
  assert.match(b5!, /^Success: True$/m);
  assert.match(b30!, /^Success: False$/m);
  assert.match(b30!, /^Exit code: 3$/m);
  assert.match(b30!, /boom: pass is \[redacted\]/);
  assert.match(b100!, new RegExp(`^Job 100: \`dup ${s.src} file://${s.dst}\`$`, 'm'));
  assert.match(b100!, /^Success: True$/m);
  assert.match(b100!, /^Backup: full, 1 volume; files \d+ new, 0 changed, 0 deleted/m);
  assert.match(b100!, /^Ping: healthchecks start ping to 127\.0\.0\.1:\d+ failed: HTTP 500$/m);
  for (const secret of [PASSPHRASE, SMTP.pass]) {
    assert.ok(!mail.body.includes(secret), 'no secret in the mail');
    assert.ok(!r.stderr.includes(secret), 'no secret in the daemon log');
  }
  assert.match(r.stderr, /\[job 30\] boom: pass is \[redacted\]/, 'job output is streamed to the log as it comes');

  // Pings: healthchecks start before, success or fail after, with the same run id; the
  // period-specific URL wins for job 30; each job's own result decides (job 100 is not "fail").
  const hc = http.requests.filter((q) => q.url.startsWith('/hc/') || q.url.startsWith('/broken/'));
  const rid = (url: string) => new URL(url, http.base).searchParams.get('rid');
  assert.deepEqual(
    hc.map((q) => `${q.method} ${q.url.split('?')[0]}`),
    [
      'GET /hc/five/start',
      'POST /hc/five',
      'GET /hc/thirty-daily/start',
      'POST /hc/thirty-daily/fail',
      'GET /broken/hc/start',
      'POST /broken/hc',
    ],
  );
  for (let i = 0; i < hc.length; i += 2) {
    assert.ok(rid(hc[i]!.url), 'a run id');
    assert.equal(rid(hc[i]!.url), rid(hc[i + 1]!.url));
  }
  assert.notEqual(rid(hc[0]!.url), rid(hc[2]!.url));
  assert.match(hc[3]!.body, /boom: pass is \[redacted\]/, 'the fail ping carries the log excerpt');

  // Uptime Kuma: the push URL's query replaced by the job's own status, a short message, the duration.
  const kuma = http.requests.filter((q) => q.url.startsWith('/kuma/'));
  assert.equal(kuma.length, 1);
  const push = new URL(kuma[0]!.url, http.base);
  assert.equal(push.pathname, '/kuma/push/abc');
  assert.equal(push.searchParams.get('status'), 'down');
  assert.equal(push.searchParams.get('msg'), 'job 30 failed (exit 3)');
  assert.match(push.searchParams.get('ping') ?? '', /^\d+$/);

  // Webhooks: one JSON POST per job, in order.
  const hooksSeen = http.requests
    .filter((q) => q.url === '/hook')
    .map((q) => ({ type: q.contentType, body: JSON.parse(q.body) as Record<string, unknown> }));
  assert.deepEqual(
    hooksSeen.map((h) => [h.body['job'], h.body['status'], h.body['exitCode']]),
    [
      [5, 'ok', 0],
      [30, 'failed', 3],
      [100, 'ok', 0],
    ],
  );
  assert.ok(
    hooksSeen.every(
      (h) => h.type === 'application/json' && h.body['event'] === 'job.finished' && h.body['period'] === 'daily' && h.body['host'] === FQDN,
    ),
  );
  const summary = hooksSeen[2]!.body['summary'] as Record<string, unknown>;
  assert.equal(summary['type'], 'full');

  // The status file: the last run of each job and of the period.
  const status = JSON.parse(readFileSync(join(s.work, 'state', 'status.json'), 'utf8'));
  assert.deepEqual(Object.keys(status.jobs).sort(), ['100', '30', '5']);
  assert.equal(status.jobs['5'].status, 'ok');
  assert.equal(status.jobs['30'].status, 'failed');
  assert.equal(status.jobs['30'].exitCode, 3);
  assert.equal(status.jobs['100'].summary.type, 'full');
  assert.equal(status.periods.daily.result, 'ERROR');
  assert.deepEqual(status.periods.daily.jobs, [5, 30, 100]);
  assert.equal(status.daemon.state, 'stopped');
  assert.ok(Date.parse(status.jobs['5'].finishedAt) <= Date.parse(status.jobs['30'].startedAt));
  assert.ok(Date.parse(status.jobs['30'].finishedAt) <= Date.parse(status.jobs['100'].startedAt));
  assert.ok(!existsSync(join(s.work, 'state', 'daemon.lock')), 'the lock is released');

  // Next run: weekly runs 7 and 30 (in that order), and the status keeps job 5 and 100's daily runs.
  await t.test('weekly', async () => {
    const w = await runDaemon(['--once', 'weekly'], s.env);
    assert.equal(w.code, 60, w.stderr);
    assert.equal(readFileSync(s.order, 'utf8'), '5\n30\n7\n30\n');
    const st = JSON.parse(readFileSync(join(s.work, 'state', 'status.json'), 'utf8'));
    assert.equal(st.jobs['7'].period, 'weekly');
    assert.equal(st.jobs['30'].period, 'weekly');
    assert.equal(st.jobs['100'].period, 'daily');
    assert.equal(smtp.mails.at(-1)!.subject, `Backup report: ${FQDN} - weekly - ERROR`);
  });
});

test('success reports: sent on every run by default, not with SMTP_REPORT_SUCCESS=0; a custom subject', async () => {
  const smtp = await startSmtp(hooks, SMTP);
  const s = setup('daemon-ok', smtp.port, smtp.caFile, {
    JOB_1_WHAT: 'dup $SRC $DST',
    JOB_1_WHEN: 'daily',
    JOB_2_WHAT: 'dup collection-status $DST',
    JOB_2_WHEN: 'daily',
    EMAIL_SUBJECT: '[{{backup}}] {result}: {periodicity} on {hostname}',
    SMTP_REPORT_SUCCESS: '0',
  });
  const first = await runDaemon(['--once', 'daily'], s.env);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(smtp.mails.length, 0, 'failure-only mode: no mail for a good run');

  writeFileSync(join(s.src, 'data', 'a.txt'), 'first file, changed\n');
  // Backup times are whole seconds, and a backup must be later than the last one.
  await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 50));
  const second = await runDaemon(['--once', 'daily'], { ...s.env, SMTP_REPORT_SUCCESS: '1' });
  assert.equal(second.code, 0, second.stderr);
  assert.equal(smtp.mails.length, 1);
  const mail = smtp.mails[0]!;
  assert.equal(mail.subject, `[{backup}] OK: daily on ${FQDN}`);
  const [b1, b2] = jobBlocks(mail.body).map((b) => b.text);
  assert.match(b1!, /^Backup: incremental, 1 volume; files 0 new, 1 changed, 0 deleted/m);
  assert.match(b1!, /^Duration: /m);
  assert.match(b2!, /^Success: True$/m);
  assert.match(b2!, /Chain start time|chain/i, 'collection-status output is in the report');
  assert.match(mail.body, /^Jobs: 2 ok$/m);

  // A failure in failure-only mode is mailed.
  // (an incremental without a chain: permafrost exits 17)
  const third = await runDaemon(['--once', 'daily'], { ...s.env, JOB_2_WHAT: `dup incremental $SRC file://${join(s.work, 'empty')}` });
  assert.equal(third.code, 60, third.stderr);
  assert.match(jobBlocks(smtp.mails[1]?.body ?? '')[1]?.text ?? '', /^Exit code: 17$/m);
  assert.equal(smtp.mails.length, 2);
  assert.match(smtp.mails[1]!.subject, /^\[\{backup\}\] ERROR: daily on /);
});

test('a report that cannot be sent (wrong SMTP password) is logged and does not change the outcome', async () => {
  const smtp = await startSmtp(hooks, SMTP);
  const s = setup('daemon-badauth', smtp.port, smtp.caFile, { JOB_1_WHAT: 'true', JOB_1_WHEN: 'daily', SMTP_PASS: 'wrong-password' });
  const r = await runDaemon(['--once', 'daily'], s.env);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(smtp.mails.length, 0);
  assert.deepEqual(smtp.authFailures, [SMTP.user]);
  assert.match(r.stderr, /daily: cannot send the report: .*(auth|login|535)/i);
  assert.ok(!r.stderr.includes('wrong-password'));
});
