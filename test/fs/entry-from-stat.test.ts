import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, lchownSync, lstatSync, mkdirSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { devMajor, devMinor, entryTypeOf, lstatEntry, msFromNs, mtimeSeconds } from '../../src/fs/entry-from-stat.ts';
import { IdNames } from '../../src/fs/ids.ts';
import { Selection } from '../../src/fs/selection.ts';
import { walkSource } from '../../src/fs/walk.ts';
import { cat, isRoot, makeTree, PYTHON, tempDir } from './helpers.ts';
import { trickyTree } from './tricky-tree.ts';

/** What duplicity's ROPath / get_tarinfo would record for each path, computed by python. */
const PY_META = `
import json, os, pwd, grp, stat, sys
out = []
for h in json.load(sys.stdin):
    p = bytes.fromhex(h)
    st = os.lstat(p)
    m = st.st_mode
    t = ('reg' if stat.S_ISREG(m) else 'dir' if stat.S_ISDIR(m) else 'sym' if stat.S_ISLNK(m) else
         'fifo' if stat.S_ISFIFO(m) else 'chr' if stat.S_ISCHR(m) else 'blk' if stat.S_ISBLK(m) else None)
    def name(f, i):
        try: return f(i)[0]
        except KeyError: return ''
    dev = t in ('chr', 'blk')
    out.append({'type': t, 'mode': stat.S_IMODE(m), 'uid': st.st_uid, 'gid': st.st_gid,
                'uname': name(pwd.getpwuid, st.st_uid), 'gname': name(grp.getgrgid, st.st_gid),
                'mtime': int(st.st_mtime), 'size': st.st_size if t == 'reg' else 0,
                'linkname': os.readlink(p).hex() if t == 'sym' else '',
                'devmajor': os.major(st.st_rdev) if dev else 0, 'devminor': os.minor(st.st_rdev) if dev else 0})
json.dump(out, sys.stdout)
`;

function pythonMeta(paths: Buffer[]): unknown[] {
  return JSON.parse(execFileSync(PYTHON, ['-c', PY_META], { input: JSON.stringify(paths.map((p) => p.toString('hex'))) }).toString());
}

/** Sets (sec, nsec) mtimes with os.utime(ns=...) and returns python's int(st_mtime) for each. */
function pythonSetMtimes(paths: Buffer[], times: [number, number][]): number[] {
  const script = `
import json, os, sys
res = []
for h, (s, ns) in json.load(sys.stdin):
    p = bytes.fromhex(h)
    os.utime(p, ns=(0, s * 1000000000 + ns), follow_symlinks=False)
    res.append(int(os.lstat(p).st_mtime))
json.dump(res, sys.stdout)`;
  const input = JSON.stringify(paths.map((p, i) => [p.toString('hex'), times[i]]));
  return JSON.parse(execFileSync(PYTHON, ['-c', script], { input }).toString()) as number[];
}

