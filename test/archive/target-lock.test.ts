/**
 * The target lock module on a real file:// backend: taking, refusing, refreshing, losing and
 * releasing the lock, the takeover rule, and processes racing to take over one stale lock.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FileBackend } from '../../src/backend/file-backend.ts';
import { LockedError } from '../../src/archive/metadata-cache.ts';
import { TargetLock, takeoverReason, type TargetLockTiming } from '../../src/archive/target-lock.ts';
import { raceForLock } from '../support/lock-race.ts';
import { tmpDir } from '../support/tmp.ts';

const NAME = 'permafrost-target.lock';
const SLOW: TargetLockTiming = { refreshSeconds: 3600, staleSeconds: 1800 };

function setup(t: { after(fn: () => void): void }) {
  const dir = tmpDir(t, 'target-lock');
  const backend = new FileBackend(dir, `file://${dir}`);
  const warnings: string[] = [];
  const take = (operation = 'full backup', timing = SLOW) =>
    TargetLock.take(backend, { name: NAME, operation, timing, warn: (m) => warnings.push(m) });
  const holder = () => JSON.parse(readFileSync(join(dir, NAME), 'utf8')) as Record<string, unknown>;
  return { dir, backend, warnings, take, holder };
}

function foreign(fields: Record<string, unknown> = {}): string {
  return JSON.stringify({
    host: 'elsewhere',
    pid: 4242,
    operation: 'cleanup --force',
    since: '2027-01-15T08:00:00.000Z',
    refreshed: '2027-01-15T08:00:00.000Z',
    token: 'x',
    ...fields,
  });
}

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => child.once('exit', r));
  return child.pid!;
}

describe('target lock', () => {
  it('names its holder, refuses a second taker with one line naming it, and is gone after release', async (t) => {
    const { dir, take, holder } = setup(t);
    const lock = await take('full backup');
    const h = holder();
    assert.equal(h['host'], hostname());
    assert.equal(h['pid'], process.pid);
    assert.equal(h['operation'], 'full backup');
    assert.match(String(h['since']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    await assert.rejects(take('cleanup --force'), (err: Error) => {
      assert.ok(err instanceof LockedError);
      assert.equal(
        err.message,
        `the target file://${dir} is locked by full backup on host ${hostname()}, pid ${process.pid}, since ${String(h['since'])} (${NAME}; another run writes there)`,
      );
      return true;
    });
    await lock.release();
    assert.ok(!existsSync(join(dir, NAME)));
    await (await take()).release();
  });

  it('is rewritten while held; a lock replaced by another run is lost, and then never removed by us', async (t) => {
    const { dir, take, holder } = setup(t);
    const lock = await take('backup', { refreshSeconds: 0.05, staleSeconds: 1800 });
    const first = holder()['token'];
    await new Promise((r) => setTimeout(r, 300));
    assert.notEqual(holder()['token'], first, 'refreshed');
    await lock.assertHeld();
    writeFileSync(join(dir, NAME), foreign());
    await new Promise((r) => setTimeout(r, 300));
    assert.match(lock.lost ?? '', /lost the target lock .* \(it is now held by cleanup --force on host elsewhere, pid 4242/);
    await assert.rejects(lock.assertHeld(), LockedError);
    await lock.release();
    assert.equal(readFileSync(join(dir, NAME), 'utf8'), foreign(), "the other run's lock stays");
  });

  it('a rewrite stored though its answer was lost leaves the lock ours', async (t) => {
    const { dir, backend, warnings } = setup(t);
    const store = backend.conditional;
    let loseAnswers = 1;
    // the store writes, then the "network" drops the answer once (like the fault proxy of the S3 tests)
    const flaky = Object.assign(Object.create(backend) as FileBackend, {
      conditional: {
        read: (n: string) => store.read(n),
        remove: (n: string, tag: string) => store.remove(n, tag),
        write: async (n: string, b: Buffer, e: 'absent' | { readonly tag: string }) => {
          const tag = await store.write(n, b, e);
          if (e !== 'absent' && loseAnswers-- > 0) throw new Error('socket hang up');
          return tag;
        },
      },
    });
    const lock = await TargetLock.take(flaky, {
      name: NAME,
      operation: 'backup',
      timing: { refreshSeconds: 0.05, staleSeconds: 1800 },
      warn: (m) => warnings.push(m),
    });
    await new Promise((r) => setTimeout(r, 300));
    assert.match(warnings.join('\n'), /cannot refresh the target lock .*: socket hang up/);
    assert.equal(lock.lost, null);
    await lock.assertHeld();
    await lock.release();
    assert.ok(!existsSync(join(dir, NAME)));
  });

  it('assertHeld notices a lock replaced between two refreshes', async (t) => {
    const { dir, take } = setup(t);
    const lock = await take();
    writeFileSync(join(dir, NAME), foreign());
    await assert.rejects(lock.assertHeld(), /lost the target lock/);
  });

  it('takes over a dead process of this host (with a warning), not a live one, not one of another pid namespace', async (t) => {
    const { dir, take, warnings } = setup(t);
    const pid = await deadPid();
    writeFileSync(join(dir, NAME), foreign({ host: hostname(), pid, pidns: 'pid:[1]' }));
    await assert.rejects(take(), LockedError, 'another container with the same host name');
    writeFileSync(join(dir, NAME), foreign({ host: hostname(), pid: process.ppid }));
    await assert.rejects(take(), LockedError, 'a live process');
    writeFileSync(join(dir, NAME), foreign({ host: hostname(), pid: process.pid, since: new Date().toISOString() }));
    await assert.rejects(take(), LockedError, 'another operation of this process');
    writeFileSync(join(dir, NAME), foreign({ host: hostname(), pid: process.pid, since: '2020-01-01T00:00:00.000Z' }));
    await (await take()).release();
    assert.match(
      warnings.pop() ?? '',
      /its process \(pid \d+\) no longer exists/,
      'our pid from before this process started: a restarted container',
    );
    writeFileSync(join(dir, NAME), foreign({ host: hostname(), pid }));
    const lock = await take();
    assert.match(
      warnings.join('\n'),
      new RegExp(
        `took over the target lock ${NAME} from cleanup --force on host .*, pid ${pid}, since 2027-01-15T08:00:00.000Z: its process \\(pid ${pid}\\) no longer exists`,
      ),
    );
    await lock.release();
  });

  it('takes over a lock of another host only once stale by the store clock', async (t) => {
    const { dir, take, warnings } = setup(t);
    writeFileSync(join(dir, NAME), foreign());
    const recent = Date.now() / 1000 - 1700;
    utimesSync(join(dir, NAME), recent, recent);
    await assert.rejects(take(), LockedError);
    const old = Date.now() / 1000 - 1900;
    utimesSync(join(dir, NAME), old, old);
    const lock = await take();
    assert.match(warnings.join('\n'), /not refreshed for 19\d\d seconds \(stale after 1800\)/);
    await lock.release();
  });

  it('an unreadable lock is taken over only when stale', () => {
    const seen = { bytes: Buffer.from('garbage'), tag: 't', modified: 1000 };
    assert.equal(takeoverReason(seen, { host: hostname() }, SLOW, 1000 + 1800), null);
    assert.match(takeoverReason(seen, { host: hostname() }, SLOW, 1000 + 1801) ?? '', /not refreshed for 1801 seconds/);
  });

  it('processes taking over one stale lock at once: exactly one wins, each time', async (t) => {
    const { dir } = setup(t);
    for (let round = 0; round < 6; round++) {
      writeFileSync(join(dir, NAME), foreign({ token: `stale-${round}` }));
      const old = Date.now() / 1000 - 7200;
      utimesSync(join(dir, NAME), old, old);
      const results = await raceForLock(dir, round, 4, ['file', dir]);
      assert.equal(results.filter((r) => r === 'won').length, 1, results.join('\n'));
      for (const r of results.filter((x) => x !== 'won')) assert.match(r, /^locked: the target .* is locked by race on host /);
      assert.ok(!existsSync(join(dir, NAME)), 'the winner released it');
    }
  });
});
