/**
 * The run lock: one run at a time, between daemons too; stale locks (dead pid, our own pid after
 * a container restart) are taken over, live ones and other hosts' are not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { readHolder, takeRunLock } from '../../src/daemon/run-lock.ts';
import { baseEnv, runDaemon, spawnDaemon, waitFor } from './helpers.ts';

const hooks = fileCleanup();

/** A pid that is certainly not running: a child that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const c = spawn('true');
  await new Promise((r) => c.on('close', r));
  return c.pid!;
}

test('takeRunLock: one holder; released; a dead or own pid is stale; a live pid or another host is not', async () => {
  const dir = tmpDir(hooks, 'lock');
  const file = join(dir, 'state', 'daemon.lock');
  const a = await takeRunLock(file, 'daily');
  assert.equal(a.taken, true);
  const holder = await readHolder(file);
  assert.equal(holder?.pid, process.pid);
  assert.equal(holder?.period, 'daily');
  // Our own pid in the lock while we do not run: a restarted container's daemon, stale.
  const again = await takeRunLock(file, 'weekly');
  assert.equal(again.taken, true);
  assert.equal(again.taken && again.tookOverFrom?.period, 'daily');
  // ...and the first holder's release does not remove the new holder's lock.
  if (a.taken) await a.release();
  assert.equal((await readHolder(file))?.period, 'weekly');
  if (again.taken) await again.release();
  assert.ok(!existsSync(file));

  const sleeper = spawn('sleep', ['30']);
  try {
    writeFileSync(file, JSON.stringify({ pid: sleeper.pid, host: hostname(), since: new Date().toISOString(), period: 'hourly' }));
    const held = await takeRunLock(file, 'daily');
    assert.equal(held.taken, false);
    assert.equal(!held.taken && held.holder?.pid, sleeper.pid);
  } finally {
    sleeper.kill();
  }

  writeFileSync(file, JSON.stringify({ pid: await deadPid(), host: hostname(), since: '2026-01-01T00:00:00.000Z', period: 'hourly' }));
  const takeover = await takeRunLock(file, 'daily');
  assert.equal(takeover.taken, true);
  if (takeover.taken) await takeover.release();

  writeFileSync(
    file,
    JSON.stringify({ pid: await deadPid(), host: 'another-host.example', since: '2026-01-01T00:00:00.000Z', period: 'hourly' }),
  );
  const foreign = await takeRunLock(file, 'daily');
  assert.equal(foreign.taken, false, 'a lock from another host is never taken over');
});

test('two daemons: the second run of a period finds the lock and exits 23 without running a job; a stale lock is taken over', async () => {
  const work = tmpDir(hooks, 'daemon-lock');
  const order = join(work, 'order.txt');
  const go = join(work, 'go');
  const env = baseEnv(work, {
    PERMAFROST_STATE_DIR: join(work, 'state'),
    ORDER: order,
    GO: go,
    // Job 1 waits until the test lets it finish, so that the second daemon surely overlaps it.
    JOB_1_WHAT: 'echo start >> "$ORDER"; while [ ! -e "$GO" ]; do sleep 0.05; done; echo end >> "$ORDER"',
    JOB_1_WHEN: 'daily hourly',
  });
  const first = spawnDaemon(['--once', 'daily'], env);
  await waitFor('the first daemon to start its job', () => (existsSync(order) ? true : undefined));

  const second = await runDaemon(['--once', 'hourly'], env);
  assert.equal(second.code, 23, second.stderr);
  assert.match(
    second.stderr,
    new RegExp(`hourly: not run: another run holds the lock .*daemon\\.lock \\(pid ${first.child.pid} on ${hostname()}, daily run since `),
  );
  assert.equal(
    readFileSync(order, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('start')).length,
    1,
    'the second daemon ran no job',
  );
  const status = JSON.parse(readFileSync(join(work, 'state', 'status.json'), 'utf8'));
  assert.match(status.periods.hourly.notRun, /another run holds the lock/);

  writeFileSync(go, '');
  const r1 = await first.done;
  assert.equal(r1.code, 0, r1.stderr);
  assert.match(readFileSync(order, 'utf8'), /^start\nend\n$/);

  // A lock left by a killed daemon (its pid is gone) does not block the next run.
  mkdirSync(join(work, 'state'), { recursive: true });
  const dead = await deadPid();
  writeFileSync(
    join(work, 'state', 'daemon.lock'),
    JSON.stringify({ pid: dead, host: hostname(), since: '2026-01-01T00:00:00.000Z', period: 'daily' }),
  );
  const r2 = await runDaemon(['--once', 'daily'], env);
  assert.equal(r2.code, 0, r2.stderr);
  assert.match(r2.stderr, new RegExp(`took over a stale lock of pid ${dead}`));
  assert.ok(!existsSync(join(work, 'state', 'daemon.lock')));
});
