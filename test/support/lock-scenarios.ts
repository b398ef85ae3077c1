/**
 * The target lock's end-to-end scenarios, run against any target (file:// and S3 on moto): a
 * backup is stopped (SIGSTOP) with part of its volumes uploaded while it holds the target lock,
 * a second writing run is started beside it, and then the backup goes on. The second run must exit
 * 23 with one line naming the backup's process; the backup must succeed and restore to the source.
 * Without the target lock the second run would succeed (cleanup, retention), or collide with the
 * backup's names (a second backup), so each scenario fails if the lock is removed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { assertSameTree } from './compare.ts';
import { describeFinished, outputLines, startRun, stopWhen, type Finished, type StartedRun } from './paused-run.ts';
import { escapeRegExp } from './regex.ts';

export interface LockTarget {
  readonly url: string;
  /** Options every run gets (e.g. the S3 endpoint). */
  readonly extraArgs: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Names at the target. */
  names(): Promise<string[]>;
  remove(name: string): Promise<void>;
}

/** --current-time of the scenarios (2027), so that two backups can aim at the same second. */
export const T0 = 1_800_000_000;
export const T1 = T0 + 3600;
export const T2 = T0 + 7200;

export class LockScenario {
  readonly work: string;
  readonly source: string;
  readonly target: LockTarget;
  #n = 0;

  constructor(work: string, target: LockTarget) {
    this.work = work;
    this.target = target;
    this.source = join(work, 'source');
    // 12 incompressible MiB and some small files: a dozen 1 MiB volumes, so a run stopped after its
    // first volume is mid-way
    mkdirSync(join(this.source, 'big'), { recursive: true });
    for (let i = 0; i < 12; i++) writeFileSync(join(this.source, 'big', `blob${i}`), randomBytes(1 << 20));
    for (let i = 0; i < 20; i++) writeFileSync(join(this.source, `note${i}.txt`), `note ${i}\n`.repeat(i + 1));
  }

  /** `permafrost args` with cache `cache`, unencrypted, 1 MiB volumes. */
  start(cache: string, args: readonly string[]): StartedRun {
    return startRun(
      [
        ...args,
        '--no-encryption',
        '--volsize',
        '1',
        '--archive-dir',
        join(this.work, 'archive'),
        '--name',
        cache,
        ...this.target.extraArgs,
      ],
      this.target.env,
    );
  }

  async run(cache: string, args: readonly string[], expectCode = 0): Promise<Finished> {
    const r = await this.start(cache, args).done;
    assert.equal(r.code, expectCode, `permafrost ${args.join(' ')}\n${describeFinished(r)}`);
    return r;
  }

  /**
   * Starts `full` at `time` and stops it once its first volume is at the target and its manifest
   * is not: it holds the target lock, half done.
   */
  async stoppedBackup(cache: string, time: number, verb = 'full'): Promise<StartedRun> {
    const stamp = timeString(time);
    const run = this.start(cache, [verb, '--current-time', String(time), this.source, this.target.url]);
    const caught = await stopWhen(run, async () => (await this.target.names()).some((n) => n.includes(stamp) && n.includes('.vol1.')));
    const names = await this.target.names();
    if (!caught || names.some((n) => n.includes(stamp) && n.endsWith('.manifest'))) {
      run.resume();
      assert.fail(`the backup was not caught mid-way:\n${describeFinished(await run.done)}`);
    }
    return run;
  }

  async restoreMatches(cache: string, time?: number): Promise<void> {
    const dest = join(this.work, `restored-${this.#n++}`);
    await this.run(cache, ['restore', ...(time !== undefined ? ['--time', String(time)] : []), this.target.url, dest]);
    assertSameTree(this.source, dest, {}, `restore ${time ?? 'latest'}`);
  }
}

/** The loser: exit 23, one line, naming the holder's host, pid, operation and start. */
export function assertLockedOut(r: Finished, holder: StartedRun, operation: string): void {
  assert.equal(r.code, 23, describeFinished(r));
  const lines = outputLines(r);
  assert.equal(lines.length, 1, `one line expected:\n${describeFinished(r)}`);
  assert.match(
    lines[0]!,
    new RegExp(`locked by ${operation} on host ${escapeRegExp(hostname())}, pid ${holder.pid}, since \\d{4}-\\d\\d-\\d\\dT`),
  );
}

/** Runs `second` while a full backup at T1 is stopped half-way, then lets the backup finish. */
export async function whileBackupHoldsLock(
  s: LockScenario,
  backupCache: string,
  second: () => Promise<Finished>,
  operation = 'full backup',
): Promise<Finished> {
  const holder = await s.stoppedBackup(backupCache, T1);
  let r: Finished;
  try {
    r = await second();
  } finally {
    holder.resume();
  }
  const done = await holder.done;
  assert.equal(done.code, 0, `the backup holding the lock:\n${describeFinished(done)}`);
  assertLockedOut(r, holder, operation);
  return r;
}

