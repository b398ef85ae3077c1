/**
 * permafrost's change-detection records (`PERMAFROST.stamp`, `PERMAFROST.reread` on signature
 * entries) stay duplicity's format both ways:
 * - a chain whose signatures carry them (and a re-read mark) is extended by duplicity 0.8.22 and
 *   3.x, whose incrementals permafrost extends in turn, and every tool restores the points;
 * - a chain duplicity wrote (no records) is extended by permafrost without re-reading files that
 *   did not change: the old mtime-and-size rule decides where the records are missing.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { backupStep, newChain, remoteFiles, restoreAndCompare, writerCache, type Chain, type ChainPoint } from '../support/chain.ts';
import type { RunResult } from '../support/cli.ts';
import { dup08, dup3, duplicities, requireDuplicity } from '../support/duplicity.ts';
import { permafrost } from '../support/permafrost.ts';
import { tmpDir } from '../support/tmp.ts';
import { TreeMutator } from '../support/tree.ts';
import { mtimeSeconds, walkTree } from '../support/walk.ts';
import { PYTHON } from '../codec/python-oracle.ts';

before(() => {
  requireDuplicity();
});

/** Every PERMAFROST.* record of every entry of the chain's signature files, as python's tarfile reads them. */
function records(chain: Chain): { file: string; name: string; records: Record<string, string> }[] {
  const script = `
import json, sys, tarfile
out = []
for path in sys.argv[1:]:
    with tarfile.open(path) as t:
        for m in t.getmembers():
            out.append({'file': path.rsplit('/', 1)[-1], 'name': m.name, 'records': {k: v for k, v in m.pax_headers.items() if k.startswith('PERMAFROST.')}})
json.dump(out, sys.stdout)`;
  const files = remoteFiles(chain)
    .filter((f) => f.includes('.sigtar'))
    .map((f) => join(chain.remote, f));
  return JSON.parse(execFileSync(PYTHON, ['-c', script, ...files], { encoding: 'utf8', maxBuffer: 64 << 20 })) as {
    file: string;
    name: string;
    records: Record<string, string>;
  }[];
}

function changedFiles(r: RunResult): number {
  const m = /^ChangedFiles (\d+)$/m.exec(r.stdout);
  assert.ok(m, `no ChangedFiles line in\n${r.stdout}`);
  return Number(m[1]);
}

/** A point of the chain for a backup run outside backupStep (no mutation before it). */
function pointAfter(chain: Chain, writer: string, time: number): ChainPoint {
  const snapshot = join(chain.work, `snapshot-${chain.points.length}`);
  execFileSync('cp', ['-a', '--', chain.source, snapshot]);
  const point: ChainPoint = { step: chain.points.length, kind: 'incremental', writer, time, snapshot, mutations: [] };
  chain.points.push(point);
  return point;
}

describe('signatures with change-detection records', () => {
  it('duplicity 0.8.22 and 3.x extend a chain that carries them, permafrost extends theirs, every tool restores', async (t) => {
    const chain = newChain(tmpDir(t, 'records-chain'), { seed: 61, compression: true, volsize: 1 });
    // an mtime ahead of the clock: with --ignore-ctime the entry gets the re-read mark
    const future = join(chain.source, 'future.txt');
    writeFileSync(future, 'from the future\n');
    const ahead = new Date(Date.now() + 86_400_000);
    execFileSync('touch', ['-m', '-d', ahead.toISOString(), future]);
    await backupStep(chain, permafrost, 'full', { extraArgs: ['--ignore-ctime'] });
    await backupStep(chain, permafrost, 'incremental');

    const recs = records(chain);
    const sigEntries = recs.filter((r) => r.name.startsWith('signature/'));
    assert.ok(sigEntries.length > 100);
    for (const r of sigEntries) {
      assert.match(r.records['PERMAFROST.size'] ?? '', /^\d+$/, `${r.file} ${r.name}: size`);
      assert.match(r.records['PERMAFROST.stamp'] ?? '', /^-?\d+ -?\d+ \d+$/, `${r.file} ${r.name}: stamp`);
    }
    assert.ok(
      recs.some((r) => r.name === 'signature/future.txt' && r.records['PERMAFROST.reread'] === 'racy'),
      'future.txt carries the re-read mark',
    );

    await backupStep(chain, dup08, 'incremental');
    await backupStep(chain, dup3, 'incremental');
    const last = await backupStep(chain, permafrost, 'incremental');
    for (const dup of duplicities) {
      await t.test(`${dup.label} sees one complete chain of 5 sets`, async () => {
        const r = await dup.collectionStatus(chain.url, {
          archiveDir: join(chain.work, `status-${dup.label.replace(/\W+/g, '-')}`),
          name: chain.name,
          compression: true,
        });
        assert.match(r.stdout, /Found primary backup chain with matching signature chain/);
        assert.match(r.stdout, /Number of contained backup sets: 5/);
      });
    }
    for (const point of [chain.points[1]!, chain.points[3]!, last]) {
      for (const tool of [dup08, dup3, permafrost]) {
        await t.test(`${tool.label} restores step ${point.step} (by ${point.writer})`, () => restoreAndCompare(chain, tool, point));
      }
    }
  });

  for (const dup of duplicities) {
    it(`permafrost extends a ${dup.label} chain (no records) without re-reading unchanged files`, async (t) => {
      const chain = newChain(tmpDir(t, 'dup-chain'), { seed: dup === dup08 ? 71 : 72, compression: true, volsize: 1 });
      await backupStep(chain, dup, 'full');
      const opts = (time: number) => ({
        archiveDir: writerCache(chain, permafrost),
        name: chain.name,
        compression: true,
        volsize: chain.volsize,
        currentTime: time,
        extraArgs: ['-v', 'info'],
      });
      let time = chain.points[0]!.time + 3600;
      let r = await permafrost.incremental(chain.source, chain.url, opts(time));
      // duplicity stored mtimes before 1970 as 0: those files differ from what it recorded, no other
      const before1970 = walkTree(chain.source)
        .filter((e) => e.stat.isFile() && mtimeSeconds(e.stat) < 0)
        .map((e) => e.rel.toString('utf8'));
      assert.ok(before1970.length > 0 && before1970.length < 5);
      assert.deepEqual(
        [...r.stdout.matchAll(/^M (.+)$/gm)].map((m) => m[1]),
        before1970,
        `only what duplicity recorded differently is read again\n${r.stdout}`,
      );
      assert.equal(changedFiles(r), before1970.length);
      assert.match(r.stdout, /^NewFiles 0$/m);
      pointAfter(chain, permafrost.label, time);

      new TreeMutator(chain.source, 5, 1_700_005_000).rewrite('big/large.bin', 3000);
      time += 3600;
      r = await permafrost.incremental(chain.source, chain.url, opts(time));
      assert.equal(changedFiles(r), 1, r.stdout);
      const changed = pointAfter(chain, permafrost.label, time);

      time += 3600;
      r = await permafrost.incremental(chain.source, chain.url, opts(time));
      assert.equal(changedFiles(r), 0, `the file stored with records is not read again\n${r.stdout}`);
      pointAfter(chain, permafrost.label, time);
      await restoreAndCompare(chain, dup, changed);
      await restoreAndCompare(chain, permafrost, chain.points[chain.points.length - 1]!);
    });
  }
});
