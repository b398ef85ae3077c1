import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DaemonConfigError, parseDaemonEnv, DEFAULT_SUBJECT } from '../../src/daemon/config.ts';
import { DEFAULT_PERIODS } from '../../src/daemon/schedule.ts';

const HOME = '/home/u';

function problems(env: Record<string, string>): readonly string[] {
  try {
    parseDaemonEnv(env, HOME);
  } catch (err) {
    if (err instanceof DaemonConfigError) return err.problems;
    throw err;
  }
  return [];
}

test('jobs in ascending N, periods that jobs use, docker-duplicity defaults', () => {
  const c = parseDaemonEnv(
    {
      JOB_300_WHAT: 'dup remove-all-but-n-full 7 $DST --force',
      JOB_300_WHEN: 'daily',
      JOB_200_WHAT: 'dup $SRC $DST',
      JOB_200_WHEN: 'daily weekly',
      JOB_5_WHAT: 'x',
      JOB_5_WHEN: 'never',
    },
    HOME,
  );
  assert.deepEqual(
    c.jobs.map((j) => [j.n, j.periods]),
    [
      [200, ['daily', 'weekly']],
      [300, ['daily']],
    ],
  );
  assert.deepEqual(c.periods, [
    { name: 'daily', cron: DEFAULT_PERIODS['daily'] },
    { name: 'weekly', cron: DEFAULT_PERIODS['weekly'] },
  ]);
  assert.equal(c.email, null, 'no EMAIL_FROM/EMAIL_TO: no mail, as in the image');
  assert.equal(c.reportSuccess, true);
  assert.equal(c.statusFile, '/home/u/.local/state/permafrost/status.json');
  assert.equal(c.lockFile, '/home/u/.local/state/permafrost/daemon.lock');
  assert.equal(c.stopGraceSeconds, 300);
});

test('CRONTAB_<NAME>: replaces, adds (quotes stripped) and disables (empty) periods', () => {
  const c = parseDaemonEnv(
    {
      CRONTAB_DAILY: '0 3 * * *',
      CRONTAB_DAILY2: '"30 14 * * *"',
      JOB_1_WHAT: 'a',
      JOB_1_WHEN: 'daily daily2',
      JOB_2_WHAT: 'b',
      JOB_2_WHEN: 'DAILY2',
    },
    HOME,
  );
  assert.deepEqual(c.periods, [
    { name: 'daily', cron: '0 3 * * *' },
    { name: 'daily2', cron: '30 14 * * *' },
  ]);
  assert.deepEqual(c.jobs[1]!.periods, ['daily2']);
  assert.match(problems({ CRONTAB_HOURLY: '', JOB_1_WHAT: 'a', JOB_1_WHEN: 'hourly' }).join('\n'), /JOB_1_WHEN: unknown period "hourly"/);
  assert.match(
    problems({ CRONTAB_NIGHTLY: 'not a cron', JOB_1_WHAT: 'a', JOB_1_WHEN: 'daily' }).join('\n'),
    /^CRONTAB_NIGHTLY: not a cron expression/,
  );
});

test('JOB_<N>_WHEN may be a cron expression; jobs with the same expression share its runs', () => {
  const c = parseDaemonEnv(
    { JOB_1_WHAT: 'a', JOB_1_WHEN: '0 */6 * * *', JOB_2_WHAT: 'b', JOB_2_WHEN: ' 0  */6 * * * ', JOB_3_WHAT: 'c', JOB_3_WHEN: '@weekly' },
    HOME,
  );
  assert.deepEqual(
    c.jobs.map((j) => j.periods),
    [['0 */6 * * *'], ['0 */6 * * *'], ['@weekly']],
  );
  assert.deepEqual(
    c.periods.map((p) => p.name),
    ['0 */6 * * *', '@weekly'],
  );
});

test('every configuration problem is reported at once', () => {
  const p = problems({
    JOB_1_WHAT: 'a',
    JOB_1_WHEN: 'dayly',
    JOB_2_WHEN: 'daily',
    JOB_3_WHAT: 'c',
    JOB_3_WHEN: '0 99 * * *',
    JOB_004_WHAT: 'd',
    JOB_004_WHEN: 'daily',
    JOB_4_WHAT: 'e',
    JOB_4_WHEN: 'daily',
    JOB_5_WHAT: 'f',
    JOB_5_WHEN: 'daily',
    JOB_5_HEALTHCHECKS_URL: 'ftp://x',
    EMAIL_FROM: 'a@b',
    EMAIL_TO: 'c@d',
    SMTP_PORT: 'twenty-five',
    EMAIL_SUBJECT: 'Report {host}',
    PERMAFROST_STOP_GRACE_SECONDS: '-1',
  });
  assert.equal(p.length, 8, p.join('\n'));
  assert.match(
    p.join('\n'),
    /JOB_1_WHEN: unknown period "dayly" \(known: 15min, hourly, daily, weekly, monthly, never; or a cron expression\)/,
  );
  assert.match(p.join('\n'), /JOB_2_WHEN is set but JOB_2_WHAT is missing/);
  assert.match(p.join('\n'), /JOB_3_WHEN: not a cron expression/);
  assert.match(p.join('\n'), /job 4 is defined twice/);
  assert.match(p.join('\n'), /EMAIL_SUBJECT: unknown field \{host\}/);
  assert.match(p.join('\n'), /JOB_5_HEALTHCHECKS_URL: not an http\(s\) URL/);
  assert.match(p.join('\n'), /SMTP_PORT: not a port number/);
  assert.match(p.join('\n'), /PERMAFROST_STOP_GRACE_SECONDS: expected a number >= 0/);
});

