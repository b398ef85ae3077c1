/**
 * The target lock on a file:// target, through real permafrost processes: writers side by side
 * (see test/support/lock-scenarios.ts), takeover of a lock whose holder is gone, names never
 * overwritten, the check before the manifest, the cache lock's exit code, --dry-run without a
 * lock, and duplicity 0.8.22 and 3.x reading a target that holds a lock object.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileUrl } from '../support/cli.ts';
import { assertSameTree } from '../support/compare.ts';
import { DUP08_PATH, DUP3_PATH } from '../support/duplicity.ts';
import {
  backupBesideBackup,
  cleanupBesideBackup,
  lockTakenOverMidway,
  LockScenario,
  retentionBesideBackup,
  signalReleasesLock,
  T0,
  T1,
  timeString,
  volumeDeletedMidway,
  type LockTarget,
} from '../support/lock-scenarios.ts';
import { describeFinished, outputLines } from '../support/paused-run.ts';
import { tmpDir } from '../support/tmp.ts';

const LOCK = 'permafrost-target.lock';

function fileTarget(work: string): LockTarget {
  const remote = join(work, 'remote');
  return {
    url: fileUrl(remote),
    extraArgs: [],
    env: process.env,
    names: async () => (existsSync(remote) ? readdirSync(remote) : []),
    remove: async (name) => rmSync(join(remote, name)),
  };
}

/** A scenario and its target directory. */
function scenario(t: { after(fn: () => void): void }, label: string): { s: LockScenario; remote: string } {
  const work = tmpDir(t, label);
  return { s: new LockScenario(work, fileTarget(work)), remote: join(work, 'remote') };
}

/** A lock as another run would have written it. */
function foreignLock(fields: Record<string, unknown>): string {
  return `${JSON.stringify({ host: 'elsewhere', pid: 4242, operation: 'full backup', since: '2027-01-15T08:00:00.000Z', refreshed: '2027-01-15T08:00:00.000Z', token: 'x', ...fields })}\n`;
}

