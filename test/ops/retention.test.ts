/**
 * The retention verbs decide what duplicity 0.8.22 decides. One target with several chains and an
 * orphaned incremental is written by real duplicity; for each case both tools run on their own
 * copy of it (target and cache), first without --force (nothing may change; the same chains are
 * listed), then with --force, and the files each deleted, remote and in the cache, are compared.
 *
 * The one intended difference (see src/ops/retention.ts): when the active chain ends before the
 * removal time and the cache holds its signatures, duplicity deletes the active chain's remote
 * signatures; permafrost keeps them.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { fileUrl, runCommand, type RunResult } from '../support/cli.ts';
import { DUP08_PATH, requireDuplicity } from '../support/duplicity.ts';
import { runPermafrost } from '../support/permafrost.ts';
import { tmpDir } from '../support/tmp.ts';
import { HOUR, T0 } from '../support/pf-target.ts';

let base: string;

function listDir(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith('duplicity-')).sort() : [];
}

function stamp(t: number): string {
  return new Date(t * 1000).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

async function dup(args: readonly string[], expectCode: number | 'any' = 0): Promise<RunResult> {
  return runCommand(DUP08_PATH, args, { expectCode, label: 'duplicity' });
}

/** Chains (hours after T0): [-2 full, -1 inc] with its full removed (orphaned inc), [0 full, 1 inc, 2 inc], [3 full], [4 full, 5 inc]. */
async function buildScenario(dir: string): Promise<void> {
  const src = join(dir, 'src');
  mkdirSync(src, { recursive: true });
  const url = fileUrl(join(dir, 'remote'));
  const common = ['--no-encryption', '--archive-dir', join(dir, 'archive'), '--name', 'n'];
  const steps: [number, 'full' | 'incremental'][] = [[-2, 'full'], [-1, 'incremental'], [0, 'full'], [1, 'incremental'], [2, 'incremental'], [3, 'full'], [4, 'full'], [5, 'incremental']];
  for (const [h, kind] of steps) {
    writeFileSync(join(src, `f${h + 2}`), `step ${h}\n`.repeat(50));
    // several volumes in the chain starting at 0 h, to check the deletion order within a set
    if (h === 0 || h === 1) writeFileSync(join(src, `random${h}`), randomBytes(2_500_000));
    await dup([kind, ...common, '--volsize', '1', '--current-time', String(T0 + h * HOUR), src, url]);
  }
  // make the -1 incremental an orphan: its full set goes (remote and cache)
  const full = stamp(T0 - 2 * HOUR);
  for (const d of [join(dir, 'remote'), join(dir, 'archive', 'n')]) {
    for (const n of readdirSync(d)) if (n.includes(`full.${full}.`) || n.includes(`full-signatures.${full}.`)) rmSync(join(d, n));
  }
}

interface Copy {
  readonly remote: string;
  readonly archive: string;
  readonly cache: string;
}

function copyScenario(label: string, withCache: boolean): Copy {
  const dir = join(base, label);
  mkdirSync(dir, { recursive: true });
  cpSync(join(base, 'scenario', 'remote'), join(dir, 'remote'), { recursive: true });
  if (withCache) cpSync(join(base, 'scenario', 'archive'), join(dir, 'archive'), { recursive: true });
  else mkdirSync(join(dir, 'archive', 'n'), { recursive: true });
  return { remote: join(dir, 'remote'), archive: join(dir, 'archive'), cache: join(dir, 'archive', 'n') };
}

interface Outcome {
  readonly listed: string;
  readonly deletedRemote: string[];
  readonly deletedCache: string[];
  readonly forceOutput: string;
  /** Remote files in the order the run deleted them (from its `Deleting` lines at -v info). */
  readonly order: string[];
}

/** The chain-time lines of the listing duplicity prints without --force. */
function listedChains(out: string): string {
  const m = /(Found old backup chains? at the following times?:\n[\s\S]*?\nRerun command with --force option to actually delete\.)|No old backup sets found, nothing deleted\./.exec(out);
  return m ? m[0] : `(no listing in)\n${out}`;
}

