import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { compareIndex } from '../../src/core/path-index.ts';
import { Selection } from '../../src/fs/selection.ts';
import { walkSource, type WalkOptions } from '../../src/fs/walk.ts';
import { cat, duplicitySelect, isRoot, makeTree, ourSelect, showIndex, tempDir, type Node } from './helpers.ts';
import { trickyTree } from './tricky-tree.ts';

// slowCallMs: -1 makes every call "slow": each directory switches to async after two entries.
const MODES: WalkOptions[] = [
  { statMode: 'sync' },
  { statMode: 'async', statConcurrency: 3 },
  { statMode: 'async' },
  { statMode: 'adaptive' },
  { statMode: 'adaptive', slowCallMs: -1, statConcurrency: 2 },
  { statMode: 'sync', statThread: true },
  { statMode: 'adaptive', statThread: true },
  // every call is "slow" on the stat-ahead thread too: each directory goes concurrent after two entries
  { statMode: 'adaptive', statThread: true, slowCallMs: -1, statConcurrency: 2 },
];

describe('walkSource order', () => {
  const tmp = tempDir('pf-walk-');
  before(() => makeTree(tmp.buf, trickyTree()));
  after(() => tmp.cleanup());

  it('is duplicity order on the tricky tree, in every stat mode', async () => {
    const [theirs] = duplicitySelect(tmp.buf, [{ args: [] }]);
    assert.ok(theirs && 'entries' in theirs);
    // The spec's VERIFIED example: a/b/f sorts before a-c.
    const shown = theirs.entries.map(showIndex);
    assert.ok(shown.indexOf('"a/b/f"') < shown.indexOf('"a-c"'));
    assert.ok(!shown.includes('"sock"'), 'sockets are skipped');
    for (const options of MODES) {
      const ours = await ourSelect(tmp.buf, { args: [] }, options);
      assert.ok('entries' in ours);
      assert.deepEqual(ours.entries.map(showIndex), shown, JSON.stringify(options));
    }
  });

  it('is duplicity order on random trees of awkward byte names (property)', async () => {
    const nameByte = fc.constantFrom(0x2d, 0x2e, 0x41, 0x61, 0x62, 0x0a, 0x20, 0x5c, 0xff, 0xc3, 0xa9, 0x7e);
    const name = fc
      .array(nameByte, { minLength: 1, maxLength: 4 })
      .map((a) => Buffer.from(a))
      .filter((n) => !n.equals(Buffer.from('.')) && !n.equals(Buffer.from('..')));
    type T = { name: Buffer; kids: T[] | null };
    const tree: fc.Arbitrary<T[]> = fc.letrec<{ node: T; nodes: T[] }>((tie) => ({
      node: fc.record({ name, kids: fc.option(tie('nodes'), { nil: null, depthSize: 'small' }) }),
      nodes: fc.uniqueArray(tie('node'), { maxLength: 6, selector: (n) => n.name.toString('hex') }),
    })).nodes;
    const samples = fc.sample(tree, { numRuns: 8, seed: 7 });
    for (const [k, sample] of samples.entries()) {
      const dir = cat(tmp.buf, `/random-${k}`);
      const nodes: Node[] = [{ kind: 'dir', path: cat(`random-${k}`) }];
      const add = (prefix: Buffer, ts: T[]): void => {
        for (const t of ts) {
          const p = cat(prefix, '/', t.name);
          if (t.kids === null) nodes.push({ kind: 'file', path: p, data: 'x' });
          else {
            nodes.push({ kind: 'dir', path: p });
            add(p, t.kids);
          }
        }
      };
      add(cat(`random-${k}`), sample);
      makeTree(tmp.buf, nodes);
      const [theirs] = duplicitySelect(dir, [{ args: [] }]);
      assert.ok(theirs && 'entries' in theirs);
      for (const options of MODES) {
        const ours = await ourSelect(dir, { args: [] }, options);
        assert.ok('entries' in ours);
        assert.deepEqual(ours.entries, theirs.entries, `tree ${k} ${JSON.stringify(options)}`);
      }
    }
  });

  it('yields indexes in strictly increasing compareIndex order with correct paths', async () => {
    const seen: { index: readonly Buffer[]; path: Buffer }[] = [];
    for await (const e of walkSource(tmp.buf, Selection.all(tmp.buf), assert.fail)) seen.push({ index: e.meta.index, path: e.path });
    for (let i = 1; i < seen.length; i++) assert.ok(compareIndex(seen[i - 1]!.index, seen[i]!.index) < 0);
    for (const s of seen)
      assert.ok(
        s.path.equals(
          s.index.length === 0 ? tmp.buf : cat(tmp.buf, '/', Buffer.concat(s.index.flatMap((c, i) => (i ? [Buffer.from('/'), c] : [c])))),
        ),
      );
  });

  it('yields only the root when the root is a file or a symlink (not followed)', async () => {
    for (const [name, kind] of [
      ['z/f.txt', 'reg'],
      ['link-to-a', 'sym'],
    ] as const) {
      const root = cat(tmp.buf, '/', name);
      const out = [];
      for await (const e of walkSource(root, Selection.all(root), assert.fail)) out.push(e.meta);
      assert.equal(out.length, 1);
      assert.equal(out[0]!.type, kind);
      assert.deepEqual(out[0]!.index, []);
    }
  });
});

