import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  createReadStream,
  existsSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
  symlinkSync,
  utimesSync,
} from 'node:fs';
import { after, describe, it } from 'node:test';
import type { EntryMeta } from '../../src/core/entry.ts';
import { IdNames } from '../../src/fs/ids.ts';
import { isEmptyOrMissingDir, RestoreWriter } from '../../src/fs/restore-writer.ts';
import { Selection } from '../../src/fs/selection.ts';
import { walkSource, type WalkEntry } from '../../src/fs/walk.ts';
import { cat, isRoot, makeTree, PYTHON, tempDir } from './helpers.ts';

/** Python's view of a path (lstat + readlink), independent of the code under test. */
function pyStat(paths: Buffer[]): unknown[] {
  const script = `
import json, os, stat, sys
out = []
for h in json.load(sys.stdin):
    p = bytes.fromhex(h)
    st = os.lstat(p)
    out.append({'fmt': stat.S_IFMT(st.st_mode), 'mode': stat.S_IMODE(st.st_mode), 'uid': st.st_uid, 'gid': st.st_gid,
                'mtime': int(st.st_mtime), 'size': st.st_size if stat.S_ISREG(st.st_mode) else 0,
                'rdev': st.st_rdev, 'link': os.readlink(p).hex() if stat.S_ISLNK(st.st_mode) else None,
                'data': open(p, 'rb').read().hex() if stat.S_ISREG(st.st_mode) else None})
json.dump(out, sys.stdout)`;
  return JSON.parse(execFileSync(PYTHON, ['-c', script], { input: JSON.stringify(paths.map((p) => p.toString('hex'))) }).toString());
}

async function collect(root: Buffer): Promise<WalkEntry[]> {
  const out: WalkEntry[] = [];
  for await (const e of walkSource(root, Selection.all(root), assert.fail)) out.push(e);
  return out;
}

async function restoreAll(
  entries: WalkEntry[],
  target: Buffer,
  options: ConstructorParameters<typeof RestoreWriter>[1] = {},
): Promise<void> {
  const w = new RestoreWriter(target, options);
  for (const e of entries) await w.write(e.meta, e.meta.type === 'reg' ? createReadStream(e.path) : undefined);
  await w.finish();
}

const meta = (index: (string | Buffer)[], type: EntryMeta['type'], extra: Partial<EntryMeta> = {}): EntryMeta => ({
  index: index.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)),
  type,
  mode: type === 'dir' ? 0o755 : 0o644,
  uid: 0,
  gid: 0,
  uname: '',
  gname: '',
  mtime: 1_000_000_000,
  size: 0,
  linkname: Buffer.alloc(0),
  devmajor: 0,
  devminor: 0,
  ...extra,
});

