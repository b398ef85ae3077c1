import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RestoreQueue } from '../../src/fs/restore-queue.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';

const hooks = fileCleanup();

/**
 * A tree of many small directories restored through the queue: every directory's mtime must be
 * the archived one, which holds only if no file was created in it after its attributes were set,
 * whichever worker created the file.
 */
async function restoreTree(root: string, threads: number): Promise<void> {
  const q = new RestoreQueue(threads);
  try {
    const attrs = (mode: number, mtime: number) => ({ chown: false, uid: 0, gid: 0, mode, mtimeMs: mtime * 1000 });
    for (let d = 0; d < 120; d++) {
      const dir = join(root, `d${String(d).padStart(3, '0')}`);
      const sub = join(dir, 'sub');
      mkdirSync(sub, { recursive: true });
      for (let f = 0; f < 7 + (d % 40); f++)
        await q.addFile(Buffer.from(dir), Buffer.from(`f${f}`), [Buffer.from(`${d}/${f}`)], attrs(0o644, 1_000 + f));
      for (let f = 0; f < 3; f++)
        await q.addFile(Buffer.from(sub), Buffer.from(`g${f}`), [Buffer.from(`${d}/sub/${f}`)], attrs(0o600, 2_000));
      await q.addDir(Buffer.from(sub), attrs(0o755, 500_000 + d));
      await q.addDir(Buffer.from(dir), attrs(0o750, 600_000 + d));
    }
    await q.close();
  } catch (e) {
    await q.close().catch(() => {});
    throw e;
  }
}

describe('RestoreQueue', () => {
  for (const threads of [1, 2, 3]) {
    it(`applies every directory's attributes after the files in it (${threads} worker thread${threads > 1 ? 's' : ''})`, async () => {
      const root = tmpDir(hooks, `restore-queue-${threads}`);
      await restoreTree(root, threads);
      for (let d = 0; d < 120; d++) {
        const dir = join(root, `d${String(d).padStart(3, '0')}`);
        const top = lstatSync(dir);
        const sub = lstatSync(join(dir, 'sub'));
        assert.deepEqual([top.mode & 0o7777, top.mtimeMs / 1000], [0o750, 600_000 + d], dir);
        assert.deepEqual([sub.mode & 0o7777, sub.mtimeMs / 1000], [0o755, 500_000 + d], `${dir}/sub`);
        assert.equal(readFileSync(join(dir, 'f3'), 'utf8'), `${d}/3`);
        assert.equal(lstatSync(join(dir, 'sub', 'g2')).mtimeMs, 2_000_000);
      }
    });
  }

  it('after a failure, answers the batches already sent before it stops, and throws the first error', async () => {
    const root = tmpDir(hooks, 'restore-queue-fail');
    const q = new RestoreQueue(2);
    const attrs = { chown: false, uid: 0, gid: 0, mode: 0o644, mtimeMs: 0 };
    mkdirSync(join(root, 'ok'));
    for (let f = 0; f < 500; f++) await q.addFile(Buffer.from(join(root, 'ok')), Buffer.from(`f${f}`), [Buffer.alloc(100, 1)], attrs);
    // a directory that does not exist: that worker fails its batch
    await q.addFile(Buffer.from(join(root, 'missing')), Buffer.from('x'), [Buffer.from('x')], attrs);
    await assert.rejects(q.close(), { code: 'ENOENT' });
    // every file sent is complete: none was cut off by the workers' end
    for (let f = 0; f < 500; f++) assert.equal(readFileSync(join(root, 'ok', `f${f}`)).length, 100, `f${f}`);
  });
});
