/**
 * Acceptance tests: permafrost and real duplicity (0.8.22 and 3.x) read each other's backups, at
 * every point in time of a chain, exactly (up to DUPLICITY_FORMAT_LIMITS), with gzip and plain
 * volumes, --volsize 1 so that volumes rotate and files span them.
 *
 * Chains run over one source mutated in place between backups (see tree.ts:mutateTree), so the
 * source path string, and so duplicity's Localdir check, is the same for every writer: no
 * --allow-source-mismatch, permafrost must write the manifest fields duplicity checks. Each backup
 * gets its own --current-time; each point is restored with --time of its backup, into a fresh
 * directory with a fresh archive dir (only the remote counts), and compared with a cp -a snapshot
 * of the source taken when it was backed up.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { backupStep, newChain, remoteFiles, restoreAndCompare } from '../support/chain.ts';
import type { Chain } from '../support/chain.ts';
import { duplicities, requireDuplicity } from '../support/duplicity.ts';
import { permafrost } from '../support/permafrost.ts';
import { tmpDir } from '../support/tmp.ts';

before(() => {
  requireDuplicity();
});

const variants = [
  { compression: true, name: 'gzip' },
  { compression: false, name: 'plain' },
] as const;

for (const { compression, name: variant } of variants) {
  describe(`${variant} volumes`, () => {
    it(`permafrost full + 3 incrementals: duplicity 0.8.22 and 3.x restore every point`, async (t) => {
      const chain = newChain(tmpDir(t, 'pf-writes'), { seed: compression ? 21 : 22, compression, volsize: 1 });
      await backupStep(chain, permafrost, 'full');
      for (let i = 0; i < 3; i++) await backupStep(chain, permafrost, 'incremental');
      assertVolumesRotate(chain);

      for (const dup of duplicities) {
        await t.test(`${dup.label} sees one complete chain of 4 sets`, async () => {
          const r = await dup.collectionStatus(chain.url, {
            archiveDir: join(chain.work, `status-${dup.label.replace(/\W+/g, '-')}`),
            name: chain.name,
            compression,
          });
          assert.match(r.stdout, /Found primary backup chain with matching signature chain/);
          assert.match(r.stdout, /Number of contained backup sets: 4/);
          assert.match(r.stdout, /No orphaned or incomplete backup sets found/);
        });
        for (const point of chain.points) {
          await t.test(`${dup.label} restores step ${point.step} (${point.kind})`, () => restoreAndCompare(chain, dup, point));
        }
      }
    });

    for (const dup of duplicities) {
      it(`${dup.label} full + 3 incrementals: permafrost restores every point, continues the chain, and ${dup.label} restores that`, async (t) => {
        const chain = newChain(tmpDir(t, 'dup-writes'), { seed: compression ? 31 : 32, compression, volsize: 1 });
        await backupStep(chain, dup, 'full');
        for (let i = 0; i < 3; i++) await backupStep(chain, dup, 'incremental');
        assertVolumesRotate(chain);
        for (const point of chain.points) {
          await t.test(`permafrost restores step ${point.step} (${point.kind})`, () => restoreAndCompare(chain, permafrost, point));
        }
        // permafrost's archive dir is empty here: it must take the chain's signatures from the remote.
        const next = await backupStep(chain, permafrost, 'incremental');
        await t.test(`${dup.label} restores permafrost's incremental`, () => restoreAndCompare(chain, dup, next));
        await t.test(`${dup.label} still restores the step before it`, () => restoreAndCompare(chain, dup, chain.points[next.step - 1]!));
        await t.test(`permafrost restores its own incremental`, () => restoreAndCompare(chain, permafrost, next));
      });

      it(`mixed chain, one shared archive dir: ${dup.label} full, permafrost incremental, ${dup.label} incremental; both restore every point`, async (t) => {
        const chain = newChain(tmpDir(t, 'mixed'), { seed: compression ? 41 : 42, compression, volsize: 1, cache: 'shared' });
        await backupStep(chain, dup, 'full');
        await backupStep(chain, permafrost, 'incremental');
        await backupStep(chain, dup, 'incremental');
        for (const point of chain.points) {
          await t.test(`${dup.label} restores step ${point.step} (by ${point.writer})`, () => restoreAndCompare(chain, dup, point));
          await t.test(`permafrost restores step ${point.step} (by ${point.writer})`, () => restoreAndCompare(chain, permafrost, point));
        }
      });
    }
  });
}

/** With --volsize 1 the 1.5 MiB file must span volumes, or the multi-volume paths go untested. */
function assertVolumesRotate(chain: Chain): void {
  const volumes = remoteFiles(chain).filter((f) => /^duplicity-full\.\d{8}T\d{6}Z\.vol\d+\.difftar/.test(f));
  assert.ok(volumes.length >= 2, `the full backup should have several volumes at --volsize 1, got: ${volumes.join(', ') || 'none'}`);
}