describe('RestoreWriter', () => {
  const tmp = tempDir('pf-restore-');
  after(() => tmp.cleanup());

  it('round-trips a tree: modes incl. setuid, ownership, mtimes (negative, after 2038), symlinks, fifo, devices, odd names', async () => {
    const src = cat(tmp.buf, '/src');
    const bad = cat('odd', [0xff], '\nname');
    makeTree(tmp.buf, [
      { kind: 'dir', path: cat('src/d/e') },
      { kind: 'dir', path: cat('src/empty') },
      { kind: 'file', path: cat('src/d/suid'), data: '#!/bin/sh\n' },
      { kind: 'file', path: cat('src/d/e/big'), data: 'x'.repeat(300_000) },
      { kind: 'file', path: cat('src/old'), data: 'old' },
      { kind: 'file', path: cat('src/future'), data: 'future' },
      { kind: 'file', path: cat('src/none'), data: '' },
      { kind: 'file', path: cat('src/', bad), data: 'bytes' },
      { kind: 'symlink', path: cat('src/dangling'), target: cat('../no/such/', [0xfe]) },
      { kind: 'symlink', path: cat('src/d/up'), target: cat('..') },
      { kind: 'fifo', path: cat('src/fifo') },
      { kind: 'fifo', path: cat('src/fifo', [0xff]) },
      // Special files in a directory whose name is not UTF-8 (made elsewhere, then renamed in).
      { kind: 'dir', path: cat('src/dir', [0xfe]) },
      { kind: 'fifo', path: cat('src/dir', [0xfe], '/fifo') },
      ...(isRoot
        ? [
            { kind: 'chr' as const, path: cat('src/null'), major: 1, minor: 3 },
            { kind: 'chr' as const, path: cat('src/big-dev'), major: 4095, minor: 1_048_575 },
            { kind: 'chr' as const, path: cat('src/dir', [0xfe], '/zero'), major: 1, minor: 5 },
          ]
        : []),
    ]);
    if (isRoot) {
      execFileSync(PYTHON, ['-c', `import os; os.mknod(b'${src.toString()}/loop', 0o660 | 0o060000, os.makedev(7, 200))`]);
      lchownSync(cat(src, '/d/suid'), 1234, 5678);
      lchownSync(cat(src, '/d/e'), 4321, 1); // gid 1 has a name on every system
      lchownSync(cat(src, '/dangling'), 777, 888);
    }
    chmodSync(cat(src, '/d/suid'), 0o4755);
    chmodSync(cat(src, '/d'), 0o2750);
    chmodSync(cat(src, '/empty'), 0o1777);
    chmodSync(cat(src, '/none'), isRoot ? 0o000 : 0o404); // unreadable files are skipped when not root
    chmodSync(cat(src, '/d/e'), 0o500); // not writable: contents must go in before the mode
    utimesSync(cat(src, '/old'), new Date(-86_400_000 * 400), new Date(-86_400_000 * 400));
    utimesSync(cat(src, '/future'), 4_102_444_800, 4_102_444_800);
    utimesSync(cat(src, '/d/e'), 1_234_567_890, 1_234_567_890);
    utimesSync(src, 999_999_999, 999_999_999);
    execFileSync('touch', ['-h', '-d', '@1500000000', cat(src, '/dangling').toString()]);

    const entries = await collect(src);
    const target = cat(tmp.buf, '/restored');
    await restoreAll(entries, target);
    const restored = await collect(target);
    assert.deepEqual(
      restored.map((e) => e.meta.index.map((c) => c.toString('hex'))),
      entries.map((e) => e.meta.index.map((c) => c.toString('hex'))),
    );
    const a = pyStat(entries.map((e) => e.path));
    const b = pyStat(restored.map((e) => e.path));
    a.forEach((x, i) => {
      assert.deepEqual(b[i], x, entries[i]!.path.toString());
    });
    assert.equal(lstatSync(cat(src, '/d/suid')).mode & 0o7777, 0o4755);
    assert.equal(readdirSync(target).filter((n) => n.startsWith('.permafrost')).length, 0, 'no temporary names left');
  });

  it('applies ownership by name unless --numeric-owner', { skip: !isRoot && 'needs root to chown' }, async () => {
    const ids = IdNames.fromText('someone:x:2001:2002::/:/bin/sh\n', 'somegroup:x:3003:\n');
    const file = meta(['f'], 'reg', { uid: 5, gid: 6, uname: 'someone', gname: 'somegroup', mode: 0o6755 });
    for (const numericOwner of [false, true]) {
      const target = cat(tmp.buf, `/owner-${numericOwner}`);
      const w = new RestoreWriter(target, { ids, numericOwner });
      await w.write(meta([], 'dir'));
      await w.write(file, [Buffer.from('x')]);
      await w.finish();
      const st = lstatSync(cat(target, '/f'));
      assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], numericOwner ? [5, 6, 0o6755] : [2001, 3003, 0o6755]);
    }
  });

  it('gives files owned by the restoring user their group in a setgid target too', { skip: !isRoot && 'needs root to chown' }, async () => {
    const euid = process.geteuid!();
    const egid = process.getegid!();
    for (const setgid of [false, true]) {
      const target = cat(tmp.buf, `/setgid-${setgid}`);
      mkdirSync(target);
      // an empty target of another group, setgid or not: new files there would get its group
      lchownSync(target, euid, egid + 4242);
      chmodSync(target, setgid ? 0o2775 : 0o775);
      const w = new RestoreWriter(target);
      await w.write(meta([], 'dir', { uid: euid, gid: egid, uname: '', gname: '' }));
      await w.write(meta(['d'], 'dir', { uid: euid, gid: egid, uname: '', gname: '' }));
      await w.write(meta(['d', 'f'], 'reg', { uid: euid, gid: egid, uname: '', gname: '' }), [Buffer.from('x')]);
      await w.write(meta(['g'], 'reg', { uid: euid, gid: egid + 7, uname: '', gname: '' }), [Buffer.from('y')]);
      await w.finish();
      for (const [rel, gid] of [
        ['/d/f', egid],
        ['/g', egid + 7],
        ['/d', egid],
      ] as const) {
        const st = lstatSync(cat(target, rel));
        assert.deepEqual([st.uid, st.gid], [euid, gid], `setgid ${setgid}: ${rel}`);
      }
    }
  });

  it('does not chown with restoreOwnership: false', async () => {
    const target = cat(tmp.buf, '/no-chown');
    const w = new RestoreWriter(target, { restoreOwnership: false });
    await w.write(meta(['f'], 'reg', { uid: 4242, gid: 4242 }), [Buffer.from('x')]);
    await w.finish();
    assert.equal(lstatSync(cat(target, '/f')).uid, process.geteuid!());
  });

  it('never leaves a partial file under the real name when the data fails', async () => {
    const target = cat(tmp.buf, '/partial');
    const w = new RestoreWriter(target);
    await w.write(meta([], 'dir'));
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.alloc(70_000, 1);
      throw new Error('volume corrupt');
    }
    await assert.rejects(w.write(meta(['f'], 'reg'), failing()), /volume corrupt/);
    assert.deepEqual(readdirSync(target), []);
  });

  it('queues small files to its worker, streams big ones, and gives directories their attributes after their files', async () => {
    const target = cat(tmp.buf, '/many');
    const w = new RestoreWriter(target, { restoreOwnership: false });
    await w.write(meta([], 'dir', { mode: 0o750, mtime: 1_234_567 }));
    await w.write(meta(['ro'], 'dir', { mode: 0o500, mtime: 7_654_321 }));
    const expected = new Map<string, Buffer>();
    for (let i = 0; i < 300; i++) {
      const name = `f${String(i).padStart(3, '0')}`;
      const data = Buffer.alloc(1 + ((i * 7919) % 9000), name);
      expected.set(name, data);
      await w.write(meta(['ro', name], 'reg', { mode: 0o640, mtime: 1_000_000 + i }), [data.subarray(0, 10), data.subarray(10)]);
    }
    const big = Buffer.alloc(2 * 1024 * 1024 + 3, 'big');
    expected.set('zbig', big);
    await w.write(
      meta(['ro', 'zbig'], 'reg', { mode: 0o600, mtime: 42 }),
      (function* () {
        for (let at = 0; at < big.length; at += 65536) yield big.subarray(at, at + 65536);
      })(),
    );
    await w.finish();
    const dir = cat(target, '/ro');
    assert.deepEqual(readdirSync(dir).sort(), [...expected.keys()].sort());
    for (const [name, data] of expected) assert.ok(readFileSync(cat(dir, '/', name)).equals(data), name);
    const st = lstatSync(dir);
    assert.deepEqual([st.mode & 0o7777, Math.trunc(st.mtimeMs / 1000)], [0o500, 7_654_321]);
    const f = lstatSync(cat(dir, '/f299'));
    assert.deepEqual([f.mode & 0o7777, Math.trunc(f.mtimeMs / 1000)], [0o640, 1_000_299]);
    const top = lstatSync(target);
    assert.deepEqual([top.mode & 0o7777, Math.trunc(top.mtimeMs / 1000)], [0o750, 1_234_567]);
  });

  it('reports a file its worker could not create, leaves no partial file, and does not keep the process alive when abandoned', async () => {
    const target = cat(tmp.buf, '/vanishing');
    const w = new RestoreWriter(target);
    await w.write(meta([], 'dir'));
    await w.write(meta(['d'], 'dir'));
    await w.write(meta(['d', 'f'], 'reg'), [Buffer.from('queued, not yet written')]);
    // the directory disappears before the worker gets to the file
    execFileSync('rm', ['-rf', cat(target, '/d').toString()]);
    // as a system call error (code, syscall), which the CLI reports as a local I/O problem (exit 52)
    await assert.rejects(w.finish(), { code: 'ENOENT', syscall: 'open' });
    assert.deepEqual(readdirSync(target), []);
    // abandoned with a file queued and never finished: this test file would not end if the worker kept node alive
    const abandoned = new RestoreWriter(cat(tmp.buf, '/abandoned'));
    await abandoned.write(meta(['x'], 'reg'), [Buffer.from('x')]);
  });

  it('gives queued files their exact modes, whether the umask would change them or not', async () => {
    const target = cat(tmp.buf, '/modes');
    const w = new RestoreWriter(target, { restoreOwnership: false });
    await w.write(meta([], 'dir'));
    const modes = [0o644, 0o640, 0o600, 0o666, 0o777, 0o400, 0o000, 0o4755, 0o2750, 0o1644, 0o6777];
    for (const [i, mode] of modes.entries())
      await w.write(meta([`f${String(i).padStart(2, '0')}`], 'reg', { mode }), [Buffer.from(`file ${i}`)]);
    await w.finish();
    const got = modes.map((_, i) => lstatSync(cat(target, `/f${String(i).padStart(2, '0')}`)).mode & 0o7777);
    assert.deepEqual(
      got.map((m) => m.toString(8)),
      modes.map((m) => m.toString(8)),
      `umask ${process.umask().toString(8)}`,
    );
  });

  it("never replaces a file that appears under a queued file's name", async () => {
    const target = cat(tmp.buf, '/exclusive');
    const w = new RestoreWriter(target, { restoreOwnership: false });
    await w.write(meta([], 'dir'));
    await w.write(meta(['d'], 'dir'));
    await w.write(meta(['d', 'f'], 'reg'), [Buffer.from('from the archive')]);
    // someone else creates the same name before the worker gets there
    writeFileSync(cat(target, '/d/f'), 'theirs');
    await assert.rejects(w.finish(), { code: 'EEXIST' });
    assert.equal(readFileSync(cat(target, '/d/f'), 'utf8'), 'theirs');
  });

  it('refuses entries out of order, and names that could leave the target', async () => {
    const target = cat(tmp.buf, '/hostile');
    const outside = cat(tmp.buf, '/outside');
    mkdirSync(outside);
    const w = new RestoreWriter(target);
    await w.write(meta([], 'dir'));
    await w.write(meta(['b'], 'reg'), []);
    await assert.rejects(w.write(meta(['a'], 'reg'), []), /out of order/);
    await assert.rejects(w.write(meta(['c'], 'reg')), /no data for regular file/);
    for (const bad of ['..', '.', '', 'x/y', 'n\0ul']) {
      await assert.rejects(new RestoreWriter(cat(tmp.buf, '/hostile2'), { force: true }).write(meta([bad], 'reg'), []), /component/);
    }
    // A symlink out of the target followed by an entry "through" it.
    const w2 = new RestoreWriter(cat(tmp.buf, '/hostile3'));
    await w2.write(meta([], 'dir'));
    await w2.write(meta(['link'], 'sym', { linkname: outside }));
    await assert.rejects(w2.write(meta(['link', 'evil'], 'reg'), [Buffer.from('x')]), /not a directory/);
    await assert.rejects(w2.write(meta(['link', 'evil2'], 'dir')), /not a directory|out of order/);
    assert.deepEqual(readdirSync(outside), []);
  });

  it('refuses a non-empty target unless forced, and with force replaces entries of another type', async () => {
    const target = cat(tmp.buf, '/force');
    makeTree(tmp.buf, [
      { kind: 'dir', path: cat('force/was-dir/inner') },
      { kind: 'file', path: cat('force/was-file'), data: 'old' },
      { kind: 'symlink', path: cat('force/was-link'), target: cat('/etc') },
      { kind: 'file', path: cat('force/same'), data: 'old contents' },
      { kind: 'file', path: cat('force/keep'), data: 'untouched' },
    ]);
    await assert.rejects(new RestoreWriter(target).write(meta([], 'dir')), /already exists/);
    const w = new RestoreWriter(target, { force: true });
    await w.write(meta([], 'dir'));
    await w.write(meta(['same'], 'reg'), [Buffer.from('new')]);
    await w.write(meta(['was-dir'], 'reg'), [Buffer.from('now a file')]);
    await w.write(meta(['was-file'], 'dir'));
    await w.write(meta(['was-file', 'child'], 'reg'), [Buffer.from('c')]);
    await w.write(meta(['was-link'], 'dir'));
    await w.write(meta(['was-link', 'x'], 'reg'), [Buffer.from('x')]);
    await w.finish();
    assert.equal(readFileSync(cat(target, '/same'), 'utf8'), 'new');
    assert.equal(readFileSync(cat(target, '/was-dir'), 'utf8'), 'now a file');
    assert.equal(readFileSync(cat(target, '/was-file/child'), 'utf8'), 'c');
    assert.ok(lstatSync(cat(target, '/was-link')).isDirectory());
    assert.ok(!existsSync('/etc/x') || readFileSync('/etc/x', 'utf8') !== 'x');
    assert.equal(readFileSync(cat(target, '/keep'), 'utf8'), 'untouched');
  });

  it('with force, writers started side by side into one new target (shards of an Indexed Job) all use it; without force, one that finds it made by another fails', async () => {
    for (let round = 0; round < 10; round++) {
      const target = cat(tmp.buf, `/side-by-side-${round}`);
      const writers = [0, 1, 2].map(() => new RestoreWriter(target, { force: true }));
      // the three lstat the missing target before any creates it
      await Promise.all(writers.map((w) => w.write(meta([], 'dir'))));
      await Promise.all(writers.map((w, i) => w.write(meta([`f${i}`], 'reg'), [Buffer.from(`${i}`)])));
      await Promise.all(writers.map((w) => w.finish()));
      for (let i = 0; i < 3; i++) assert.equal(readFileSync(cat(target, `/f${i}`), 'utf8'), `${i}`);
    }
    const strict = cat(tmp.buf, '/side-by-side-strict');
    const results = await Promise.allSettled([0, 1].map(() => new RestoreWriter(strict).write(meta([], 'dir'))));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as NodeJS.ErrnoException).code, 'EEXIST');
  });

  it('writes a single file *as* the target path (with data)', async () => {
    const file = cat(tmp.buf, '/single2/out/file.txt');
    const w = new RestoreWriter(file, { subtree: [Buffer.from('a'), Buffer.from('f')] });
    assert.equal(await w.write(meta(['a'], 'dir')), false);
    assert.equal(await w.write(meta(['a', 'f'], 'reg', { mode: 0o600, mtime: 12345 }), [Buffer.from('hello')]), true);
    assert.equal(await w.write(meta(['a', 'g'], 'reg'), [Buffer.from('no')]), false);
    await w.finish();
    assert.equal(readFileSync(file, 'utf8'), 'hello');
    const st = lstatSync(file);
    assert.deepEqual([st.mode & 0o7777, Math.trunc(st.mtimeMs / 1000)], [0o600, 12345]);

    const dir = cat(tmp.buf, '/single2/subdir');
    const w2 = new RestoreWriter(dir, { subtree: [Buffer.from('a')] });
    await w2.write(meta(['a'], 'dir', { mode: 0o711, mtime: 777 }));
    await w2.write(meta(['a', 'f'], 'reg'), [Buffer.from('x')]);
    await w2.write(meta(['a', 'l'], 'sym', { linkname: Buffer.from('f') }));
    await w2.finish();
    assert.equal(readlinkSync(cat(dir, '/l'), 'utf8'), 'f');
    const dst = lstatSync(dir);
    assert.deepEqual([dst.mode & 0o7777, Math.trunc(dst.mtimeMs / 1000)], [0o711, 777]);
  });

  it('creates parent directories missing from the stream', async () => {
    const target = cat(tmp.buf, '/implicit');
    const w = new RestoreWriter(target);
    await w.write(meta(['x', 'y', 'z'], 'reg'), [Buffer.from('deep')]);
    await w.finish();
    assert.equal(readFileSync(cat(target, '/x/y/z'), 'utf8'), 'deep');
  });

  it('makes holes of the zero blocks of a file recorded as sparse only, with or without --force', async () => {
    // 8 MiB: data, 6 MiB of zeros, data, a trailing run of zeros
    const content = Buffer.alloc(8 * 1024 * 1024);
    content.fill(0x61, 0, 100_000);
    content.fill(0x62, 6_500_000, 6_600_000);
    const chunks = () => Array.from({ length: content.length / 65536 }, (_, i) => content.subarray(i * 65536, (i + 1) * 65536));
    for (const force of [false, true]) {
      const target = cat(tmp.buf, `/sparse-${force}`);
      const w = new RestoreWriter(target, { force });
      await w.write(meta([], 'dir'));
      await w.write(meta(['holes'], 'reg', { size: content.length, sparse: true, mode: 0o600 }), chunks());
      await w.write(meta(['whole'], 'reg', { size: content.length }), chunks());
      await w.finish();
      for (const name of ['holes', 'whole']) {
        const path = cat(target, `/${name}`);
        assert.ok(readFileSync(path).equals(content), `${name}: content`);
        assert.equal(lstatSync(path).mtimeMs, 1_000_000_000_000);
      }
      assert.ok(lstatSync(cat(target, '/holes')).blocks * 512 <= 1024 * 1024, `force ${force}: the sparse file is allocated in full`);
      assert.equal(lstatSync(cat(target, '/holes')).mode & 0o7777, 0o600);
      assert.ok(lstatSync(cat(target, '/whole')).blocks * 512 >= content.length, `force ${force}: a file not recorded as sparse got holes`);
    }
  });

  it('isEmptyOrMissingDir', async () => {
    const base = cat(tmp.buf, '/emptiness');
    mkdirSync(cat(base, '/empty'), { recursive: true });
    mkdirSync(cat(base, '/full'));
    writeFileSync(cat(base, '/full/.hidden'), '');
    writeFileSync(cat(base, '/file'), '');
    symlinkSync('empty', cat(base, '/link'));
    assert.equal(await isEmptyOrMissingDir(cat(base, '/missing')), true);
    assert.equal(await isEmptyOrMissingDir(cat(base, '/empty')), true);
    assert.equal(await isEmptyOrMissingDir(cat(base, '/full')), false);
    assert.equal(await isEmptyOrMissingDir(cat(base, '/file')), false);
    assert.equal(await isEmptyOrMissingDir(cat(base, '/link')), false);
  });
});
