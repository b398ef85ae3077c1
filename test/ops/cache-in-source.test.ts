/**
 * The users' guide puts the cache (--archive-dir /mnt/backup/src/config) inside the source
 * (SRC=/mnt/backup/src): backup() leaves it out, with a notice, and backs up the rest as before.
 * In process, on the in-memory backend.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { MemoryBackend } from '../../src/backend/memory-backend.ts';
import { backup, type BackupRequest } from '../../src/ops/backup/backup.ts';
import { restore } from '../../src/ops/restore/restore.ts';
import { opContext } from '../support/op-context.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { backupRequest } from '../support/backup-request.ts';

const hooks = fileCleanup();

function request(source: string): BackupRequest {
  return backupRequest(source, { volsize: 1024 * 1024, hostname: 'h' });
}

async function backupAndRestore(source: string, cacheDir: string, work: string, label: string) {
  const backend = new MemoryBackend();
  const clock = { now: 1_800_000_000 };
  const ctx = opContext(backend, clock, { cacheDir, tempRoot: join(work, `tmp-${label}`) });
  await backup(ctx, request(source));
  const dest = join(work, `restored-${label}`);
  await restore(ctx, { dest, force: false, dryRun: false, numericOwner: false, restoreOwnership: false });
  return { dest, notices: ctx.reporter.at('notice') };
}

test('an archive dir inside the source is not backed up, with a notice; one outside is not mentioned', async () => {
  const work = tmpDir(hooks, 'cache-in-source');
  const src = join(work, 'src');
  mkdirSync(join(src, 'data', 'sub'), { recursive: true });
  writeFileSync(join(src, 'data', 'a.txt'), 'a\n');
  writeFileSync(join(src, 'data', 'sub', 'b.txt'), 'b\n');
  // another backup name's cache in the same archive dir: left out too
  mkdirSync(join(src, 'config', 'other-name'), { recursive: true });
  writeFileSync(join(src, 'config', 'other-name', 'lockfile'), '');

  const inside = await backupAndRestore(src, join(src, 'config', 'this-name'), work, 'inside');
  assert.deepEqual(
    inside.notices.filter((n) => n.includes('inside the source')),
    [
      `the cache ${join(src, 'config')} (--archive-dir) lies inside the source ${src}: it is not backed up (put it outside the source to silence this)`,
    ],
  );
  assert.deepEqual(readdirSync(inside.dest).sort(), ['data']);
  assert.equal(readFileSync(join(inside.dest, 'data', 'sub', 'b.txt'), 'utf8'), 'b\n');

  const outside = await backupAndRestore(join(src, 'data'), join(work, 'cache', 'this-name'), work, 'outside');
  assert.deepEqual(
    outside.notices.filter((n) => n.includes('inside the source')),
    [],
  );
  assert.ok(existsSync(join(outside.dest, 'sub', 'b.txt')));
});
