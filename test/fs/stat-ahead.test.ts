import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { statAheadOnWriterThread } from '../../src/archive/thread-file.ts';
import { Selection } from '../../src/fs/selection.ts';
import { compareWalkOrder, DirectoryStats, StatAhead } from '../../src/fs/stat-ahead.ts';
import { walkSource, type WalkOptions } from '../../src/fs/walk.ts';
import { cat, isRoot, makeTree, tempDir, type Node } from './helpers.ts';

/** Awkward name bytes: sort traps around '/' (0x2f) and '.', a newline, non-UTF-8 and UTF-8. */
const ODD = [[0x2d], [0x2e, 0x61], [0x30], [0x41], [0x61, 0x0a], [0x20], [0xff, 0xfe], [0xc3, 0xa9], [0x7e], [0x2b]];

/** ~2,900 entries in 3 levels of directories named with ODD bytes, files and symlinks in each. */
function oddTree(top: string): Node[] {
  const nodes: Node[] = [{ kind: 'dir', path: cat(top) }];
  const fill = (dir: Buffer, depth: number): void => {
    for (const [k, name] of ODD.entries()) {
      const p = cat(dir, '/', name);
      if (depth < 3 && k % 3 === 0) {
        nodes.push({ kind: 'dir', path: p });
        fill(p, depth + 1);
      } else nodes.push({ kind: 'file', path: p, data: String(k) });
      nodes.push({ kind: 'file', path: cat(dir, '/', name, 'f', String(depth)), data: 'x' });
      nodes.push({ kind: 'symlink', path: cat(dir, '/', name, 'l'), target: name === ODD[0] ? cat('..') : cat('nowhere') });
    }
  };
  fill(cat(top), 0);
  for (let i = 0; i < 300; i++) nodes.push({ kind: 'file', path: cat(top, '/', ODD[3]!, '/', `wide-${i}`), data: '' });
  return nodes;
}

/** Every field of every entry a walk yields, as text. */
async function walkAll(root: Buffer, options: WalkOptions, args: string[] = []): Promise<string[]> {
  const selection = Selection.fromRules(
    args.map((glob) => ({ kind: 'exclude', glob })),
    root,
    { type: 'dir', dev: lstatSync(root).dev },
  );
  const out: string[] = [];
  const errors: string[] = [];
  for await (const e of walkSource(
    root,
    selection,
    (p, err) => errors.push(`${p.toString('hex')} ${(err as NodeJS.ErrnoException).code}`),
    options,
  )) {
    const { linkname, index, ...rest } = e.meta;
    out.push(
      JSON.stringify({
        ...rest,
        index: index.map((c) => c.toString('hex')),
        linkname: linkname.toString('hex'),
        path: e.path.toString('hex'),
        stamp: e.stamp && `${e.stamp.mtimeNs} ${e.stamp.ctimeNs} ${e.stamp.ino}`,
        sparse: e.sparse,
      }),
    );
  }
  return [...out, ...errors];
}