describe('walkSource errors', () => {
  const tmp = tempDir('pf-walkerr-');
  after(() => tmp.cleanup());

  it('reports an entry it cannot lstat (path longer than PATH_MAX) and goes on', async () => {
    // Root bypasses permission bits, so use a path the kernel refuses for everyone: the parent
    // directory path stays under PATH_MAX (4096) but parent + '/' + name does not.
    const root = cat(tmp.buf, '/long');
    let parent = root.toString();
    mkdirSync(parent);
    while (parent.length < 3900) {
      parent = `${parent}/${'d'.repeat(Math.min(250, 4000 - parent.length))}`;
      mkdirSync(parent);
    }
    const longName = 'f'.repeat(255);
    assert.ok(parent.length + 1 + longName.length > 4096);
    // Created relative to the parent: its absolute path is too long for any path-based call.
    execFileSync('touch', [longName, 'ok'], { cwd: parent });
    const errors: { path: string; code: string | undefined }[] = [];
    const names: string[] = [];
    for await (const e of walkSource(root, Selection.all(root), (p, err) =>
      errors.push({ path: p.toString(), code: (err as NodeJS.ErrnoException).code }),
    )) {
      names.push(e.meta.index[e.meta.index.length - 1]?.toString() ?? '.');
    }
    assert.deepEqual(errors, [{ path: `${parent}/${longName}`, code: 'ENAMETOOLONG' }]);
    assert.equal(names[names.length - 1], 'ok', 'the walk continued after the error');
    assert.ok(!names.includes(longName));
    execFileSync('rm', ['-f', longName], { cwd: parent }); // so cleanup can remove the tree
  });

  it('reports unreadable files and directories when not root (run as nobody)', { skip: !isRoot && 'needs root to switch user' }, () => {
    const root = cat(tmp.buf, '/perm');
    makeTree(tmp.buf, [
      { kind: 'dir', path: cat('perm/locked') },
      { kind: 'file', path: cat('perm/locked/inner'), data: 'x' },
      { kind: 'file', path: cat('perm/secret'), data: 'x' },
      { kind: 'file', path: cat('perm/visible'), data: 'x' },
    ]);
    chmodSync(cat(root, '/locked'), 0o000);
    chmodSync(cat(root, '/secret'), 0o000);
    chmodSync(tmp.path, 0o755);
    const script = `
      import { walkSource } from ${JSON.stringify(new URL('../../src/fs/walk.ts', import.meta.url).href)};
      import { Selection } from ${JSON.stringify(new URL('../../src/fs/selection.ts', import.meta.url).href)};
      const root = Buffer.from(process.argv[1]);
      const out = { entries: [], errors: [] };
      for await (const e of walkSource(root, Selection.all(root), (p, err) => out.errors.push([p.toString(), err.code]))) out.entries.push(e.meta.index.map(String).join('/'));
      console.log(JSON.stringify(out));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, root.toString()], {
      uid: 65534,
      gid: 65534,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { entries: string[]; errors: [string, string][] };
    assert.deepEqual(out.entries, ['', 'visible']);
    assert.deepEqual(out.errors, [
      [`${root}/locked`, 'EACCES'],
      [`${root}/secret`, 'EACCES'],
    ]);
  });
});

describe('walkSource with --exclude-other-filesystems', { skip: !isRoot && 'needs root to mount' }, () => {
  it('leaves out what lies on another file system, like duplicity', async (t) => {
    const tmp = tempDir('pf-mnt-');
    const mnt = cat(tmp.buf, '/mnt');
    makeTree(tmp.buf, [
      { kind: 'dir', path: cat('mnt') },
      { kind: 'file', path: cat('before'), data: 'x' },
    ]);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', 'none', mnt.toString()]).status === 0;
    if (!mounted) {
      tmp.cleanup();
      t.skip('mount failed');
      return;
    }
    try {
      writeFileSync(cat(mnt, '/inside'), 'x');
      const cases = [
        { args: [['--exclude-other-filesystems']] as const },
        { args: [['--include', `${tmp.path}/mnt`], ['--exclude-other-filesystems']] as const },
      ];
      const theirs = duplicitySelect(tmp.buf, cases);
      for (const [k, c] of cases.entries()) {
        const ours = await ourSelect(tmp.buf, c);
        assert.deepEqual(ours, theirs[k], `case ${k}`);
      }
      assert.ok('entries' in theirs[0]! && theirs[0].entries.length === 2, 'mount point excluded, before kept');
    } finally {
      spawnSync('umount', [mnt.toString()]);
      tmp.cleanup();
    }
  });
});
