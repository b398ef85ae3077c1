import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, lchownSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { compareTrees, DUPLICITY_FORMAT_LIMITS } from './compare.ts';
import { tmpDir } from './tmp.ts';
import { buildTree, hostileTreeSpec, INVALID_UTF8_NAME, NEGATIVE_MTIME, setMtime } from './tree.ts';
import type { TreeSpec } from './tree.ts';
import { joinBytes } from './walk.ts';

const spec: TreeSpec = {
  entries: [
    { kind: 'file', path: 'a.txt', content: 'hello\n', mtime: 1_000 },
    { kind: 'file', path: Buffer.concat([Buffer.from('dir/'), INVALID_UTF8_NAME]), content: 'bytes\n' },
    { kind: 'symlink', path: 'dir/link', target: '../a.txt' },
    { kind: 'dir', path: 'empty', mode: 0o700 },
    { kind: 'file', path: 'old', content: 'x', mtime: NEGATIVE_MTIME },
  ],
};

/** Two identical trees, `a` and `b`, built from `spec`. */
function twoTrees(t: Parameters<typeof tmpDir>[0]): { a: string; b: string } {
  const dir = tmpDir(t, 'compare');
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  buildTree(a, spec);
  buildTree(b, spec);
  return { a, b };
}

describe('compareTrees', () => {
  it('finds no difference between two builds of the same spec, and they are not trivially empty', (t) => {
    const { a, b } = twoTrees(t);
    assert.deepEqual(compareTrees(a, b), []);
    assert.equal(readFileSync(join(a, 'a.txt'), 'utf8'), 'hello\n');
  });

  it('reports a same-size content change, naming invalid UTF-8 as \\xHH', (t) => {
    const { a, b } = twoTrees(t);
    const p = joinBytes(b, Buffer.concat([Buffer.from('dir/'), INVALID_UTF8_NAME]));
    writeFileSync(p, 'BYTES\n');
    setMtime(p, 1_600_000_000);
    const d = compareTrees(a, b);
    assert.equal(d.length, 1);
    assert.match(d[0]!, /^dir\/bad\\xff\\xfe-\\xc3\(: content differs \(sha1 [0-9a-f]{40} expected, got [0-9a-f]{40}\)$/);
  });

  it('reports mode, mtime, symlink target, type, missing and extra entries', (t) => {
    const { a, b } = twoTrees(t);
    chmodSync(join(b, 'a.txt'), 0o4755);
    setMtime(join(b, 'a.txt'), 1_001);
    rmSync(join(b, 'dir/link'));
    symlinkSync('elsewhere', join(b, 'dir/link'));
    rmSync(join(b, 'empty'), { recursive: true });
    writeFileSync(join(b, 'empty'), '');
    writeFileSync(join(b, 'extra'), '');
    rmSync(join(b, 'old'));
    const d = compareTrees(a, b, { rootMeta: false, dirMtime: false });
    assert.deepEqual(d, [
      'a.txt: mode 0644 expected, got 4755',
      'a.txt: mtime 1000 expected, got 1001',
      'dir/link: symlink target ../a.txt expected, got elsewhere',
      'empty: type dir expected, got file',
      `extra: unexpected file in ${b}`,
      `old: missing from ${b} (a file in ${a})`,
    ]);
  });

  it('reports directory mtimes and the root, unless told not to', (t) => {
    const { a, b } = twoTrees(t);
    setMtime(join(b, 'empty'), 5);
    chmodSync(b, 0o700);
    assert.deepEqual(compareTrees(a, b), ['.: mode 0755 expected, got 0700', 'empty: mtime 1600000000 expected, got 5']);
    assert.deepEqual(compareTrees(a, b, { rootMeta: false, dirMtime: false }), []);
  });

  it('ignores symlink mtimes by default only', (t) => {
    const { a, b } = twoTrees(t);
    setMtime(join(b, 'dir/link'), 7, true);
    assert.deepEqual(compareTrees(a, b), []);
    assert.deepEqual(compareTrees(a, b, { symlinkMtime: true }), ['dir/link: mtime 1600000000 expected, got 7']);
  });

  it('DUPLICITY_FORMAT_LIMITS expects 0 for mtimes before 1970, and only for those', (t) => {
    const { a, b } = twoTrees(t);
    setMtime(join(b, 'old'), 0);
    assert.deepEqual(compareTrees(a, b), [`old: mtime ${NEGATIVE_MTIME} expected, got 0`]);
    assert.deepEqual(compareTrees(a, b, DUPLICITY_FORMAT_LIMITS), []);
    setMtime(join(b, 'a.txt'), 0);
    assert.deepEqual(compareTrees(a, b, DUPLICITY_FORMAT_LIMITS), ['a.txt: mtime 1000 expected, got 0']);
  });

  it('reports owners (as root)', { skip: process.getuid?.() !== 0 ? 'chown needs root' : false }, (t) => {
    const { a, b } = twoTrees(t);
    lchownSync(join(b, 'a.txt'), 4321, 0);
    assert.deepEqual(compareTrees(a, b), ['a.txt: owner 0:0 expected, got 4321:0']);
    assert.deepEqual(compareTrees(a, b, { owner: false }), []);
  });

  it('sees a cp -a copy of the hostile tree as equal, and the original as unequal to a fresh build with another seed', (t) => {
    const dir = tmpDir(t, 'compare-hostile');
    buildTree(join(dir, 'one'), hostileTreeSpec(5, { smallFiles: 20, largeSize: 70_000 }));
    execFileSync('cp', ['-a', '--', join(dir, 'one'), join(dir, 'copy')]);
    assert.deepEqual(compareTrees(join(dir, 'one'), join(dir, 'copy')), []);
    buildTree(join(dir, 'two'), hostileTreeSpec(6, { smallFiles: 20, largeSize: 70_000 }));
    assert.ok(compareTrees(join(dir, 'one'), join(dir, 'two')).length > 5);
  });
});
