/**
 * Jobs on the dashboard with a real daemon: a job whose last run (by an earlier daemon, from the
 * status file) is long past its schedule is overdue; a failing job is failing, with its exit code
 * in /metrics; a running job shows as running, and its log grows live (API and events).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { baseEnv, waitFor } from '../daemon/helpers.ts';
import { onceIn, parsePrometheus, readEvents, startDashboard, type Json } from './helpers.ts';

const hooks = fileCleanup();

test('overdue, failing and running jobs; a live log', async () => {
  const home = tmpDir(hooks, 'dash-jobs');
  const state = join(home, 'state');
  mkdirSync(state, { recursive: true });
  const threeDaysAgo = new Date(Date.now() - 3 * 86400_000).toISOString();
  // what an earlier daemon left: job 1 ran fine three days ago, and never since
  writeFileSync(
    join(state, 'status.json'),
    JSON.stringify({
      version: 1,
      updatedAt: threeDaysAgo,
      daemon: null,
      periods: {},
      jobs: {
        '1': {
          period: 'daily',
          command: 'echo old',
          status: 'ok',
          exitCode: 0,
          signal: null,
          startedAt: threeDaysAgo,
          finishedAt: threeDaysAgo,
          durationMs: 1500,
        },
      },
    }),
  );
  const when = onceIn(4);
  const d = await startDashboard(
    baseEnv(home, {
      PERMAFROST_STATE_DIR: state,
      CRONTAB_DAILY: '0 2 * * *',
      JOB_1_WHAT: 'echo daily',
      JOB_1_WHEN: 'daily',
      JOB_2_WHAT: 'echo boom >&2; exit 3',
      JOB_2_WHEN: when,
      JOB_3_WHAT: 'echo first-line; sleep 3; echo second-line',
      JOB_3_WHEN: when,
    }),
  );
  const stream = readEvents(d.url);
  try {
    await stream.opened;
    const jobs = () => d.get('/api/overview').then((r) => r.json().jobs as Json[]);
    const before = await jobs();
    assert.equal(before[0].name, '1');
    assert.equal(before[0].overdue, true, 'daily, and the last run was three days ago');
    assert.equal(before[0].failing, false);
    assert.equal(before[0].lastRun.start, threeDaysAgo);
    assert.equal(before[0].lastSuccess, threeDaysAgo);
    assert.equal(Date.parse(before[0].nextRun) > Date.now(), true);
    assert.equal(before[1].overdue, false, 'a job that has not been due since the daemon started');
    assert.equal(before[1].lastRun, null);

    // job 3 runs after job 2: while it sleeps, it is running and its log has its first line
    const running = await waitFor('job 3 running', async () => (await jobs()).find((j) => j.name === '3' && j.running), 60_000);
    const start = stream.events.find((e) => e.event === 'job-start' && e.data.job === '3')!;
    assert.equal(running.lastRun, null);
    const live = await waitFor('the first line', async () => {
      const r = await d.get(`/api/runs/${start.data.runId}/log`);
      return r.status === 200 && r.json().lines.includes('first-line') ? r.json().lines : undefined;
    });
    assert.ok(!live.includes('second-line'));
    assert.equal((await d.get('/api/jobs/3/runs')).json().runs[0].result, 'RUNNING');
    await waitFor('job 3 ended', () => stream.events.find((e) => e.event === 'job-end' && e.data.job === '3'), 60_000);
    assert.deepEqual(
      stream.events.filter((e) => e.event === 'log' && e.data.job === '3').map((e) => e.data.line),
      ['first-line', 'second-line'],
    );
    assert.deepEqual((await d.get(`/api/runs/${start.data.runId}/log`)).json().lines, ['first-line', 'second-line']);

    const after = await jobs();
    const two = after.find((j) => j.name === '2');
    assert.equal(two.failing, true);
    assert.equal(two.lastRun.result, 'ERROR');
    assert.equal(two.lastRun.exitCode, 3);
    assert.equal(two.lastSuccess, null);
    const three = after.find((j) => j.name === '3');
    assert.equal(three.running, false);
    assert.equal(three.failing, false);
    assert.ok(three.lastRun.durationSeconds >= 3);

    const samples = (await parsePrometheus((await d.get('/metrics')).text)).flatMap((f) => f.samples);
    const value = (name: string, job: string) => samples.find((s) => s.name === name && s.labels['job'] === job)?.value;
    assert.equal(value('permafrost_job_last_exit_code', '2'), 3);
    assert.equal(value('permafrost_job_last_success_timestamp_seconds', '2'), undefined);
    assert.equal(value('permafrost_job_last_exit_code', '3'), 0);
    assert.equal(value('permafrost_job_last_success_timestamp_seconds', '1'), Date.parse(threeDaysAgo) / 1000);
    assert.equal(value('permafrost_job_last_duration_seconds', '1'), 1.5);
    const report = (await d.get('/api/jobs/2/report')).json();
    assert.match(report.subject, /ERROR$/);
    assert.match(report.body, /boom/);
  } finally {
    stream.close();
    assert.equal((await d.stop()).code, 0);
  }
});
