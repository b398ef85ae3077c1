/**
 * The chain index's file format (docs/chain-index.md) under fast-check: any sorted list of records
 * reads back equal; any flipped byte is caught by the checksum (or the header checks); any cut
 * leaves a file that does not open or verify; signatures come back from the store by reference and
 * a damaged store is caught by the record's CRC.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { DamagedCacheError } from '../../src/archive/metadata-cache.ts';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { IndexRecord } from '../../src/archive/chain-index-codec.ts';
import {
  combineRecords,
  IndexFileReader,
  IndexFileWriter,
  IndexUnusableError,
  mergeDelta,
  StoreDamagedError,
  StoreReader,
  StoreWriter,
} from '../../src/archive/chain-index.ts';
import type { EntryMeta, EntryType } from '../../src/core/entry.ts';
import { compareIndex, type PathIndex } from '../../src/core/path-index.ts';
import { tmpDir } from '../support/tmp.ts';

const KEY = { manifest: 'duplicity-full.20270115T080000Z.manifest', signatures: [{ name: 'sig', stat: '1:2:3:4' }] };

const component = fc
  .uint8Array({ minLength: 1, maxLength: 12 })
  .map((a) => Buffer.from(a.map((b) => (b === 0x2f || b === 0 ? 0x41 : b))))
  .filter((b) => !b.equals(Buffer.from('.')) && !b.equals(Buffer.from('..')));
const pathIndex = fc.array(component, { minLength: 0, maxLength: 4 });
const bigint64 = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
const wide = fc.bigInt({ min: -(10n ** 23n), max: 10n ** 23n });
const stamp = fc.option(
  fc.record({
    mtimeNs: fc.option(fc.oneof(bigint64, wide)),
    ctimeNs: fc.option(bigint64),
    ino: fc.option(fc.oneof(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), bigint64)),
    reread: fc.option(fc.constantFrom('racy', 'size', 'unknown')),
  }),
);
const metaFields = fc.record({
  type: fc.constantFrom<EntryType>('reg', 'dir', 'sym', 'fifo', 'chr', 'blk'),
  mode: fc.integer({ min: 0, max: 0o7777 }),
  uid: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  gid: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  uname: fc.constantFrom('', 'root', 'alice', 'ünïcødé'),
  gname: fc.constantFrom('', 'root', 'staff'),
  mtime: fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
  size: fc.oneof(fc.constant(-1), fc.maxSafeNat()),
  linkname: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  devmajor: fc.integer({ min: 0, max: 4095 }),
  devminor: fc.integer({ min: 0, max: 2 ** 20 }),
  sparse: fc.boolean(),
  stamp,
  sig: fc.option(fc.uint8Array({ maxLength: 2000 }).map((a) => Buffer.from(a))),
  tombstone: fc.boolean(),
});

type Fields = typeof metaFields extends fc.Arbitrary<infer T> ? T : never;

/** Records sorted by path, each path once, as an index holds them; signatures only on regular files. */
const drafts = fc.uniqueArray(fc.tuple(pathIndex, metaFields), {
  maxLength: 60,
  selector: ([p]) => p.map((c) => c.toString('hex')).join('/'),
});

/** Paths from a few names (with '-' and '.', which sort before '/' bytewise), so that two lists share many. */
const fewNames = fc.array(
  fc.constantFrom('a', 'b', 'a-c', 'ab', 'b.x').map((c) => Buffer.from(c)),
  { minLength: 0, maxLength: 3 },
);
const overlapping = fc.uniqueArray(fc.tuple(fewNames, metaFields), {
  maxLength: 40,
  selector: ([p]) => p.map((c) => c.toString('hex')).join('/'),
});

