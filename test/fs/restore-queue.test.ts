import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
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

  it('writes every byte right while batch buffers are handed back and reused (empty, tiny, and larger-than-a-batch files among them)', async () => {
    const root = tmpDir(hooks, 'restore-queue-reuse');
    const content = (i: number) => {
      const size = i % 97 === 0 ? 0 : i === 1500 ? 700 * 1024 : 1 + ((i * 7919) % (24 * 1024));
      const b = Buffer.alloc(size);
      for (let k = 0; k < size; k++) b[k] = (i * 131 + k * 7 + (k >> 8)) & 0xff;
      return b;
    };
    const q = new RestoreQueue(2);
    try {
      for (let d = 0; d < 10; d++) mkdirSync(join(root, `d${d}`));
      for (let i = 0; i < 3000; i++) {
        const data = content(i);
        // split like tar data can be, to check the parts are joined in order
        const parts = data.length > 10 ? [data.subarray(0, 10), data.subarray(10)] : [data];
        await q.addFile(Buffer.from(join(root, `d${i % 10}`)), Buffer.from(`f${i}`), parts, {
          chown: false,
          uid: 0,
          gid: 0,
          mode: 0o640,
          mtimeMs: -86_400_000 + i * 1000,
        });
      }
      await q.close();
    } catch (e) {
      await q.close().catch(() => {});
      throw e;
    }
    for (let i = 0; i < 3000; i++) {
      const file = join(root, `d${i % 10}`, `f${i}`);
      assert.ok(readFileSync(file).equals(content(i)), file);
      const st = lstatSync(file);
      assert.deepEqual([st.mode & 0o7777, st.mtimeMs], [0o640, -86_400_000 + i * 1000], file);
    }
  });

  it('an error in the middle of a batch: the files before it complete, the existing file untouched, none after it, the error names the file', async () => {
    const root = tmpDir(hooks, 'restore-queue-middle');
    const dir = join(root, 'mid');
    mkdirSync(dir);
    // user data where the restore wants to create f5 (the queue only serves empty targets, but it
    // must never replace anything)
    writeFileSync(join(dir, 'f5'), 'user data');
    utimesSync(join(dir, 'f5'), 1_000, 1_000);
    const q = new RestoreQueue(1);
    const attrs = { chown: false, uid: 0, gid: 0, mode: 0o644, mtimeMs: 5_000_000 };
    for (let f = 0; f < 10; f++) await q.addFile(Buffer.from(dir), Buffer.from(`f${f}`), [Buffer.alloc(3000, f)], attrs);
    await assert.rejects(q.close(), (e: NodeJS.ErrnoException) => {
      assert.equal(e.code, 'EEXIST');
      assert.match(e.message, /mid\/f5/);
      return true;
    });
    for (let f = 0; f < 5; f++) {
      assert.ok(readFileSync(join(dir, `f${f}`)).equals(Buffer.alloc(3000, f)), `f${f}`);
      assert.equal(lstatSync(join(dir, `f${f}`)).mtimeMs, 5_000_000);
    }
    assert.equal(readFileSync(join(dir, 'f5'), 'utf8'), 'user data');
    assert.equal(lstatSync(join(dir, 'f5')).mtimeMs, 1_000_000);
    for (let f = 6; f < 10; f++) assert.equal(existsSync(join(dir, `f${f}`)), false, `f${f}`);
  });
});
