/**
 * Self-tests of the interop harness with real duplicity only (0.8.22 and 3.x): a hostile tree
 * survives full + incremental backups and restores at every point in time, exactly, up to the
 * format limits that DUPLICITY_FORMAT_LIMITS documents (and that are asserted here to be the only
 * ones). This proves tree.ts, compare.ts, duplicity.ts and chain.ts right before they judge
 * permafrost, and records what duplicity really round-trips.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { backupStep, newChain, remoteFiles, restoreAndCompare } from '../support/chain.ts';
import type { Chain } from '../support/chain.ts';
import { compareTrees } from '../support/compare.ts';
import { dup08, dup3, duplicities, requireDuplicity } from '../support/duplicity.ts';
import { tmpDir } from '../support/tmp.ts';
import { LARGE_FILE } from '../support/tree.ts';
import { mtimeSeconds, showPath, walkTree } from '../support/walk.ts';

before(() => {
  requireDuplicity();
});

for (const tool of duplicities) {
  const other = tool === dup08 ? dup3 : dup08;
  for (const compression of [true, false]) {
    const variant = compression ? 'gzip' : 'plain';

    it(`${tool.label}, ${variant}: full + 2 incrementals of a hostile tree restore exactly at every point`, async (t) => {
      const chain = newChain(tmpDir(t, 'harness'), { seed: compression ? 11 : 12, compression, volsize: 1 });
      await backupStep(chain, tool, 'full');
      await backupStep(chain, tool, 'incremental');
      await backupStep(chain, tool, 'incremental');
      assertMeaningful(chain);

      for (const point of chain.points) {
        await t.test(`restore step ${point.step}`, () => restoreAndCompare(chain, tool, point));
      }
      const last = chain.points[chain.points.length - 1]!;
      await t.test(`${other.label} restores the last step too`, () => restoreAndCompare(chain, other, last));
      if (!compression) return;

      await t.test('--file-to-restore of one multi-volume file, and of directories', async () => {
        await restoreAndCompare(chain, tool, chain.points[1]!, { fileToRestore: LARGE_FILE });
        await restoreAndCompare(chain, tool, last, { fileToRestore: LARGE_FILE.split('/')[0]! });
        await restoreAndCompare(chain, tool, chain.points[0]!, { fileToRestore: 'names' });
      });

      await t.test('the only differences under a strict comparison are the documented limits', async () => {
        const full = chain.points[0]!;
        const dest = join(chain.work, 'strict');
        await tool.restore(chain.url, dest, {
          archiveDir: join(chain.work, 'strict-cache'),
          name: chain.name,
          compression,
          time: full.time,
        });
        const expected = walkTree(full.snapshot)
          .filter((e) => !e.stat.isSymbolicLink() && mtimeSeconds(e.stat) < 0)
          .map((e) => `${showPath(e.rel)}: mtime ${mtimeSeconds(e.stat)} expected, got 0`);
        assert.ok(expected.length > 0, 'the tree should hold an mtime before 1970');
        assert.deepEqual(compareTrees(full.snapshot, dest), expected);
      });

      await t.test('collection-status sees one chain of three sets', async () => {
        const r = await tool.collectionStatus(chain.url, { archiveDir: join(chain.work, 'status-cache'), name: chain.name, compression });
        assert.match(r.stdout, /Found primary backup chain/);
        assert.match(r.stdout, /Number of contained backup sets: 3/);
      });
    });
  }
}

/** The scenario would prove nothing if the steps did not differ, or if volumes did not rotate. */
function assertMeaningful(chain: Chain): void {
  const fullVolumes = remoteFiles(chain).filter((f) => /^duplicity-full\.\d{8}T\d{6}Z\.vol\d+\.difftar/.test(f));
  assert.ok(fullVolumes.length >= 2, `--volsize 1 should give several volumes, got ${fullVolumes.join(', ')}`);
  for (let k = 1; k < chain.points.length; k++) {
    const diffs = compareTrees(chain.points[k - 1]!.snapshot, chain.points[k]!.snapshot);
    assert.ok(diffs.length >= 10, `step ${k} should change the tree, got: ${diffs.join('; ')}`);
  }
}

describe('the two CLIs differ where cli.ts says they do', () => {
  it('duplicity 3.x rejects --file-to-restore and 0.8.22 rejects --path-to-restore', async (t) => {
    const work = tmpDir(t, 'cli');
    const common = { archiveDir: join(work, 'cache'), name: 'n', expectCode: 'any' as const };
    const r3 = await dup3.restore('file:///nonexistent', join(work, 'd3'), { ...common, extraArgs: ['--file-to-restore', 'x'] });
    assert.notEqual(r3.code, 0);
    assert.match(r3.stdout + r3.stderr, /--file-to-restore was changed in 2\.0\.0/);
    const r08 = await dup08.restore('file:///nonexistent', join(work, 'd08'), { ...common, extraArgs: ['--path-to-restore', 'x'] });
    assert.notEqual(r08.code, 0);
    assert.match(r08.stdout + r08.stderr, /no such option: --path-to-restore/);
  });
});
