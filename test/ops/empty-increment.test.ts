/**
 * An increment that found no change (issue 14, point 8), in this process on the memory backend:
 * it still has its empty volume 1, but restores of the whole tree skip the set (its signature file
 * lists nothing), so a thaw plan would not restore it either. A set that changed something is
 * read; a signature file that cannot be read means the volume is read, not a failed restore.
 */
import assert from 'node:assert/strict';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { MemoryBackend } from '../../src/backend/memory-backend.ts';
import { ROOT_INDEX } from '../../src/core/path-index.ts';
import { backup, type BackupRequest } from '../../src/ops/backup/backup.ts';
import { restore, selectSets } from '../../src/ops/restore/restore.ts';
import { setsNotTouching } from '../../src/ops/sets-touching.ts';
import { syncedCollection } from '../../src/ops/sync-cache.ts';
import { assertSameTree, EXACT } from '../support/compare.ts';
import { contextDirs, opContext } from '../support/op-context.ts';
import { tmpDir } from '../support/tmp.ts';
import { backupRequest } from '../support/backup-request.ts';

const T0 = 1_800_000_000;
const HOUR = 3600;

function request(source: string): BackupRequest {
  return backupRequest(source);
}

const restoreTo = (dest: string, time?: number) => ({
  dest,
  ...(time !== undefined ? { time } : {}),
  force: false,
  dryRun: false,
  numericOwner: false,
  restoreOwnership: process.getuid?.() === 0,
});

it('a no-change increment keeps its empty volume and is skipped by whole-tree restores', async (t) => {
  const work = tmpDir(t, 'empty-inc');
  const source = join(work, 'source');
  await buildSource(source);
  const backend = new MemoryBackend();
  const clock = { now: T0 };
  const ctx = opContext(backend, clock, contextDirs(work, 'writer'));
  await backup(ctx, request(source));
  clock.now += HOUR;
  const unchanged = await backup(ctx, request(source));
  assert.equal(unchanged.type, 'inc');
  clock.now += HOUR;
  writeFileSync(join(source, 'b.txt'), 'beta, changed\n');
  await backup(ctx, request(source));

  const names = (await backend.list()).map((o) => o.name);
  assert.equal(names.filter((n) => /^duplicity-inc\..*\.vol1\.difftar\.gz$/.test(n)).length, 2, 'both increments have a volume 1');

  const collection = await syncedCollection(ctx);
  const { sets } = selectSets(ctx, collection, undefined);
  const skipped = await setsNotTouching(ctx, collection, sets, ROOT_INDEX);
  assert.deepEqual(
    [...skipped].map((s) => s.endTime),
    [unchanged.endTime],
  );

  const dest = join(work, 'restored');
  const result = await restore(ctx, restoreTo(dest));
  assert.equal(result.volumesRead, 2, 'the full and the changed increment, not the empty volume');
  assertSameTree(source, dest, EXACT);
  // the no-change increment's time is still a state to restore
  const atUnchanged = await restore(ctx, restoreTo(join(work, 'at-unchanged'), unchanged.endTime));
  assert.equal(atUnchanged.setTime, unchanged.endTime);
  assert.equal(atUnchanged.volumesRead, 1);

  // a signature file that does not read: the volume is read instead, the restore works
  const sig = names.find((n) => n.startsWith('duplicity-new-signatures.') && n.includes(`.to.${stamp(unchanged.endTime)}.`))!;
  assert.ok(sig, names.join(' '));
  await backend.delete([sig]);
  const junk = join(work, 'junk');
  writeFileSync(junk, 'not gzip');
  await backend.putFile(junk, sig, { role: 'signature' });
  const fresh = opContext(backend, clock, contextDirs(work, 'fresh'));
  const again = await restore(fresh, restoreTo(join(work, 'again')));
  assert.equal(again.volumesRead, 3);
  assertSameTree(source, join(work, 'again'), EXACT);
  assert.ok(
    fresh.reporter.at('debug').some((m) => m.startsWith(`${sig} not read`)),
    fresh.reporter.lines.join('\n'),
  );
});

/**
 * Files that no backup can take for being written while it read them (src/archive/racy-read.ts):
 * mtimes with a fraction of a second (a fine-grained file system), and a pause after the writes.
 */
async function buildSource(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const past = Math.floor(Date.now() / 1000) - HOUR + 0.123456;
  for (const [name, text] of [
    ['a.txt', 'alpha\n'],
    ['b.txt', 'beta\n'],
  ] as const) {
    writeFileSync(join(dir, name), text);
    utimesSync(join(dir, name), past, past);
  }
  utimesSync(dir, past, past);
  await new Promise((resolve) => setTimeout(resolve, 300));
}

function stamp(epoch: number): string {
  return new Date(epoch * 1000)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}