function toRecords(list: [PathIndex, Fields][], store: StoreWriter, tombstones: boolean): IndexRecord[] {
  const sorted = [...list].sort((a, b) => compareIndex(a[0], b[0]));
  return sorted.map(([index, d]) => {
    if (tombstones && d.tombstone) return { index, meta: null, stamp: null, sig: null };
    const meta: EntryMeta = {
      index,
      type: d.type,
      mode: d.mode,
      uid: d.uid,
      gid: d.gid,
      uname: d.uname,
      gname: d.gname,
      mtime: d.mtime,
      size: d.size,
      linkname: d.type === 'sym' ? d.linkname : Buffer.alloc(0),
      devmajor: d.type === 'chr' || d.type === 'blk' ? d.devmajor : 0,
      devminor: d.type === 'chr' || d.type === 'blk' ? d.devminor : 0,
      ...(d.sparse && d.type === 'reg' ? { sparse: true as const } : {}),
    };
    const reg = d.type === 'reg';
    return { index, meta, stamp: reg ? d.stamp : null, sig: reg && d.sig ? store.add(d.sig, 0) : null };
  });
}

function normal(r: IndexRecord) {
  return {
    ...r,
    index: r.index.map((c) => c.toString('hex')),
    meta: r.meta ? { ...r.meta, index: null, linkname: r.meta.linkname.toString('hex') } : null,
    stamp: r.stamp ? { ...r.stamp } : null,
  };
}

function writeIndex(dir: string, records: IndexRecord[], store: StoreWriter): string {
  const file = join(dir, 'index');
  const w = new IndexFileWriter(file);
  for (const r of records) w.add(r);
  store.commit();
  w.commit(KEY, [store.name]);
  return file;
}