async function runBoth(label: string, verbArgs: readonly string[], withCache = true): Promise<{ dup: Outcome; pf: Outcome }> {
  const out: Partial<Record<'dup' | 'pf', Outcome>> = {};
  for (const tool of ['dup', 'pf'] as const) {
    const c = copyScenario(`${label}-${tool}`, withCache);
    const args = [...verbArgs, '--no-encryption', '--archive-dir', c.archive, '--name', 'n', '--current-time', String(T0 + 100 * HOUR), fileUrl(c.remote)];
    const run = (extra: string[]) => (tool === 'dup' ? dup([...args, ...extra]) : runPermafrost([...args, ...extra]));
    const remote0 = listDir(c.remote);
    const cache0 = listDir(c.cache);
    const list = await run([]);
    assert.equal(list.code, 0, `${tool} ${verbArgs.join(' ')}\n${list.stdout}\n${list.stderr}`);
    assert.deepEqual(listDir(c.remote), remote0, `${tool} deleted without --force`);
    assert.deepEqual(listDir(c.cache), cache0, `${tool} deleted cache files without --force`);
    const forced = await run(['--force', '-v', 'info']);
    assert.equal(forced.code, 0, `${tool} ${verbArgs.join(' ')} --force\n${forced.stdout}\n${forced.stderr}`);
    const remote1 = new Set(listDir(c.remote));
    const cache1 = new Set(listDir(c.cache));
    out[tool] = {
      listed: listedChains(list.stdout + list.stderr),
      deletedRemote: remote0.filter((n) => !remote1.has(n)),
      deletedCache: cache0.filter((n) => !cache1.has(n)),
      forceOutput: forced.stdout + forced.stderr,
      order: [...(forced.stdout + forced.stderr).matchAll(/^Deleting (\S+)$/gm)]
        .map((m) => m[1]!)
        .filter((p) => (tool === 'dup' ? p.startsWith(`${c.remote}/`) : !p.includes('/')))
        .map((p) => p.slice(p.lastIndexOf('/') + 1)),
    };
  }
  return { dup: out.dup!, pf: out.pf! };
}

function assertSame(r: { dup: Outcome; pf: Outcome }, expectSomething: boolean): void {
  assert.equal(r.pf.listed, r.dup.listed, 'listing without --force');
  assert.deepEqual(r.pf.deletedRemote, r.dup.deletedRemote, `remote deletions\n--- duplicity ---\n${r.dup.forceOutput}\n--- permafrost ---\n${r.pf.forceOutput}`);
  assert.deepEqual(r.pf.deletedCache, r.dup.deletedCache, 'cache deletions');
  assert.deepEqual(r.pf.order, r.dup.order, 'order of the remote deletions');
  assert.equal(r.dup.deletedRemote.length > 0, expectSomething, `duplicity deleted ${JSON.stringify(r.dup.deletedRemote)}`);
}

const at = (h: number) => String(T0 + h * HOUR);
const chainOf = (h: number) => (n: string) => n.includes(`full.${stamp(T0 + h * HOUR)}.`) || n.includes(`full-signatures.${stamp(T0 + h * HOUR)}.`) || n.includes(`.${stamp(T0 + h * HOUR)}.to.`) || n.includes(`.to.${stamp(T0 + h * HOUR)}.`);

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
    assert.ok(r.pf.deletedRemote.every((n) => chainOf(0)(n) || chainOf(1)(n) || chainOf(2)(n) || chainOf(3)(n)), r.pf.deletedRemote.join('\n'));
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
    assert.deepEqual(r.pf.deletedRemote, r.dup.deletedRemote.filter((n) => !activeSigs.includes(n)));
    assert.deepEqual(r.pf.deletedCache, r.dup.deletedCache);
    assert.deepEqual(r.pf.order, r.dup.order.filter((n) => !activeSigs.includes(n)));
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
    assert.ok(r.pf.deletedRemote.every((n) => n.includes('-inc.') || n.includes('new-signatures')), r.pf.deletedRemote.join('\n'));
  });

  it('remove-all-inc-of-but-n-full 3', async () => {
    assertSame(await runBoth('inc3', ['remove-all-inc-of-but-n-full', '3']), false);
  });

  it('--json gives the plan', async () => {
    const c = copyScenario('json', true);
    const r = await runPermafrost(['remove-all-but-n-full', '2', '--json', '--no-encryption', '--archive-dir', c.archive, '--name', 'n', fileUrl(c.remote)]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout.slice(r.stdout.indexOf('\n{') + 1)) as { plan: { removeTime: number; chains: { endTime: number }[]; remote: { name: string }[] }; deleted: boolean };
    assert.equal(doc.plan.removeTime, T0 + 3 * HOUR);
    assert.deepEqual(doc.plan.chains.map((x) => x.endTime), [T0 + 2 * HOUR]);
    assert.equal(doc.deleted, false);
    assert.ok(doc.plan.remote.length > 0 && doc.plan.remote.every((o) => chainOf(0)(o.name) || chainOf(1)(o.name) || chainOf(2)(o.name)));
  });
});