describe('the stat-ahead walk', () => {
  const tmp = tempDir('pf-ahead-');
  before(() => makeTree(tmp.buf, oddTree('t')));
  after(() => tmp.cleanup());

  it('yields what the serial walk yields, entry for entry, on its own thread and on the writer thread', async () => {
    const root = cat(tmp.buf, '/t');
    const serial = await walkAll(root, { statMode: 'sync' });
    assert.ok(serial.length > 2500, `${serial.length} entries`);
    assert.deepEqual(await walkAll(root, { statThread: true }), serial);
    assert.deepEqual(await walkAll(root, { statThread: statAheadOnWriterThread }), serial);
    assert.deepEqual(await walkAll(root, { statThread: true, slowCallMs: -1 }), serial);
  });

  it('yields what the serial walk yields when directories are excluded (their subtrees pruned)', async () => {
    const root = cat(tmp.buf, '/t');
    for (const globs of [['**/-'], ['**/0', '**/a\n'], [`${root.toString('latin1')}/A`]]) {
      const serial = await walkAll(root, { statMode: 'sync' }, globs);
      assert.deepEqual(await walkAll(root, { statThread: true }, globs), serial, JSON.stringify(globs));
    }
  });

  it('hands over directories in walk order through a small window, and skips pruned subtrees', async () => {
    const root = cat(tmp.buf, '/t');
    const ahead = new StatAhead(root, { window: 5, slowCallMs: 1e9 });
    let directories = 0;
    try {
      const visit = async (dir: Buffer, prune: boolean): Promise<void> => {
        const got = await ahead.take(dir);
        assert.ok(got instanceof DirectoryStats, dir.toString('latin1'));
        directories++;
        const names = readdirSync(dir, { encoding: 'latin1' }).sort();
        assert.deepEqual(
          got.names.map((n) => n.toString('latin1')),
          names,
        );
        for (const [i, name] of got.names.entries()) {
          const path = cat(dir, '/', name);
          const st = lstatSync(path, { bigint: true });
          const mine = got.stats(i);
          assert.ok(typeof mine === 'object' && !(mine instanceof Error));
          assert.equal(mine.stamp.ino, st.ino);
          assert.equal(mine.stamp.mtimeNs, st.mtimeNs);
          assert.equal(mine.mode, Number(st.mode));
          assert.equal(mine.size, Number(st.size));
          if (st.isSymbolicLink()) assert.ok(got.linkname(i)?.length);
          if (st.isDirectory()) {
            // leave every second directory out: the thread must not wait for its listing to be taken
            if (prune && i % 2 === 1) ahead.skip(path);
            else await visit(path, prune);
          }
        }
      };
      await visit(root, true);
      assert.ok(directories > 3);
    } finally {
      ahead.close();
    }
  });

  it('compares paths in the walk order', () => {
    const order = ['/r', '/r/a', '/r/a/b', '/r/a-c', '/r/a\u00ff', '/r/b'].map((s) => Buffer.from(s, 'latin1'));
    for (let i = 0; i < order.length; i++)
      for (let j = 0; j < order.length; j++) assert.equal(Math.sign(compareWalkOrder(order[i]!, order[j]!)), Math.sign(i - j));
  });

  it('skips an entry gone between listing and lstat without an error (/proc/self/fd)', async () => {
    // a listing of /proc/self/fd names the descriptor the listing itself reads through, closed by the time of the lstat
    const names = readdirSync('/proc/self/fd');
    assert.ok(
      names.some((n) => {
        try {
          lstatSync(`/proc/self/fd/${n}`);
          return false;
        } catch {
          return true;
        }
      }),
      'a descriptor of the listing is gone by the time of its lstat',
    );
    for (const options of [
      { statThread: true },
      { statThread: statAheadOnWriterThread },
      // every call "slow": the thread makes the calls concurrently after two entries
      { statThread: true, slowCallMs: -1 },
    ] satisfies WalkOptions[]) {
      const root = Buffer.from('/proc/self/fd');
      const errors: string[] = [];
      const seen: string[] = [];
      for await (const e of walkSource(root, Selection.all(root), (p, err) => errors.push(`${p} ${err.message}`), options)) {
        seen.push(e.meta.type);
      }
      assert.deepEqual(errors, []);
      assert.equal(seen[0], 'dir');
      assert.ok(seen.length > 1 && seen.slice(1).every((t) => t === 'sym'), seen.join());
    }
  });

  it('ends its thread when the consumer stops early', async () => {
    const root = cat(tmp.buf, '/t');
    for await (const _ of walkSource(root, Selection.all(root), assert.fail, { statThread: true })) break;
    // nothing to assert beyond this test's process ending: a thread left running would keep it alive
  });

  it('matches the serial walk on unreadable and unsearchable directories (run as nobody)', {
    skip: !isRoot && 'needs root to switch user',
  }, () => {
    const root = cat(tmp.buf, '/perm');
    makeTree(tmp.buf, [
      { kind: 'dir', path: cat('perm/locked') },
      { kind: 'file', path: cat('perm/locked/inner'), data: 'x' },
      { kind: 'dir', path: cat('perm/listable') },
      { kind: 'file', path: cat('perm/listable/a'), data: 'x' },
      { kind: 'file', path: cat('perm/listable/b'), data: 'x' },
      { kind: 'dir', path: cat('perm/zlast') },
      { kind: 'file', path: cat('perm/zlast/visible'), data: 'x' },
    ]);
    symlinkSync('zlast', cat(root, '/link'));
    chmodSync(cat(root, '/locked'), 0o000);
    chmodSync(cat(root, '/listable'), 0o644); // listed, but its entries cannot be lstat'ed
    chmodSync(tmp.path, 0o755);
    const script = `
      import { walkSource } from ${JSON.stringify(new URL('../../src/fs/walk.ts', import.meta.url).href)};
      import { Selection } from ${JSON.stringify(new URL('../../src/fs/selection.ts', import.meta.url).href)};
      const root = Buffer.from(process.argv[2]);
      const runs = [];
      for (const options of [{ statMode: 'sync' }, { statThread: true }, { statThread: true, slowCallMs: -1 }]) {
        const out = { entries: [], errors: [] };
        for await (const e of walkSource(root, Selection.all(root), (p, err) => out.errors.push([p.toString(), err.code]), options)) out.entries.push(e.meta.index.map(String).join('/'));
        runs.push(out);
      }
      console.log(JSON.stringify(runs));`;
    // a file rather than -e: a worker thread would inherit --input-type and refuse to start
    const scriptPath = cat(tmp.buf, '/walk-as-nobody.mjs');
    writeFileSync(scriptPath, script);
    const r = spawnSync(process.execPath, [scriptPath.toString(), root.toString()], { uid: 65534, gid: 65534, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const [serial, threaded, concurrent] = JSON.parse(r.stdout) as { entries: string[]; errors: [string, string][] }[];
    assert.deepEqual(serial!.entries, ['', 'link', 'listable', 'zlast', 'zlast/visible']);
    assert.deepEqual(serial!.errors, [
      [`${root}/listable/a`, 'EACCES'],
      [`${root}/listable/b`, 'EACCES'],
      [`${root}/locked`, 'EACCES'],
    ]);
    assert.deepEqual(threaded, serial);
    assert.deepEqual(concurrent, serial);
  });
});