export async function backupBesideBackup(s: LockScenario, sameCache: boolean): Promise<void> {
  await whileBackupHoldsLock(
    s,
    'a',
    () => s.start(sameCache ? 'a' : 'b', ['full', '--current-time', String(T1), s.source, s.target.url]).done,
  );
  await s.restoreMatches('a');
  // the loser's cache knows nothing wrong: its next backup extends the winner's chain
  await s.run('b', ['incremental', '--current-time', String(T2), s.source, s.target.url]);
  await s.restoreMatches('b');
  await s.restoreMatches('c', T1);
}

export async function cleanupBesideBackup(s: LockScenario): Promise<void> {
  await whileBackupHoldsLock(s, 'a', () => s.start('b', ['cleanup', '--force', s.target.url]).done);
  await s.restoreMatches('c');
}

export async function retentionBesideBackup(s: LockScenario): Promise<void> {
  await s.run('a', ['full', '--current-time', String(T0), s.source, s.target.url]);
  await whileBackupHoldsLock(s, 'a', () => s.start('b', ['remove-all-but-n-full', '1', '--force', s.target.url]).done);
  await s.restoreMatches('c', T0);
  await s.restoreMatches('c', T1);
  // once the backup is done, the retention runs
  await s.run('b', ['remove-all-but-n-full', '1', '--force', s.target.url]);
  await s.restoreMatches('d');
}

/** A volume deleted between its upload and the manifest: the backup fails, and writes no manifest. */
export async function volumeDeletedMidway(s: LockScenario): Promise<void> {
  const holder = await s.stoppedBackup('a', T1);
  const vol1 = (await s.target.names()).find((n) => n.includes(timeString(T1)) && n.includes('.vol1.'))!;
  await s.target.remove(vol1);
  holder.resume();
  const r = await holder.done;
  assert.equal(r.code, 51, describeFinished(r));
  assert.match(outputLines(r).at(-1)!, new RegExp(`${escapeRegExp(vol1)}, uploaded by this backup, is gone; no manifest is written`));
  const names = await s.target.names();
  assert.ok(!names.some((n) => n.endsWith('.manifest')), `no manifest expected: ${names.join(' ')}`);
  assert.ok(!names.includes('permafrost-target.lock'), 'the lock is released');
}

/**
 * The lock taken over while the backup is stopped (as after a stall longer than the staleness
 * time): the backup stops with exit 23, writes no manifest, and leaves the new holder's lock alone.
 */
export async function lockTakenOverMidway(
  s: LockScenario,
  replaceLock: (content: string) => Promise<void>,
  readLock: () => Promise<string>,
): Promise<void> {
  const holder = await s.stoppedBackup('a', T1);
  const theirs = `${JSON.stringify({ host: 'elsewhere', pid: 4242, operation: 'cleanup --force', since: '2027-01-15T09:30:00.000Z', refreshed: 'x', token: 'theirs' })}\n`;
  await replaceLock(theirs);
  holder.resume();
  const r = await holder.done;
  assert.equal(r.code, 23, describeFinished(r));
  assert.match(
    outputLines(r).at(-1)!,
    /^this run lost the target lock permafrost-target\.lock at .* \(it is now held by cleanup --force on host elsewhere, pid 4242, since 2027-01-15T09:30:00\.000Z\); it stops without writing a manifest$/,
  );
  const names = await s.target.names();
  assert.ok(!names.some((n) => n.endsWith('.manifest')), `no manifest expected: ${names.join(' ')}`);
  assert.equal(await readLock(), theirs, "the new holder's lock is left alone");
}

/**
 * A backup stopped by SIGTERM (a `docker stop`, the daemon's stop) while it holds the lock: it
 * ends by that signal, removes its lock on the way out and writes no manifest, so that another
 * run (from another container: another pid namespace, which could not judge the pid) need not
 * wait for the lock to turn stale; the other cache's backup runs at once and restores.
 */
export async function signalReleasesLock(s: LockScenario): Promise<void> {
  const holder = await s.stoppedBackup('a', T1);
  holder.child.kill('SIGTERM');
  holder.resume();
  const r = await holder.done;
  assert.equal(holder.child.signalCode, 'SIGTERM', `the backup ends by the signal:\n${describeFinished(r)}`);
  assert.ok(outputLines(r).includes('SIGTERM: stopping; giving up the target lock first'), describeFinished(r));
  const names = await s.target.names();
  assert.ok(!names.includes('permafrost-target.lock'), `the lock is removed: ${names.join(' ')}`);
  assert.ok(!names.some((n) => n.endsWith('.manifest')), `no manifest expected: ${names.join(' ')}`);
  await s.run('b', ['full', '--current-time', String(T2), s.source, s.target.url]);
  await s.restoreMatches('c');
}

export function timeString(t: number): string {
  return new Date(t * 1000)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}
