/**
 * The retention verbs compared with duplicity 3.x on the target of retention.test.ts (written by
 * duplicity 0.8.22, whose decisions permafrost follows). Where 3.x decides otherwise, the test pins
 * the difference; docs/drafts/verify-retention.md says why (from 3.x's code) and which one we follow.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DUP08_PATH, DUP3_PATH, requireDuplicity } from '../support/duplicity.ts';
import { fileUrl } from '../support/cli.ts';
import { runPermafrost } from '../support/permafrost.ts';
import { tmpDir } from '../support/tmp.ts';
import { HOUR, T0 } from '../support/pf-target.ts';
import { at, buildScenario, chainOf, listDir, runTool, stamp, type Copy, type Outcome } from './retention-harness.ts';

let base: string;

async function runAll(
  label: string,
  verbArgs: readonly string[],
  withCache = true,
  damage?: (c: Copy) => void,
): Promise<{ dup8: Outcome; dup3: Outcome; pf: Outcome }> {
  return {
    dup8: await runTool(base, `${label}-dup8`, { dup: DUP08_PATH }, verbArgs, withCache, damage),
    dup3: await runTool(base, `${label}-dup3`, { dup: DUP3_PATH }, verbArgs, withCache, damage),
    pf: await runTool(base, `${label}-pf`, { dup: null }, verbArgs, withCache, damage),
  };
}

/** permafrost and duplicity 3.x decide the same: the same chains listed, the same files deleted. */
function assertSameAs3(r: { dup3: Outcome; pf: Outcome }, expectSomething: boolean): void {
  const ctx = `\n--- duplicity 3.x ---\n${r.dup3.forceOutput}\n--- permafrost ---\n${r.pf.forceOutput}`;
  assert.deepEqual(r.pf.listedTimes, r.dup3.listedTimes, `listed chains${ctx}`);
  assert.deepEqual(r.pf.deletedRemote, r.dup3.deletedRemote, `remote deletions${ctx}`);
  assert.deepEqual(r.pf.deletedCache, r.dup3.deletedCache, `cache deletions${ctx}`);
  assert.deepEqual(r.pf.order, r.dup3.order, `order of the remote deletions${ctx}`);
  assert.equal(r.dup3.order.length, r.dup3.deletedRemote.length, `every deletion seen in 3.x's debug log${ctx}`);
  assert.equal(r.dup3.deletedRemote.length > 0, expectSomething, `duplicity 3.x deleted ${JSON.stringify(r.dup3.deletedRemote)}`);
}

describe('retention verbs against duplicity 3.x', { timeout: 900_000 }, () => {
  base = tmpDir({ after }, 'retention3');
  before(async () => {
    requireDuplicity();
    await buildScenario(join(base, 'scenario'));
  });

  for (const [name, args, withCache, something] of [
    ['between', ['remove-older-than', at(3.5)], true, true],
    ['inside', ['remove-older-than', at(1.5)], true, false],
    ['inside-active', ['remove-older-than', at(4.5)], true, true],
    ['after-all-nocache', ['remove-older-than', at(50)], false, true],
    ['n1', ['remove-all-but-n-full', '1'], true, true],
    ['n2', ['remove-all-but-n-full', '2'], true, true],
    ['n9', ['remove-all-but-n-full', '9'], true, false],
    ['inc1', ['remove-all-inc-of-but-n-full', '1'], true, true],
    ['inc3', ['remove-all-inc-of-but-n-full', '3'], true, false],
  ] as const) {
    it(`${args.join(' ')}${withCache ? '' : ' (no cache)'}: as 3.x decides`, async () => {
      assertSameAs3(await runAll(name, args, withCache), something);
    });
  }

  it('the listing: the same chains, in 0.8.22\'s wording (3.x says "chain(s)")', async () => {
    const r = await runAll('wording', ['remove-older-than', at(3.5)]);
    assert.equal(r.pf.listed, r.dup8.listed);
    assert.deepEqual(r.pf.listedTimes, r.dup3.listedTimes);
    assert.equal(r.pf.listedTimes.length, 2);
    assert.match(r.dup3.forceOutput + r.dup3.listed, /chain\(s\)/);
  });

  it('the active chain ends before T, with a cache: 3.x keeps its remote signatures, as permafrost (0.8.22 deletes them)', async () => {
    const r = await runAll('after-all-cache', ['remove-older-than', at(50)]);
    assertSameAs3(r, true);
    // 0.8.22 matches the active signature chain by identity, so the remote copy of the cached chain
    // is "not the active one"; 3.x matches by end time
    const activeSigs = r.dup8.deletedRemote.filter((n) => /signatures/.test(n) && (chainOf(4)(n) || chainOf(5)(n)));
    assert.equal(activeSigs.length, 2, r.dup8.deletedRemote.join('\n'));
    assert.deepEqual(
      r.dup3.deletedRemote,
      r.dup8.deletedRemote.filter((n) => !activeSigs.includes(n)),
    );
  });

  for (const [label, cacheToo] of [
    ['interrupted', true],
    ['interrupted-remote', false],
  ] as const) {
    it(`the newest set has no manifest${cacheToo ? '' : ' at the target (the cache has one)'}: 3.x deletes it with --force, permafrost and 0.8.22 leave it to cleanup`, async () => {
      const inc5 = `${stamp(T0 + 4 * HOUR)}.to.${stamp(T0 + 5 * HOUR)}`;
      const damage = (c: Copy): void => {
        for (const d of cacheToo ? [c.remote, c.cache] : [c.remote])
          for (const n of listDir(d)) if (n.includes(inc5) && n.endsWith('.manifest')) rmSync(join(d, n));
      };
      for (const args of [
        ['remove-older-than', at(3.5)],
        ['remove-all-but-n-full', '1'],
      ]) {
        const r = await runAll(`${label}-${args[0]}`, args, true, damage);
        assert.deepEqual(r.pf.deletedRemote, r.dup8.deletedRemote);
        assert.deepEqual(r.pf.deletedCache, r.dup8.deletedCache);
        assert.deepEqual(r.pf.listedTimes, r.dup3.listedTimes);
        // 3.x's maybe_delete_partial: the last set of the newest chain, which 3.x chains even without a manifest
        const leftovers = r.dup3.deletedRemote.filter((n) => !r.pf.deletedRemote.includes(n));
        assert.deepEqual(leftovers, [`duplicity-inc.${inc5}.vol1.difftar.gz`, `duplicity-new-signatures.${inc5}.sigtar.gz`]);
        assert.deepEqual(
          r.pf.deletedRemote,
          r.dup3.deletedRemote.filter((n) => !leftovers.includes(n)),
        );
        assert.match(r.dup3.forceOutput, /Cleaning up previous partial backup set/);
        // permafrost's cleanup --force deletes the same leftovers
        const c = join(base, `${label}-${args[0]}-pf`);
        const clean = await runPermafrost([
          'cleanup',
          '--force',
          '--no-encryption',
          '--archive-dir',
          join(c, 'archive'),
          '--name',
          'n',
          fileUrl(join(c, 'remote')),
        ]);
        assert.equal(clean.code, 0, clean.stderr);
        const remaining = new Set(listDir(join(c, 'remote')));
        assert.deepEqual(
          leftovers.filter((n) => remaining.has(n)),
          [],
        );
      }
    });
  }
});
