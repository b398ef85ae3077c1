/**
 * The retention verbs decide what duplicity 0.8.22 decides. One target with several chains and an
 * orphaned incremental is written by real duplicity; for each case both tools run on their own
 * copy of it (target and cache), first without --force (nothing may change; the same chains are
 * listed), then with --force, and the files each deleted, remote and in the cache, are compared.
 *
 * The one intended difference (see src/ops/retention/retention.ts): when the active chain ends before the
 * removal time and the cache holds its signatures, duplicity deletes the active chain's remote
 * signatures; permafrost keeps them (as duplicity 3.x does). The harness is retention-harness.ts;
 * the same comparison with duplicity 3.x is retention-dup3.test.ts.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileUrl } from '../support/cli.ts';
import { DUP08_PATH, requireDuplicity } from '../support/duplicity.ts';
import { runPermafrost } from '../support/permafrost.ts';
import { tmpDir } from '../support/tmp.ts';
import { HOUR, T0 } from '../support/pf-target.ts';
import { at, buildScenario, chainOf, copyScenario, runTool, type Outcome } from './retention-harness.ts';

let base: string;

async function runBoth(label: string, verbArgs: readonly string[], withCache = true): Promise<{ dup: Outcome; pf: Outcome }> {
  const dup = await runTool(base, `${label}-dup`, { dup: DUP08_PATH }, verbArgs, withCache);
  const pf = await runTool(base, `${label}-pf`, { dup: null }, verbArgs, withCache);
  return { dup, pf };
}

function assertSame(r: { dup: Outcome; pf: Outcome }, expectSomething: boolean): void {
  assert.equal(r.pf.listed, r.dup.listed, 'listing without --force');
  assert.deepEqual(
    r.pf.deletedRemote,
    r.dup.deletedRemote,
    `remote deletions\n--- duplicity ---\n${r.dup.forceOutput}\n--- permafrost ---\n${r.pf.forceOutput}`,
  );
  assert.deepEqual(r.pf.deletedCache, r.dup.deletedCache, 'cache deletions');
  assert.deepEqual(r.pf.order, r.dup.order, 'order of the remote deletions');
  assert.equal(r.dup.deletedRemote.length > 0, expectSomething, `duplicity deleted ${JSON.stringify(r.dup.deletedRemote)}`);
}

describe('retention verbs against duplicity 0.8.22', { timeout: 600_000 }, () => {
  base = tmpDir({ after }, 'retention');
  before(async () => {
    requireDuplicity();
    await buildScenario(join(base, 'scenario'));
  });

  it('remove-older-than a time between chains deletes the older chains whole, signatures and cache included', async () => {
    const r = await runBoth('between', ['remove-older-than', at(3.5)]);
    assertSame(r, true);
    assert.ok(r.pf.order.filter((n) => n.includes('.vol')).length >= 5, r.pf.order.join('\n'));
    // the chains ending at 2 h and 3 h, not the orphaned incremental nor the active chain
    assert.ok(
      r.pf.deletedRemote.every((n) => chainOf(0)(n) || chainOf(1)(n) || chainOf(2)(n) || chainOf(3)(n)),
      r.pf.deletedRemote.join('\n'),
    );
    assert.ok(r.pf.deletedRemote.some((n) => n.includes('full-signatures')) && r.pf.deletedCache.length > 0);
  });

  it('remove-older-than a time inside a chain keeps that chain (newer sets depend on it)', async () => {
    const r = await runBoth('inside', ['remove-older-than', at(1.5)]);
    assertSame(r, false);
    assert.match(r.pf.forceOutput, /Which can't be deleted because newer sets depend on them\./);
  });

  it('remove-older-than a time inside the active chain', async () => {
    assertSame(await runBoth('inside-active', ['remove-older-than', at(4.5)]), true);
  });

  it('remove-older-than after every backup, without a cache: the active chain stays', async () => {
    const r = await runBoth('after-all-nocache', ['remove-older-than', at(50)], false);
    assertSame(r, true);
    assert.match(r.pf.forceOutput, /Current active backup chain is older than specified time\./);
    assert.ok(!r.pf.deletedRemote.some((n) => chainOf(4)(n) || chainOf(5)(n)));
  });

  it('remove-older-than after every backup, with the cache: duplicity also deletes the active remote signatures, permafrost keeps them', async () => {
    const r = await runBoth('after-all-cache', ['remove-older-than', at(50)]);
    const activeSigs = r.dup.deletedRemote.filter((n) => /signatures/.test(n) && (chainOf(4)(n) || chainOf(5)(n)));
    assert.equal(activeSigs.length, 2, `duplicity's known behaviour changed: ${r.dup.deletedRemote.join(', ')}`);
    assert.equal(r.pf.listed, r.dup.listed);
    assert.deepEqual(
      r.pf.deletedRemote,
      r.dup.deletedRemote.filter((n) => !activeSigs.includes(n)),
    );
    assert.deepEqual(r.pf.deletedCache, r.dup.deletedCache);
    assert.deepEqual(
      r.pf.order,
      r.dup.order.filter((n) => !activeSigs.includes(n)),
    );
  });

  it('remove-all-but-n-full 1 and 2', async () => {
    assertSame(await runBoth('n1', ['remove-all-but-n-full', '1']), true);
    assertSame(await runBoth('n2', ['remove-all-but-n-full', '2']), true);
  });

  it('remove-all-but-n-full N with N larger than the number of chains deletes nothing', async () => {
    const r = await runBoth('n9', ['remove-all-but-n-full', '9']);
    assertSame(r, false);
    assert.match(r.pf.listed, /No old backup sets found/);
  });

  it('remove-all-inc-of-but-n-full 1 deletes only incrementals and their signatures', async () => {
    const r = await runBoth('inc1', ['remove-all-inc-of-but-n-full', '1']);
    assertSame(r, true);
    assert.ok(
      r.pf.deletedRemote.every((n) => n.includes('-inc.') || n.includes('new-signatures')),
      r.pf.deletedRemote.join('\n'),
    );
  });

  it('remove-all-inc-of-but-n-full 3', async () => {
    assertSame(await runBoth('inc3', ['remove-all-inc-of-but-n-full', '3']), false);
  });

  it('--json gives the plan', async () => {
    const c = copyScenario(base, 'json', true);
    const r = await runPermafrost([
      'remove-all-but-n-full',
      '2',
      '--json',
      '--no-encryption',
      '--archive-dir',
      c.archive,
      '--name',
      'n',
      fileUrl(c.remote),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout.slice(r.stdout.indexOf('\n{') + 1)) as {
      plan: { removeTime: number; chains: { endTime: number }[]; remote: { name: string }[] };
      deleted: boolean;
    };
    assert.equal(doc.plan.removeTime, T0 + 3 * HOUR);
    assert.deepEqual(
      doc.plan.chains.map((x) => x.endTime),
      [T0 + 2 * HOUR],
    );
    assert.equal(doc.deleted, false);
    assert.ok(doc.plan.remote.length > 0 && doc.plan.remote.every((o) => chainOf(0)(o.name) || chainOf(1)(o.name) || chainOf(2)(o.name)));
  });
});