describe('chain index codec', () => {
  it('reads back every record and every signature as written', (t) => {
    const dir = tmpDir(t, 'chain-index-codec');
    let n = 0;
    fc.assert(
      fc.property(drafts, (list) => {
        const sub = join(dir, String(n++));
        mkdirSync(sub, { recursive: true });
        const store = new StoreWriter(sub);
        const records = toRecords(list, store, true);
        const file = writeIndex(sub, records, store);
        const reader = IndexFileReader.open(file);
        reader.verify();
        assert.deepEqual(reader.header.key, KEY);
        assert.equal(reader.header.records, records.length);
        const back = [...reader.records()];
        assert.deepEqual(back.map(normal), records.map(normal));
        const stores = new StoreReader(sub, reader.header.stores);
        const sorted = [...list].sort((a, b) => compareIndex(a[0], b[0]));
        back.forEach((r, i) => {
          if (r.sig) assert.deepEqual(stores.read(r.sig), sorted[i]![1].sig);
        });
        stores.close();
      }),
      { numRuns: 150 },
    );
  });

  it('reads back paths that share components with the path before (reused when decoded)', (t) => {
    const dir = tmpDir(t, 'chain-index-shared');
    let n = 0;
    fc.assert(
      fc.property(overlapping, (list) => {
        const sub = join(dir, String(n++));
        mkdirSync(sub, { recursive: true });
        const store = new StoreWriter(sub);
        const records = toRecords(list, store, true);
        const file = writeIndex(sub, records, store);
        const back = [...IndexFileReader.open(file).records()];
        assert.deepEqual(
          back.map((r) => r.index.map((c) => c.toString())),
          records.map((r) => r.index.map((c) => c.toString())),
        );
        assert.deepEqual(back.map(normal), records.map(normal));
      }),
      { numRuns: 300 },
    );
  });

  it('finds any flipped byte (checksum) and any cut (trailer or checksum)', (t) => {
    const dir = tmpDir(t, 'chain-index-damage');
    let n = 0;
    fc.assert(
      fc.property(drafts, fc.nat(), fc.integer({ min: 1, max: 255 }), fc.nat(), (list, where, xor, cutAt) => {
        const sub = join(dir, String(n++));
        mkdirSync(sub, { recursive: true });
        const store = new StoreWriter(sub);
        const file = writeIndex(sub, toRecords(list, store, false), store);
        const bytes = readFileSync(file);
        const flipped = Buffer.from(bytes);
        flipped[where % bytes.length]! ^= xor;
        writeFileSync(file, flipped);
        assert.throws(() => IndexFileReader.open(file).verify(), IndexUnusableError);
        writeFileSync(file, bytes);
        truncateSync(file, cutAt % bytes.length);
        assert.throws(() => IndexFileReader.open(file).verify(), IndexUnusableError);
      }),
      { numRuns: 150 },
    );
  });

  it('a file of another version is named as such', (t) => {
    const dir = tmpDir(t, 'chain-index-version');
    const store = new StoreWriter(dir);
    const file = writeIndex(dir, [], store);
    const bytes = readFileSync(file);
    bytes.write('02', 6, 'latin1');
    writeFileSync(file, bytes);
    assert.throws(() => IndexFileReader.open(file), /of another version \(02\)/);
    assert.throws(() => IndexFileReader.open(join(dir, 'nothing')), /missing/);
  });

  it('a damaged store is caught by the signature CRC or its length; the store and the index are deleted', (t) => {
    const dir = tmpDir(t, 'chain-index-store');
    for (const damage of ['flip', 'cut'] as const) {
      const store = new StoreWriter(dir);
      const ref = store.add(Buffer.from('a signature of some bytes'), 0);
      store.commit();
      const file = join(dir, store.name);
      writeFileSync(join(dir, 'index'), 'an index');
      if (damage === 'flip') {
        const bytes = readFileSync(file);
        bytes[3]! ^= 1;
        writeFileSync(file, bytes);
      } else truncateSync(file, 5);
      const reader = new StoreReader(dir, [store.name]);
      assert.throws(
        () => reader.read(ref),
        (err: unknown) => {
          assert.ok(err instanceof StoreDamagedError && err instanceof DamagedCacheError);
          assert.match(err.message, damage === 'flip' ? /signature checksum mismatch/ : /cut short/);
          return true;
        },
      );
      reader.close();
      assert.equal(existsSync(file), false);
      assert.equal(existsSync(join(dir, 'index')), false);
    }
  });

  it('merging a delta into an index (records copied as bytes where they can be) equals combining them record by record', (t) => {
    const dir = tmpDir(t, 'chain-index-merge');
    let n = 0;
    fc.assert(
      fc.property(overlapping, overlapping, (olderList, newerList) => {
        const sub = join(dir, String(n++));
        mkdirSync(sub, { recursive: true });
        const store = new StoreWriter(sub);
        const older = toRecords(olderList, store, false);
        const newer = toRecords(newerList, store, true);
        const oldFile = writeIndex(sub, older, store);
        const merged = new IndexFileWriter(join(sub, 'merged'));
        mergeDelta(merged, IndexFileReader.open(oldFile), newer, 5);
        const header = merged.commit(KEY, []);
        const renumber = (r: IndexRecord): IndexRecord => (r.sig ? { ...r, sig: { ...r.sig, store: 5 } } : r);
        const expected = [...combineRecords(older, newer, renumber)];
        const reader = IndexFileReader.open(join(sub, 'merged'));
        reader.verify();
        assert.deepEqual([...reader.records()].map(normal), expected.map(normal));
        assert.equal(
          header.signatureBytes,
          expected.reduce((sum, r) => sum + (r.sig?.length ?? 0), 0),
        );
      }),
      { numRuns: 150 },
    );
  });

  it('combines: the newer record wins, tombstones remove the path', () => {
    const p = (s: string) => [Buffer.from(s)];
    const rec = (s: string, size: number): IndexRecord => ({
      index: p(s),
      meta: {
        index: p(s),
        type: 'reg',
        mode: 0o644,
        uid: 0,
        gid: 0,
        uname: '',
        gname: '',
        mtime: 0,
        size,
        linkname: Buffer.alloc(0),
        devmajor: 0,
        devminor: 0,
      },
      stamp: null,
      sig: null,
    });
    const older = [rec('a', 1), rec('b', 1), rec('d', 1)];
    const newer = [rec('b', 2), { index: p('d'), meta: null, stamp: null, sig: null }, rec('e', 2)];
    const out = [...combineRecords(older, newer, (r) => r)].map((r) => `${r.index[0]!.toString()}${r.meta!.size}`);
    assert.deepEqual(out, ['a1', 'b2', 'e2']);
  });
});
