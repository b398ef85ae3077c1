import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { compareTrees } from './compare.ts';
import { tmpDir } from './tmp.ts';
import { AFTER_2038_MTIME, buildTree, hostileTreeSpec, INVALID_UTF8_NAME, LARGE_FILE, mutateTree, NEGATIVE_MTIME } from './tree.ts';
import { joinBytes, kindOf, mtimeSeconds, walkTree } from './walk.ts';

describe('hostile tree', () => {
  it('has what it promises', (t) => {
    const root = join(tmpDir(t, 'tree'), 'src');
    buildTree(root, hostileTreeSpec(3));
    const entries = walkTree(root);
    const byName = new Map(entries.map((e) => [e.rel.toString('latin1'), e]));
    const get = (p: string) => {
      const e = byName.get(Buffer.from(p).toString('latin1'));
      assert.ok(e, `missing ${p}`);
      return e;
    };
    assert.ok(get(LARGE_FILE).stat.size > 1024n * 1024n);
    assert.equal(get('exact/128k.bin').stat.size, 131_072n);
    assert.equal(get('empty').stat.size, 0n);
    assert.equal(kindOf(get('emptydir').stat), 'dir');
    assert.equal(kindOf(get('special/fifo').stat), 'fifo');
    assert.equal(get('special/hardlink-to-f002').stat.ino, get('small/f002.txt').stat.ino);
    assert.equal(readlinkSync(join(root, 'links/dangling')), 'does/not/exist');
    assert.equal(Number(get('modes/04755').stat.mode & 0o7777n), 0o4755);
    assert.equal(Number(get('modes/readonly0555').stat.mode & 0o7777n), 0o555);
    assert.equal(mtimeSeconds(get('times/before-1970').stat), NEGATIVE_MTIME);
    assert.equal(mtimeSeconds(get('times/after-2038').stat), AFTER_2038_MTIME);
    assert.equal(mtimeSeconds(get('modes/readonly0555').stat), 1_600_000_000, 'directory mtimes are set after their children');
    assert.equal(readFileSync(join(root, 'names/new\nline.txt')).length > 0, true);
    assert.ok(lstatSync(joinBytes(root, Buffer.concat([Buffer.from('names/'), INVALID_UTF8_NAME]))).isFile());
    assert.ok(
      entries.some((e) => e.rel.length > 100),
      'a path longer than 100 bytes',
    );
    if (process.getuid?.() === 0) assert.equal(get('owners/nameless-uid').stat.uid, 4321n);
  });

  it('is the same for the same seed and differs for another', (t) => {
    const dir = tmpDir(t, 'tree-seed');
    const opts = { smallFiles: 30, largeSize: 100_000 };
    buildTree(join(dir, 'a'), hostileTreeSpec(9, opts));
    buildTree(join(dir, 'b'), hostileTreeSpec(9, opts));
    buildTree(join(dir, 'c'), hostileTreeSpec(10, opts));
    assert.deepEqual(compareTrees(join(dir, 'a'), join(dir, 'b')), []);
    assert.notDeepEqual(compareTrees(join(dir, 'a'), join(dir, 'c')), []);
  });
});

describe('mutateTree', () => {
  it('is deterministic, changes the tree at every step and keeps the largest file', (t) => {
    const dir = tmpDir(t, 'mutate');
    const opts = { smallFiles: 40, largeSize: 300_000 };
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    buildTree(a, hostileTreeSpec(4, opts));
    buildTree(b, hostileTreeSpec(4, opts));
    for (let step = 1; step <= 3; step++) {
      const before = join(dir, `before-${step}`);
      execFileSync('cp', ['-a', '--', a, before]);
      const logA = mutateTree(a, 4, step, 1_700_000_000 + step * 1000);
      const logB = mutateTree(b, 4, step, 1_700_000_000 + step * 1000);
      assert.deepEqual(logA, logB);
      assert.deepEqual(compareTrees(a, b), [], `step ${step} is not deterministic`);
      const diffs = compareTrees(before, a);
      for (const kind of ['content differs', 'type ', 'missing from', 'unexpected', 'mode ', 'symlink target']) {
        assert.ok(
          diffs.some((d) => d.includes(kind)),
          `step ${step} made no "${kind}" change:\n${diffs.join('\n')}`,
        );
      }
      assert.ok(lstatSync(join(a, LARGE_FILE)).isFile());
      assert.notEqual(readFileSync(join(a, LARGE_FILE)).compare(readFileSync(join(before, LARGE_FILE))), 0);
    }
  });

  it('gives every file whose content changed a new mtime (duplicity does not compare sizes)', (t) => {
    const dir = tmpDir(t, 'mutate-mtime');
    const root = join(dir, 'src');
    buildTree(root, hostileTreeSpec(8, { smallFiles: 40, largeSize: 200_000 }));
    const before = join(dir, 'before');
    execFileSync('cp', ['-a', '--', root, before]);
    mutateTree(root, 8, 1, 1_700_001_000);
    const old = new Map(walkTree(before).map((e) => [e.rel.toString('hex'), e]));
    let changed = 0;
    for (const e of walkTree(root)) {
      const o = old.get(e.rel.toString('hex'));
      if (!o?.stat.isFile() || !e.stat.isFile()) continue;
      if (!readFileSync(e.abs).equals(readFileSync(o.abs))) {
        changed++;
        assert.notEqual(mtimeSeconds(e.stat), mtimeSeconds(o.stat), `${e.rel.toString()} changed but kept its mtime`);
      }
    }
    assert.ok(changed >= 3);
  });
});