describe('entry metadata from lstat', () => {
  const tmp = tempDir('pf-meta-');
  before(() => {
    makeTree(tmp.buf, trickyTree());
    if (isRoot) makeTree(tmp.buf, [{ kind: 'chr', path: cat('blk-like'), major: 259, minor: 1_048_575 }]);
    chmodSync(cat(tmp.buf, '/a/b/f'), 0o4755);
    chmodSync(cat(tmp.buf, '/a/b'), 0o2750);
    chmodSync(cat(tmp.buf, '/empty'), 0o1777);
    chmodSync(cat(tmp.buf, '/a-c'), isRoot ? 0o000 : 0o440); // unreadable files are skipped when not root
    if (isRoot) {
      lchownSync(cat(tmp.buf, '/a.b'), 1, 1); // daemon: a name exists
      lchownSync(cat(tmp.buf, '/a b'), 54321, 54322); // no names
      lchownSync(cat(tmp.buf, '/dangling'), 2, 54322);
    }
    pythonSetMtimes(
      [cat(tmp.buf, '/new'), cat(tmp.buf, '/q?'), cat(tmp.buf, '/x]'), cat(tmp.buf, '/link-to-a')],
      [
        [-2, 500_000_000], // -1.5 s: int() truncates to -1
        [4_102_444_800, 0], // 2100-01-01, beyond 2038
        [1_700_000_000, 999_999_999],
        [-86_400 * 365, 1],
      ],
    );
  });
  after(() => tmp.cleanup());

  it('matches what duplicity (python os.lstat, pwd, grp) records for every walked entry', async () => {
    const walked = [];
    for await (const e of walkSource(tmp.buf, Selection.all(tmp.buf), assert.fail)) walked.push(e);
    assert.ok(walked.length > 40);
    const expected = pythonMeta(walked.map((e) => e.path));
    walked.forEach((e, i) => {
      const { index: _index, linkname, ...rest } = e.meta;
      assert.deepEqual({ ...rest, linkname: linkname.toString('hex') }, expected[i], e.path.toString());
    });
  });

  it("gives regular files the stamp python's os.lstat gives (st_mtime_ns, st_ctime_ns, st_ino), others none", async () => {
    const walked = [];
    for await (const e of walkSource(tmp.buf, Selection.all(tmp.buf), assert.fail)) walked.push(e);
    const script = `
import json, os, sys
json.dump([[str(s.st_mtime_ns), str(s.st_ctime_ns), str(s.st_ino)] for s in (os.lstat(bytes.fromhex(h)) for h in json.load(sys.stdin))], sys.stdout)`;
    const expected = JSON.parse(
      execFileSync(PYTHON, ['-c', script], { input: JSON.stringify(walked.map((e) => e.path.toString('hex'))) }).toString(),
    ) as string[][];
    let files = 0;
    walked.forEach((e, i) => {
      if (e.meta.type !== 'reg') {
        assert.equal(e.stamp, null, e.path.toString());
        return;
      }
      files++;
      assert.deepEqual([String(e.stamp!.mtimeNs), String(e.stamp!.ctimeNs), String(e.stamp!.ino)], expected[i], e.path.toString());
    });
    assert.ok(files > 10);
  });

  it('msFromNs(mtimeNs) is the very double of the number lstat (so mtimeSeconds rounds the same)', () => {
    mkdirSync(cat(tmp.buf, '/ms'));
    const times: [number, number][] = [
      [-2, 500_000_000],
      [1_700_000_000, 999_999_999],
      [1_700_000_000, 999_999_700],
      [0, 1],
      [-1, 999_999_999],
      [4_102_444_800, 123_456_789],
    ];
    const paths = times.map((_, i) => cat(tmp.buf, `/ms/${i}`));
    for (const p of paths) writeFileSync(p, '');
    pythonSetMtimes(paths, times);
    for (const p of paths) assert.equal(msFromNs(lstatSync(p, { bigint: true }).mtimeNs), lstatSync(p).mtimeMs, p.toString());
  });

  it('lstatEntry returns null for a socket', async () => {
    assert.equal(await lstatEntry(cat(tmp.buf, '/sock'), [cat('sock')], new IdNames()), null);
    assert.equal(entryTypeOf(lstatSync(cat(tmp.buf, '/sock')).mode), null);
  });

  it("mtimeSeconds(mtimeMs) equals python's int(st_mtime) (property over real files)", () => {
    const nsec = fc.oneof(
      fc.integer({ min: 0, max: 999_999_999 }),
      fc.integer({ min: 999_999_000, max: 999_999_999 }),
      fc.constantFrom(0, 1, 500_000_000),
    );
    const sec = fc.oneof(fc.integer({ min: -2_000_000_000, max: 4_200_000_000 }), fc.integer({ min: -3, max: 3 }));
    const times = fc.sample(fc.tuple(sec, nsec), { numRuns: 300, seed: 99 });
    mkdirSync(cat(tmp.buf, '/mtimes'));
    const paths = times.map((_, i) => cat(tmp.buf, `/mtimes/${i}`));
    for (const p of paths) writeFileSync(p, '');
    // Node cannot set nanoseconds: python stamps each file and reports int(st_mtime).
    const expected = pythonSetMtimes(paths, times);
    times.forEach(([s, ns], i) => {
      assert.equal(mtimeSeconds(lstatSync(paths[i]!).mtimeMs), expected[i], `sec ${s} nsec ${ns}`);
      assert.equal(mtimeSeconds(msFromNs(lstatSync(paths[i]!, { bigint: true }).mtimeNs)), expected[i], `bigint: sec ${s} nsec ${ns}`);
    });
  });

  it("devMajor/devMinor decode dev_t like python's os.major/os.minor", () => {
    const pairs = fc.sample(fc.tuple(fc.integer({ min: 0, max: 0xfffff }), fc.integer({ min: 0, max: 0x7fffffff })), {
      numRuns: 200,
      seed: 5,
    });
    pairs.push([0, 0], [1, 3], [7, 200], [4095, 255], [4096, 256], [0xfffff, 0xfffff]);
    const script = `
import json, os, sys
json.dump([[os.makedev(a, b), os.major(os.makedev(a, b)), os.minor(os.makedev(a, b))] for a, b in json.load(sys.stdin)], sys.stdout)`;
    const rows = JSON.parse(execFileSync(PYTHON, ['-c', script], { input: JSON.stringify(pairs) }).toString()) as [
      number,
      number,
      number,
    ][];
    for (const [dev, major, minor] of rows) {
      if (dev > Number.MAX_SAFE_INTEGER) continue; // not representable in a stat double either
      assert.equal(devMajor(dev), major, `major of ${dev}`);
      assert.equal(devMinor(dev), minor, `minor of ${dev}`);
    }
  });
});
