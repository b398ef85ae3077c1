/**
 * `daemon --health` (the image's HEALTHCHECK): healthy, or unhealthy with the reasons, from the
 * status file and the schedule. assessHealth on documents written by hand at a fixed time, then
 * the CLI flag on a status file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDaemonEnv } from '../../src/daemon/config.ts';
import { assessHealth } from '../../src/daemon/health.ts';
import type { JobStatusEntry, StatusDocument } from '../../src/daemon/status-file.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { runDaemon } from './helpers.ts';

const hooks = fileCleanup();
const ENV = {
  TZ: 'UTC',
  JOB_200_WHAT: 'dup $SRC $DST',
  JOB_200_WHEN: 'daily',
  JOB_300_WHAT: 'dup remove-all-but-n-full 7 $DST --force',
  JOB_300_WHEN: 'weekly',
  PERMAFROST_STATE_DIR: '/state',
};
const config = parseDaemonEnv(ENV, '/home/x');
const at = (iso: string) => Date.parse(iso);

function job(status: JobStatusEntry['status'], startedAt: string, exitCode: number | null = status === 'ok' ? 0 : 51): JobStatusEntry {
  return { period: 'daily', command: 'dup', status, exitCode, signal: null, startedAt, finishedAt: startedAt, durationMs: 1000 };
}

function doc(
  jobs: Record<string, JobStatusEntry>,
  state: 'idle' | 'running' = 'idle',
  startedAt = '2026-12-01T10:00:00.000Z',
): StatusDocument {
  return {
    version: 1,
    updatedAt: startedAt,
    daemon: { pid: 1, host: 'h', startedAt, state, current: null, nextRun: null },
    periods: {},
    jobs,
  };
}

// 2026-12-01 is a Tuesday: daily runs at 02:00 Monday to Saturday, weekly at 01:00 on Sunday.
test('healthy: every job ran ok, or has not fallen due since the daemon started', () => {
  const d = doc({ '200': job('ok', '2026-12-02T02:00:00.000Z') });
  assert.deepEqual(assessHealth(config, '/state/status.json', d, at('2026-12-02T12:00:00Z')), { healthy: true, problems: [] });
  // started Tuesday 10:00, now Wednesday 02:30: the daily run is due but within the hour
  assert.equal(assessHealth(config, '/state/status.json', doc({}), at('2026-12-02T02:30:00Z')).healthy, true);
});

test('unhealthy: no status file; a failed or interrupted last run', () => {
  assert.deepEqual(assessHealth(config, '/state/status.json', null, at('2026-12-02T12:00:00Z')), {
    healthy: false,
    problems: ['no status file at /state/status.json: the daemon has not written it (see its log)'],
  });
  const d = doc({ '200': job('failed', '2026-12-02T02:00:00.000Z'), '300': job('interrupted', '2026-11-29T01:00:00.000Z', null) });
  assert.deepEqual(assessHealth(config, '/state/status.json', d, at('2026-12-02T12:00:00Z')).problems, [
    'job 200 failed (exit 51) at 2026-12-02T02:00:00.000Z',
    'job 300 interrupted (no exit code) at 2026-11-29T01:00:00.000Z',
  ]);
});

test('unhealthy: a run that fell due more than an hour ago has not started (idle daemon); not while a run is going on', () => {
  const d = doc({ '200': job('ok', '2026-12-02T02:00:00.000Z') });
  // Thursday 03:01: the daily run of 02:00 is an hour and a minute late
  assert.deepEqual(assessHealth(config, '/state/status.json', d, at('2026-12-03T03:01:00Z')).problems, [
    'job 200 is overdue: its daily run was due at 2026-12-03T02:00:00.000Z',
  ]);
  assert.equal(assessHealth(config, '/state/status.json', d, at('2026-12-03T02:59:00Z')).healthy, true);
  assert.equal(assessHealth(config, '/state/status.json', doc(d.jobs, 'running'), at('2026-12-03T03:01:00Z')).healthy, true);
});

test('daemon --health: exit 0 and `healthy`, or exit 1 and the reasons on one line', async () => {
  const state = tmpDir(hooks, 'health');
  const env = { ...ENV, PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: state, PERMAFROST_STATE_DIR: state };
  const none = await runDaemon(['--health'], env);
  assert.equal(none.code, 1);
  assert.equal(none.stdout, `unhealthy: no status file at ${join(state, 'status.json')}: the daemon has not written it (see its log)\n`);
  const now = new Date().toISOString();
  writeFileSync(join(state, 'status.json'), JSON.stringify(doc({ '200': job('ok', now) }, 'idle', now)));
  const ok = await runDaemon(['--health'], env);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, 'healthy\n');
  writeFileSync(join(state, 'status.json'), JSON.stringify(doc({ '200': job('failed', now) }, 'idle', now)));
  const failed = await runDaemon(['--health'], env);
  assert.equal(failed.code, 1);
  assert.equal(failed.stdout, `unhealthy: job 200 failed (exit 51) at ${now}\n`);
});
