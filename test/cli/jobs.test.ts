import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, openSync, closeSync, readdirSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { permafrost, runPermafrost } from '../support/permafrost.ts';
import { duplicities, requireDuplicity } from '../support/duplicity.ts';
import { assertSameTree } from '../support/compare.ts';
import { Rng } from '../support/rng.ts';
import { tmpDir } from '../support/tmp.ts';

/** Every file under `dir` (one level of subdirectories, as the cache has), by relative name. */
function filesOf(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const rel = join(e.parentPath, e.name).slice(dir.length + 1);
    out.set(rel, readFileSync(join(dir, rel)));
  }
  return out;
}

describe('--jobs N', () => {
  it('writes byte-identical volumes, signatures and manifests for 1, 2 and 3 workers, and duplicity restores them', async (t) => {
    requireDuplicity();
    const root = tmpDir(t, 'jobs');
    const src = join(root, 'src');
    mkdirSync(join(src, 'docs'), { recursive: true });
    mkdirSync(join(src, 'bin'));
    const rng = new Rng(18);
    // about 6 MiB: text (deflated), random data (stored), a sparse file (known zeros), many
    // small files; --volsize 1 makes volumes rotate, so their cut is compared too
    for (let i = 0; i < 300; i++) writeFileSync(join(src, 'docs', `f${i}.txt`), rng.words(1 + rng.int(8000)));
    for (let i = 0; i < 6; i++) writeFileSync(join(src, 'bin', `r${i}.bin`), rng.bytes(300_000 + rng.int(400_000)));
    writeFileSync(join(src, 'big.txt'), rng.words(1_500_000));
    const fd = openSync(join(src, 'sparse.img'), 'w');
    writeSync(fd, rng.bytes(4096), 0, 4096, 1_000_000);
    closeSync(fd);

    const runs = new Map<number, { target: Map<string, Buffer>; cache: Map<string, Buffer> }>();
    for (const jobs of [1, 2, 3]) {
      const target = join(root, `target-${jobs}`);
      const cache = join(root, `cache-${jobs}`);
      await permafrost.full(src, `file://${target}`, {
        archiveDir: cache,
        name: 'n',
        volsize: 1,
        currentTime: 1_700_000_000,
        extraArgs: ['--jobs', String(jobs)],
      });
      const cached = filesOf(cache);
      // permafrost's record of checked cache files holds their inode and ctime, which differ
      cached.delete(join('n', 'permafrost-checked.json'));
      // the chain index (docs/chain-index.md) is local, with store files named at random; the
      // signatures it holds are the signature files' own, compared above
      for (const name of [...cached.keys()]) if (name.startsWith(join('n', 'permafrost-index.v1'))) cached.delete(name);
      runs.set(jobs, { target: filesOf(target), cache: cached });
    }
    const one = runs.get(1)!;
    assert.ok([...one.target.keys()].filter((n) => n.includes('.vol')).length >= 4, 'the volumes did not rotate');
    for (const jobs of [2, 3]) {
      const run = runs.get(jobs)!;
      for (const [what, a, b] of [
        ['target', one.target, run.target],
        ['cache', one.cache, run.cache],
      ] as const) {
        assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort(), `--jobs ${jobs}: other ${what} files`);
        for (const [name, bytes] of a) assert.ok(b.get(name)!.equals(bytes), `--jobs ${jobs}: ${what} file ${name} differs from --jobs 1`);
      }
    }

    for (const dup of duplicities) {
      const out = join(root, `restored-${dup.label.replace(/\W+/g, '-')}`);
      await dup.restore(`file://${join(root, 'target-2')}`, out, {
        archiveDir: join(root, `dupcache-${dup.label.replace(/\W+/g, '-')}`),
        name: 'n',
      });
      assertSameTree(src, out, {}, `${dup.label} restoring a --jobs 2 backup`);
    }
  });

  it('rejects a count below 1 with a usage error (exit 2)', async (t) => {
    const root = tmpDir(t, 'jobs-bad');
    for (const bad of ['0', '-1', 'all']) {
      const r = await runPermafrost(['full', '--no-encryption', '--jobs', bad, root, `file://${join(root, 'target')}`]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /option --jobs: /);
    }
  });
});