test('a WHAT without a WHEN is a warning: the job never runs, as in the image', () => {
  const c = parseDaemonEnv({ JOB_9_WHAT: 'x' }, HOME);
  assert.deepEqual(c.jobs, []);
  assert.deepEqual(c.warnings, ['JOB_9_WHAT has no JOB_9_WHEN: it never runs']);
});

test('e-mail settings: defaults of the image, recipients list, STARTTLS/implicit TLS, failure-only mode', () => {
  const c = parseDaemonEnv(
    { EMAIL_FROM: 'from@x', EMAIL_TO: 'a@x, b@x,', SMTP_REPORT_SUCCESS: '0', JOB_1_WHAT: 'a', JOB_1_WHEN: 'daily' },
    HOME,
  );
  assert.deepEqual(c.email, { host: 'smtp', port: 25, implicitTls: false, from: 'from@x', to: ['a@x', 'b@x'], subject: DEFAULT_SUBJECT });
  assert.equal(c.reportSuccess, false);
  const tls = parseDaemonEnv(
    { EMAIL_FROM: 'f@x', EMAIL_TO: 't@x', SMTP_HOST: 'mail.example', SMTP_PORT: '465', SMTP_TLS: 'true', SMTP_USER: 'u', SMTP_PASS: 'p' },
    HOME,
  );
  assert.deepEqual(tls.email, {
    host: 'mail.example',
    port: 465,
    implicitTls: true,
    user: 'u',
    pass: 'p',
    from: 'f@x',
    to: ['t@x'],
    subject: DEFAULT_SUBJECT,
  });
  assert.equal(parseDaemonEnv({ EMAIL_FROM: 'f@x', EMAIL_TO: '' }, HOME).email, null);
  assert.equal(parseDaemonEnv({ EMAIL_FROM: 'f@x', EMAIL_TO: 't@x', SMTP_HOST: '' }, HOME).email, null);
});

test('ping URLs: JOB_<N>_<PERIOD>_* wins over JOB_<N>_*, and PERMAFROST_WEBHOOK_URL applies to every job', () => {
  const c = parseDaemonEnv(
    {
      JOB_1_WHAT: 'a',
      JOB_1_WHEN: 'daily weekly',
      JOB_1_HEALTHCHECKS_URL: 'https://hc/one',
      JOB_1_WEEKLY_HEALTHCHECKS_URL: 'https://hc/one-weekly',
      JOB_1_UPTIME_KUMA_URL: 'https://kuma/push/x?status=up',
      JOB_2_WHAT: 'b',
      JOB_2_WHEN: 'daily',
      JOB_2_WEBHOOK_URL: 'https://hook/two',
      PERMAFROST_WEBHOOK_URL: 'https://hook/all',
    },
    HOME,
  );
  const [one, two] = c.jobs;
  assert.deepEqual(one!.pingsFor('daily'), {
    healthchecks: 'https://hc/one',
    uptimeKuma: 'https://kuma/push/x?status=up',
    webhook: 'https://hook/all',
  });
  assert.equal(one!.pingsFor('weekly').healthchecks, 'https://hc/one-weekly');
  assert.deepEqual(two!.pingsFor('daily'), { healthchecks: undefined, uptimeKuma: undefined, webhook: 'https://hook/two' });
});

test('a job that names a secret variable is refused: the image would put it on a command line', () => {
  const p = problems({
    JOB_1_WHAT: 'dup --passphrase $PASSPHRASE $SRC $DST',
    JOB_1_WHEN: 'daily',
    JOB_2_WHAT: 'curl -u x:${SMTP_PASS} url',
    JOB_2_WHEN: 'daily',
    JOB_3_WHAT: 'echo $PASSPHRASE_FILE $$PASSPHRASE',
    JOB_3_WHEN: 'daily',
  });
  assert.equal(p.length, 2, p.join('\n'));
  assert.match(p[0]!, /^JOB_1_WHAT names \$PASSPHRASE: a secret must not go on a command line/);
  assert.match(p[1]!, /^JOB_2_WHAT names \$SMTP_PASS/);
});
