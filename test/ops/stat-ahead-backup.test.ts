/**
 * An incremental of a tree large enough for the stat-ahead walk (src/fs/stat-ahead.ts: lstat on
 * the file writer thread) writes the same bytes as the same incremental walked on the main thread
 * alone (without the chain index, which is what turns the thread on), and finds every kind of
 * change: content, a rewrite that put the mtime back (only the ctime moved), mode, deletions,
 * additions, a new directory.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { MemoryBackend } from '../../src/backend/memory-backend.ts';
import { STAT_AHEAD_MIN_ENTRIES } from '../../src/fs/stat-ahead.ts';
import { backup, type BackupRequest } from '../../src/ops/backup/backup.ts';
import { restore } from '../../src/ops/restore/restore.ts';
import { assertSameTree, EXACT } from '../support/compare.ts';
import { contextDirs, opContext } from '../support/op-context.ts';
import { tmpDir } from '../support/tmp.ts';
import { backupRequest } from '../support/backup-request.ts';

const T0 = 1_800_000_000;
const HOUR = 3600;
const DIRS = 40;
const PER_DIR = Math.ceil(STAT_AHEAD_MIN_ENTRIES / DIRS) + 10;

function request(source: string, chainIndex: boolean): BackupRequest {
  return backupRequest(source, { volsize: 4 * 1024 * 1024, chainIndex });
}

it('an incremental with the stat-ahead walk writes what the main-thread walk writes', { timeout: 600_000 }, async (t) => {
  const work = tmpDir(t, 'stat-ahead-backup');
  const source = join(work, 'source');
  const past = Math.floor(Date.now() / 1000) - HOUR + 0.25;
  for (let d = 0; d < DIRS; d++) {
    const dir = join(source, `d${String(d).padStart(2, '0')}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < PER_DIR; f++) writeFileSync(join(dir, `f${f}`), f % 97 === 0 ? `content ${d} ${f}\n`.repeat(50) : '');
  }
  // (mtimes in the past, and a pause: no file is racy, so none is read again for that reason)
  for (let d = 0; d < DIRS; d++) utimesSync(join(source, `d${String(d).padStart(2, '0')}`), past, past);
  await new Promise((resolve) => setTimeout(resolve, 300));

  const withThread = { backend: new MemoryBackend(), clock: { now: T0 } };
  const mainOnly = { backend: new MemoryBackend(), clock: { now: T0 } };
  const ctxThread = opContext(withThread.backend, withThread.clock, contextDirs(work, 'thread'));
  const ctxMain = opContext(mainOnly.backend, mainOnly.clock, contextDirs(work, 'main'));
  await backup(ctxThread, request(source, true));
  await backup(ctxMain, request(source, false));

  writeFileSync(join(source, 'd03', 'f5'), 'changed\n');
  const kept = statSync(join(source, 'd07', 'f97'));
  writeFileSync(join(source, 'd07', 'f97'), `${'content 7 97\n'.repeat(49)}CONTENT 7 97\n`); // same size
  utimesSync(join(source, 'd07', 'f97'), kept.atime, kept.mtime); // mtime put back: only the ctime moved
  chmodSync(join(source, 'd11', 'f1'), 0o600);
  rmSync(join(source, 'd13', 'f2'));
  rmSync(join(source, 'd39'), { recursive: true });
  mkdirSync(join(source, 'd20', 'new'));
  writeFileSync(join(source, 'd20', 'new', 'x'), 'new file\n');
  await new Promise((resolve) => setTimeout(resolve, 300));

  withThread.clock.now += HOUR;
  mainOnly.clock.now += HOUR;
  const inc = await backup(ctxThread, request(source, true));
  await backup(ctxMain, request(source, false));
  assert.equal(inc.type, 'inc');
  assert.ok(
    ctxThread.reporter.at('debug').some((m) => m.includes('read ahead on the file writer thread')),
    'the incremental used the stat-ahead thread',
  );
  assert.ok(!ctxMain.reporter.at('debug').some((m) => m.includes('read ahead')), 'the other walked on the main thread');

  const files = async (b: MemoryBackend) => {
    const out = new Map<string, string>();
    for (const o of await b.list()) {
      if (!o.name.startsWith('duplicity-inc.') && !o.name.startsWith('duplicity-new-signatures.')) continue;
      const local = join(work, 'got');
      rmSync(local, { force: true });
      await b.getToFile(o.name, local);
      out.set(o.name, readFileSync(local).toString('hex'));
    }
    return out;
  };
  const a = await files(withThread.backend);
  const b = await files(mainOnly.backend);
  assert.equal(a.size, 3, [...a.keys()].join(' '));
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [name, bytes] of a) assert.ok(bytes === b.get(name), `${name} differs`);
  assert.ok(inc.stats.changedFiles >= 3 && inc.stats.deletedFiles > PER_DIR, JSON.stringify(inc.stats));

  const dest = join(work, 'restored');
  await restore(ctxThread, { dest, force: false, dryRun: false, numericOwner: false, restoreOwnership: process.getuid?.() === 0 });
  assertSameTree(source, dest, EXACT);
});
