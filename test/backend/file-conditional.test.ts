/**
 * The file:// backend's conditional writes (the target lock's store) and its refusal to replace
 * an object, on real files.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import { BackendError } from '../../src/backend/backend.ts';
import { FileBackend } from '../../src/backend/file-backend.ts';
import { tmpDir } from '../support/tmp.ts';

function setup(t: { after(fn: () => void): void }) {
  const dir = tmpDir(t, 'file-conditional');
  return { dir, backend: new FileBackend(dir, `file://${dir}`) };
}

describe('file:// conditional writes', () => {
  it('create if absent, replace and delete only if unchanged; nothing left behind', async (t) => {
    const { dir, backend } = setup(t);
    const c = backend.conditional;
    assert.equal(await c.read('lock'), null);
    const tag1 = await c.write('lock', Buffer.from('one'), 'absent');
    assert.ok(tag1);
    assert.equal(await c.write('lock', Buffer.from('two'), 'absent'), null);
    assert.equal((await c.read('lock'))?.tag, tag1);
    const tag2 = await c.write('lock', Buffer.from('three'), { tag: tag1 });
    assert.ok(tag2 && tag2 !== tag1);
    assert.equal(await c.write('lock', Buffer.from('four'), { tag: tag1 }), null, 'a stale tag replaces nothing');
    assert.equal(await c.remove('lock', tag1), false, 'a stale tag deletes nothing');
    assert.equal(readFileSync(join(dir, 'lock'), 'utf8'), 'three');
    assert.equal(await c.remove('lock', tag2), true);
    assert.equal(await c.read('lock'), null);
    assert.deepEqual(readdirSync(dir), [], 'no temporary or claim file is left');
  });

  it('a live claim on the version blocks a replacement; a claim left by a dead process does not, once stale', async (t) => {
    const { dir, backend } = setup(t);
    const c = backend.conditional;
    const tag = (await c.write('lock', Buffer.from('v1'), 'absent'))!;
    const claim = join(dir, `.permafrost-tmp-claim-${createHash('sha256').update(`lock\0${tag}`).digest('hex').slice(0, 32)}-0`);
    writeFileSync(claim, '');
    assert.equal(await c.write('lock', Buffer.from('v2'), { tag }), null, 'another process is deciding');
    const old = Date.now() / 1000 - 120;
    utimesSync(claim, old, old);
    assert.ok(await c.write('lock', Buffer.from('v2'), { tag }), 'the next generation of claim');
    assert.equal(readFileSync(join(dir, 'lock'), 'utf8'), 'v2');
  });

  it('never replaces an object: exists error, the object unchanged', async (t) => {
    const { dir, backend } = setup(t);
    const local = join(tmpDir(t, 'file-conditional-src'), 'v');
    writeFileSync(local, 'first');
    await backend.putFile(local, 'vol', { role: 'volume' });
    writeFileSync(local, 'second');
    await assert.rejects(backend.putFile(local, 'vol', { role: 'volume', consumeLocal: true }), (err: Error) => {
      assert.ok(err instanceof BackendError && err.code === 'exists');
      assert.equal(err.message, `file://${dir}: vol already exists; it is never replaced`);
      return true;
    });
    assert.equal(readFileSync(join(dir, 'vol'), 'utf8'), 'first');
    assert.deepEqual(readdirSync(dir), ['vol']);
  });
});