/** A pid that existed and no longer does. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => child.once('exit', r));
  return child.pid!;
}

describe('target lock on file://: writers side by side', () => {
  it('a second backup with the same cache exits 23 naming the holder; the first restores', async (t) => {
    await backupBesideBackup(scenario(t, 'lock-bb-same').s, true);
  });

  it('a second backup with another cache (another host, a re-created container) exits 23; nothing is lost', async (t) => {
    await backupBesideBackup(scenario(t, 'lock-bb-other').s, false);
  });

  it('cleanup --force during a backup exits 23 and deletes none of its volumes', async (t) => {
    await cleanupBesideBackup(scenario(t, 'lock-bc').s);
  });

  it('remove-all-but-n-full --force during a backup exits 23; it runs once the backup is done', async (t) => {
    await retentionBesideBackup(scenario(t, 'lock-br').s);
  });

  it('a volume deleted before the manifest is written fails the backup, which writes no manifest', async (t) => {
    await volumeDeletedMidway(scenario(t, 'lock-vol-gone').s);
  });

  it('a backup stopped by SIGTERM removes its lock and writes no manifest; the next run goes ahead', async (t) => {
    await signalReleasesLock(scenario(t, 'lock-sigterm').s);
  });

  it('a backup whose lock was taken over while it stalled exits 23 before its manifest', async (t) => {
    const { s, remote } = scenario(t, 'lock-lost');
    await lockTakenOverMidway(
      s,
      async (content) => writeFileSync(join(remote, LOCK), content),
      async () => readFileSync(join(remote, LOCK), 'utf8'),
    );
  });
});

describe('target lock on file://: takeover, overwrite, exit codes', () => {
  it('takes over a lock whose process is gone (same host), with a notice', async (t) => {
    const { s, remote } = scenario(t, 'lock-dead');
    const pid = await deadPid();
    await s.run('a', ['full', '--current-time', String(T0), s.source, s.target.url]);
    writeFileSync(join(remote, LOCK), foreignLock({ host: hostname(), pid }));
    const r = await s.run('a', ['incremental', '--current-time', String(T1), s.source, s.target.url]);
    assert.match(
      r.stderr + r.stdout,
      new RegExp(
        `took over the target lock ${LOCK} from full backup on host .*, pid ${pid}, .*: its process \\(pid ${pid}\\) no longer exists`,
      ),
    );
    assert.ok(!existsSync(join(remote, LOCK)), 'released after the run');
    await s.restoreMatches('b');
  });

  it('takes over a lock not refreshed for longer than the staleness time; a fresh one from another host is respected', async (t) => {
    const { s, remote } = scenario(t, 'lock-stale');
    await s.run('a', ['full', '--current-time', String(T0), s.source, s.target.url]);
    writeFileSync(join(remote, LOCK), foreignLock({}));
    const held = await s.run('a', ['incremental', '--current-time', String(T1), s.source, s.target.url], 23);
    assert.deepEqual(outputLines(held), [
      `the target ${s.target.url} is locked by full backup on host elsewhere, pid 4242, since 2027-01-15T08:00:00.000Z (${LOCK}; another run writes there)`,
    ]);
    const old = Date.now() / 1000 - 1801;
    utimesSync(join(remote, LOCK), old, old);
    const r = await s.run('a', ['incremental', '--current-time', String(T1), s.source, s.target.url]);
    assert.match(
      r.stderr + r.stdout,
      /took over the target lock .* from full backup on host elsewhere, pid 4242, .*: not refreshed for 180\d seconds \(stale after 1800\)/,
    );
    await s.restoreMatches('b');
  });

  it('collection-status names the holder; --dry-run needs no lock', async (t) => {
    const { s, remote } = scenario(t, 'lock-status');
    await s.run('a', ['full', '--current-time', String(T0), s.source, s.target.url]);
    writeFileSync(join(remote, LOCK), foreignLock({}));
    const st = await s.run('a', ['collection-status', s.target.url]);
    assert.match(
      st.stdout,
      /Target lock held by full backup on host elsewhere, pid 4242, since 2027-01-15T08:00:00.000Z \(last refreshed /,
    );
    const json = JSON.parse((await s.run('a', ['collection-status', '--json', s.target.url])).stdout) as {
      targetLock: Record<string, unknown>;
    };
    assert.deepEqual(
      { ...json.targetLock, refreshed: 0 },
      { host: 'elsewhere', pid: 4242, operation: 'full backup', since: '2027-01-15T08:00:00.000Z', refreshed: 0 },
    );
    // the lock object is no backup file: not an incomplete set, not an orphan
    assert.match(st.stdout, /No orphaned or incomplete backup sets found\./);
    await s.run('a', ['full', '--dry-run', '--current-time', String(T1), s.source, s.target.url]);
    await s.run('a', ['cleanup', '--force', s.target.url], 23);
    writeFileSync(join(remote, 'duplicity-full.20270115T090000Z.vol1.difftar.gz'), 'left by a killed run\n');
    const dry = await s.run('a', ['cleanup', '--force', '--dry-run', s.target.url]);
    assert.match(dry.stdout, /duplicity-full\.20270115T090000Z\.vol1\.difftar\.gz/);
    assert.ok(existsSync(join(remote, 'duplicity-full.20270115T090000Z.vol1.difftar.gz')), 'cleanup --dry-run deletes nothing');
    await s.run('a', ['cleanup', s.target.url]);
    await s.run('a', ['verify', s.target.url, s.source]);
    assert.equal(readFileSync(join(remote, LOCK), 'utf8'), foreignLock({}), 'readers leave the lock alone');
  });

  it('a backup never replaces an object at the target: exit 24, the object unchanged', async (t) => {
    const { s, remote } = scenario(t, 'lock-noover');
    const vol1 = `duplicity-full.${timeString(T0)}.vol1.difftar.gz`;
    mkdirSync(remote);
    writeFileSync(join(remote, vol1), 'not yours\n');
    const r = await s.run('a', ['full', '--current-time', String(T0), s.source, s.target.url], 24);
    assert.deepEqual(outputLines(r).slice(-1), [`${s.target.url}: ${vol1} already exists; it is never replaced`]);
    assert.equal(readFileSync(join(remote, vol1), 'utf8'), 'not yours\n');
    assert.ok(!readdirSync(remote).some((n) => n.endsWith('.manifest')));
  });

  it('a held cache lock exits 23 with one line, and leaves no target lock behind', async (t) => {
    const { s, remote } = scenario(t, 'lock-cache');
    await s.run('a', ['full', '--current-time', String(T0), s.source, s.target.url]);
    // the test runner itself is the live holder
    writeFileSync(join(s.work, 'archive', 'a', 'permafrost.lock'), `${process.pid}\n`);
    const r = await s.run('a', ['incremental', '--current-time', String(T1), s.source, s.target.url], 23);
    assert.equal(outputLines(r).length, 1, describeFinished(r));
    assert.match(outputLines(r)[0]!, new RegExp(`another permafrost run \\(pid ${process.pid}\\) holds the lock`));
    assert.ok(!existsSync(join(remote, LOCK)));
  });

  for (const [tool, bin] of [
    ['duplicity 0.8.22', DUP08_PATH],
    ['duplicity 3.x', DUP3_PATH],
  ] as const) {
    it(`${tool} reads, restores and cleans up a target holding a permafrost lock`, async (t) => {
      const { s, remote } = scenario(t, 'lock-dup');
      await s.run('a', ['full', '--current-time', String(T0), s.source, s.target.url]);
      writeFileSync(join(remote, LOCK), foreignLock({}));
      const dup = (...args: string[]) =>
        new Promise<{ code: number | null; out: string }>((resolve) => {
          const c = spawn(bin, [...args, '--no-encryption', '--archive-dir', join(s.work, 'dup-archive')], {
            env: { ...process.env, PASSPHRASE: '' },
          });
          let out = '';
          c.stdout.on('data', (b: Buffer) => (out += b.toString()));
          c.stderr.on('data', (b: Buffer) => (out += b.toString()));
          c.on('close', (code) => resolve({ code, out }));
        });
      const st = await dup('collection-status', s.target.url);
      assert.equal(st.code, 0, st.out);
      assert.match(st.out, /Found primary backup chain/);
      assert.match(st.out, /No orphaned or incomplete backup sets found/);
      const dest = join(s.work, 'dup-restored');
      const rs = await dup('restore', s.target.url, dest);
      assert.equal(rs.code, 0, rs.out);
      assertSameTree(s.source, dest, {}, `${tool} restore`);
      const cl = await dup('cleanup', '--force', s.target.url);
      assert.equal(cl.code, 0, cl.out);
      assert.ok(existsSync(join(remote, LOCK)), `duplicity cleanup left the lock alone:\n${cl.out}`);
    });
  }
});
