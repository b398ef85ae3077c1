/**
 * The rules every backend keeps, as one set of tests (restic's backend/test idea): a new backend
 * joins by calling runBackendConformance from its own test file with a factory for fresh, empty
 * instances. The operations rely on these rules and nothing more; what one backend does beyond
 * them (storage classes, hard links) is tested in that backend's own tests.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BackendError, hasLeftovers, type Backend } from '../../src/backend/backend.ts';
import { crc32c, crc32cBase64 } from '../../src/backend/crc32c.ts';
import { tmpDir, type AfterHook } from '../support/tmp.ts';

/** A fresh, empty backend for one test; the factory registers its own clean-up on `t`. */
export type BackendFactory = (t: AfterHook) => Promise<Backend>;

const VOL = 'duplicity-full.20260101T000000Z.vol1.difftar.gpg';
const MAN = 'duplicity-full.20260101T000000Z.manifest.gpg';
const SIG = 'duplicity-full-signatures.20260101T000000Z.sigtar.gpg';
const LOCK = 'permafrost-target.lock';

async function readAll(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of source) chunks.push(c);
  return Buffer.concat(chunks);
}

function isCode(code: BackendError['code']) {
  return (err: unknown) => {
    assert.ok(err instanceof BackendError, `expected a BackendError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.doesNotMatch(err.message, /\n/, 'one line');
    return true;
  };
}

async function names(backend: Backend): Promise<string[]> {
  return (await backend.list()).map((o) => o.name).sort();
}

export function runBackendConformance(label: string, makeBackend: BackendFactory): void {
  describe(`backend conformance: ${label}`, () => {
    async function setup(t: AfterHook) {
      const backend = await makeBackend(t);
      t.after(() => backend.close());
      const dir = tmpDir(t, 'conformance');
      let n = 0;
      const local = (bytes: Buffer): string => {
        const p = join(dir, `local-${++n}`);
        writeFileSync(p, bytes);
        return p;
      };
      return { backend, dir, local };
    }

    it('is empty at first; a missing object is null to head and the conditional store, not-found to get and getToFile', async (t) => {
      const { backend, dir } = await setup(t);
      assert.deepEqual(await backend.list(), []);
      assert.equal(await backend.head(VOL), null);
      assert.equal(await backend.conditional.read(LOCK), null);
      await assert.rejects(async () => readAll(await backend.get(VOL)), isCode('not-found'));
      await assert.rejects(backend.getToFile(VOL, join(dir, 'out')), isCode('not-found'));
    });

    it('stores files and gives back the same bytes by get, getToFile, head and list', async (t) => {
      const { backend, dir, local } = await setup(t);
      const objects = new Map([
        [VOL, randomBytes(3 * 1024 * 1024 + 17)],
        [MAN, Buffer.from('Hostname example\n')],
        [SIG, Buffer.alloc(0)],
      ]);
      for (const [name, bytes] of objects)
        await backend.putFile(local(bytes), name, { role: name === VOL ? 'volume' : name === MAN ? 'manifest' : 'signature' });
      assert.deepEqual(await names(backend), [...objects.keys()].sort());
      for (const o of await backend.list()) assert.equal(o.size, objects.get(o.name)!.length, o.name);
      for (const [name, bytes] of objects) {
        assert.ok((await readAll(await backend.get(name))).equals(bytes), `get ${name}`);
        const out = join(dir, `got-${name}`);
        await backend.getToFile(name, out);
        assert.ok(readFileSync(out).equals(bytes), `getToFile ${name}`);
        const head = await backend.head(name, { checksum: true });
        assert.equal(head?.name, name);
        assert.equal(head?.size, bytes.length);
        if (head?.crc32c !== undefined)
          assert.equal(head.crc32c, crc32cBase64(crc32c(bytes)), 'a checksum given is the CRC-32C of the bytes');
      }
    });

    it('stores the right bytes when it may take the local file (consumeLocal)', async (t) => {
      const { backend, local } = await setup(t);
      const bytes = randomBytes(70_000);
      await backend.putFile(local(bytes), VOL, { role: 'volume', consumeLocal: true });
      assert.ok((await readAll(await backend.get(VOL))).equals(bytes));
    });

    it('never replaces a name: a second put is refused as "exists" and the first bytes stay', async (t) => {
      const { backend, local } = await setup(t);
      const first = Buffer.from('first version');
      await backend.putFile(local(first), MAN, { role: 'manifest' });
      await assert.rejects(backend.putFile(local(Buffer.from('second, other bytes')), MAN, { role: 'manifest' }), isCode('exists'));
      assert.ok((await readAll(await backend.get(MAN))).equals(first));
      assert.deepEqual(await names(backend), [MAN]);
    });

    it('two puts of one name at once: exactly one stores, and the name holds one whole version', async (t) => {
      const { backend, local } = await setup(t);
      const a = randomBytes(200_000);
      const b = randomBytes(200_001);
      const results = await Promise.allSettled([
        backend.putFile(local(a), VOL, { role: 'volume' }),
        backend.putFile(local(b), VOL, { role: 'volume' }),
      ]);
      const stored = results.filter((r) => r.status === 'fulfilled').length;
      assert.equal(
        stored,
        1,
        `exactly one put wins: ${results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'stored')).join('; ')}`,
      );
      for (const r of results) if (r.status === 'rejected') isCode('exists')(r.reason);
      const got = await readAll(await backend.get(VOL));
      assert.ok(got.equals(results[0]!.status === 'fulfilled' ? a : b), "the winner's bytes, whole");
    });

    it('shows no partial object while a put runs, and nothing after a put that failed', async (t) => {
      const { backend, dir, local } = await setup(t);
      const bytes = randomBytes(6 * 1024 * 1024);
      const put = backend.putFile(local(bytes), VOL, { role: 'volume' });
      let done = false;
      void put.then(
        () => (done = true),
        () => (done = true),
      );
      const seen: number[] = [];
      while (!done) {
        for (const o of await backend.list()) if (o.name === VOL) seen.push(o.size);
        const head = await backend.head(VOL);
        if (head) seen.push(head.size);
        await new Promise((r) => setImmediate(r));
      }
      await put;
      for (const size of seen) assert.equal(size, bytes.length, 'a visible object is whole');
      await assert.rejects(backend.putFile(join(dir, 'no-such-local-file'), SIG, { role: 'signature' }), BackendError);
      assert.deepEqual(await names(backend), [VOL]);
      assert.deepEqual(hasLeftovers(backend) ? await backend.listLeftovers() : [], [], 'no leftovers after a run that ended');
    });

    it('deletes what it is asked to; names that do not exist and an empty list are no error', async (t) => {
      const { backend, local } = await setup(t);
      for (const name of [VOL, MAN, SIG]) await backend.putFile(local(Buffer.from(name)), name, { role: 'volume' });
      await backend.delete([]);
      await backend.delete([VOL, 'duplicity-never-stored.manifest', SIG]);
      assert.deepEqual(await names(backend), [MAN]);
      assert.equal(await backend.head(VOL), null);
      await assert.rejects(async () => readAll(await backend.get(VOL)), isCode('not-found'));
      // a deleted name is free again
      await backend.putFile(local(Buffer.from('again')), VOL, { role: 'volume' });
      assert.equal((await readAll(await backend.get(VOL))).toString(), 'again');
    });

    it('a reader that stops early leaves the backend usable', async (t) => {
      const { backend, local } = await setup(t);
      const bytes = randomBytes(2 * 1024 * 1024);
      await backend.putFile(local(bytes), VOL, { role: 'volume' });
      for await (const chunk of await backend.get(VOL)) {
        assert.ok(chunk.length > 0);
        break;
      }
      assert.ok((await readAll(await backend.get(VOL))).equals(bytes));
    });

    it('conditional store: create if absent, read back with the same tag, replace and remove only with the current tag', async (t) => {
      const { backend } = await setup(t);
      const c = backend.conditional;
      const before = Math.floor(Date.now() / 1000);
      const tag1 = await c.write(LOCK, Buffer.from('one'), 'absent');
      assert.ok(tag1, 'created');
      const read1 = await c.read(LOCK);
      assert.equal(read1?.bytes.toString(), 'one');
      assert.equal(read1?.tag, tag1, 'the tag written is the tag read');
      assert.ok(
        read1.modified >= before - 300 && read1.modified <= Math.floor(Date.now() / 1000) + 300,
        `modified ${read1.modified} is about now`,
      );
      assert.equal(await c.write(LOCK, Buffer.from('two'), 'absent'), null, 'not created over an existing one');
      assert.equal((await c.read(LOCK))?.bytes.toString(), 'one');
      const tag2 = await c.write(LOCK, Buffer.from('three'), { tag: tag1 });
      assert.ok(tag2 && tag2 !== tag1, 'replaced with the current tag; a new tag');
      assert.equal((await c.read(LOCK))?.tag, tag2);
      assert.equal(await c.write(LOCK, Buffer.from('four'), { tag: tag1 }), null, 'a stale tag replaces nothing');
      assert.equal(await c.remove(LOCK, tag1), false, 'a stale tag removes nothing');
      assert.equal((await c.read(LOCK))?.bytes.toString(), 'three');
      assert.equal(await c.remove(LOCK, tag2), true);
      assert.equal(await c.read(LOCK), null);
      assert.equal(await c.remove(LOCK, tag2), false, 'removing what is gone is false');
      assert.equal(await c.write(LOCK, Buffer.from('five'), { tag: tag2 }), null, 'replacing what is gone is null, and creates nothing');
      assert.equal(await c.read(LOCK), null);
      assert.deepEqual(hasLeftovers(backend) ? await backend.listLeftovers() : [], [], 'no temporary or claim file is left');
    });

    it("conditional store: of two creates at once exactly one wins, and the object is the winner's", async (t) => {
      const { backend } = await setup(t);
      const c = backend.conditional;
      for (let round = 0; round < 5; round++) {
        const name = `${LOCK}.${round}`;
        const bytes = [Buffer.from(`first ${round}`), Buffer.from(`second ${round}`)];
        const tags = await Promise.all(bytes.map((b) => c.write(name, b, 'absent')));
        const winners = tags.flatMap((tag, i) => (tag === null ? [] : [i]));
        assert.equal(winners.length, 1, `round ${round}: ${JSON.stringify(tags)}`);
        const read = await c.read(name);
        assert.equal(read?.tag, tags[winners[0]!]);
        assert.ok(read?.bytes.equals(bytes[winners[0]!]!));
      }
    });

    it('conditional store: of two replaces (or a replace and a remove) of one version at once exactly one wins', async (t) => {
      const { backend } = await setup(t);
      const c = backend.conditional;
      const tag = await c.write(LOCK, Buffer.from('base'), 'absent');
      assert.ok(tag);
      const replaced = await Promise.all([c.write(LOCK, Buffer.from('by a'), { tag }), c.write(LOCK, Buffer.from('by b'), { tag })]);
      const winners = replaced.filter((r) => r !== null);
      assert.equal(winners.length, 1, JSON.stringify(replaced));
      const current = await c.read(LOCK);
      assert.ok(current);
      assert.equal(current.tag, winners[0]);
      const [rewrote, removed] = await Promise.all([c.write(LOCK, Buffer.from('by c'), { tag: current.tag }), c.remove(LOCK, current.tag)]);
      assert.equal((rewrote !== null ? 1 : 0) + (removed ? 1 : 0), 1, `rewrite ${String(rewrote)}, remove ${removed}`);
      const after = await c.read(LOCK);
      if (removed) assert.equal(after, null);
      else assert.equal(after?.bytes.toString(), 'by c');
    });
  });
}
