/**
 * A sharded backup on file:// through the CLI, with N real worker processes side by side told
 * their index by JOB_COMPLETION_INDEX: the whole-target restore equals the source; real duplicity
 * 0.8.22 restores each shard-<i>-of-<N> chain and their union is the tree; incrementals keep the
 * generation's plan; a generation with a worker never started or killed (kill -9) is not what a
 * restore returns, and rerunning that index completes it; shards are balanced on a skewed tree.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileUrl, runCommand } from '../support/cli.ts';
import { assertSameTree } from '../support/compare.ts';
import { DUP08_PATH, requireDuplicity } from '../support/duplicity.ts';
import { runPermafrost } from '../support/permafrost.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { buildTree } from '../support/tree.ts';
import { walkTree } from '../support/walk.ts';
import {
  assertOk,
  backupWorkers,
  catalogueOf,
  common,
  HOUR,
  skewedTree,
  snapshot,
  startWorker,
  T0,
  waitForFiles,
  workerEnv,
  type ShardedSetup,
} from './harness.ts';

const t = fileCleanup();
const N = 3;

function setupIn(work: string): ShardedSetup & { remote: string } {
  const remote = join(work, 'remote');
  return { url: fileUrl(remote), remote, archiveDir: join(work, 'archive'), env: {} };
}

describe('sharded backups on file://', () => {
  it("N workers (JOB_COMPLETION_INDEX) back up a skewed tree in balanced shards; the restore and duplicity's restores of each shard equal it", async () => {
    requireDuplicity();
    const work = tmpDir(t, 'shards-file');
    const s = setupIn(work);
    const src = join(work, 'src');
    skewedTree(src);
    const runs = await backupWorkers(s, [0, 1, 2], N, ['full', '--json', '--current-time', String(T0), src, s.url]);
    for (const [i, r] of runs.entries()) assertOk(r, `worker ${i}`);
    const outs = runs.map(
      (r) =>
        JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
          generation: number;
          complete: boolean;
          planMadeHere: boolean;
          sourceBytes: number;
          entries: number;
        },
    );
    assert.deepEqual(
      outs.map((o) => o.generation),
      [1, 1, 1],
    );
    assert.equal(outs.filter((o) => o.planMadeHere).length, 1, 'one worker made the plan');
    assert.equal(outs.filter((o) => o.complete).length >= 1, true);
    assert.deepEqual(readdirSync(s.remote).sort(), ['permafrost-shards', 'shard-0-of-3', 'shard-1-of-3', 'shard-2-of-3']);
    // balance: one directory holds about half the bytes, yet no shard holds more than 1/N + 15%
    const total = outs.reduce((a, o) => a + o.sourceBytes, 0);
    for (const o of outs) assert.ok(o.sourceBytes <= (total / N) * 1.15, `shard sizes ${outs.map((x) => x.sourceBytes).join(', ')}`);

    const dest = join(work, 'restored');
    assertOk(await runPermafrost(['restore', ...common(s), '--jobs', '3', s.url, dest]), 'restore');
    assertSameTree(src, dest, {}, 'whole-target restore');

    // duplicity 0.8.22 restores each shard's chain on its own; one after another into one
    // directory (--force), the last restores every shared directory's mtime again
    const union = join(work, 'union');
    for (let i = 0; i < N; i++) {
      const alone = join(work, `dup-${i}`);
      await runCommand(
        DUP08_PATH,
        ['restore', '--no-encryption', '--archive-dir', join(work, 'dupcache'), `${s.url}/shard-${i}-of-${N}`, alone],
        { label: 'duplicity 0.8.22' },
      );
      assert.ok(walkTree(alone).length > 1, `shard ${i} restores something`);
      await runCommand(
        DUP08_PATH,
        ['restore', '--force', '--no-encryption', '--archive-dir', join(work, 'dupcache'), `${s.url}/shard-${i}-of-${N}`, union],
        { label: 'duplicity 0.8.22' },
      );
    }
    assertSameTree(src, union, {}, "union of duplicity's shard restores");

    // one path: from the shard that holds it; a split directory: from every shard
    const oneFile = join(work, 'one-file');
    assertOk(await runPermafrost(['restore', '--file-to-restore', 'd3/f2.txt', ...common(s), s.url, oneFile]), 'restore one file');
    assert.deepEqual(readFileSync(oneFile), readFileSync(join(src, 'd3', 'f2.txt')));
    const splitDir = join(work, 'huge');
    const huge = await runPermafrost(['restore', '--json', '--file-to-restore', 'huge', ...common(s), s.url, splitDir]);
    assertOk(huge, 'restore a split directory');
    assert.deepEqual((JSON.parse(huge.stdout.trim().split('\n').at(-1)!) as { shards: number[] }).shards, [0, 1, 2]);
    assertSameTree(join(src, 'huge'), splitDir, {}, 'the split directory');

    // list-current-files: every path once, in one listing
    const list = await runPermafrost(['list-current-files', '--json', ...common(s), s.url]);
    assertOk(list, 'list');
    // one document, as for a plain target (docs/output.md)
    const listed = (JSON.parse(list.stdout) as { files: { path: string }[] }).files.map((f) => f.path).sort();
    const expected = walkTree(src)
      .map((e) => (e.rel.length === 0 ? '.' : e.rel.toString()))
      .sort();
    assert.deepEqual(listed, expected);

    // verify (no downloads) of every shard, as one target; and --compare-data against the source
    assertOk(await runPermafrost(['verify', ...common(s), s.url, src]), 'verify');
    assertOk(await runPermafrost(['verify', '--compare-data', ...common(s), s.url, src]), 'verify --compare-data');
    const changed = join(work, 'changed');
    snapshot(src, changed);
    writeFileSync(join(changed, 'd3', 'f2.txt'), 'not what was backed up');
    utimesSync(join(changed, 'd3', 'f2.txt'), T0, T0);
    const differs = await runPermafrost(['verify', '--compare-data', ...common(s), s.url, changed]);
    assert.equal(differs.code, 1, differs.stdout + differs.stderr);
    assert.match(differs.stdout + differs.stderr, /d3\/f2\.txt/);
    const onlyD3 = await runPermafrost(['verify', '--compare-data', '--file-to-restore', 'd3', ...common(s), s.url, changed]);
    assert.equal(onlyD3.code, 1, onlyD3.stdout + onlyD3.stderr);
    assertOk(await runPermafrost(['verify', '--compare-data', '--file-to-restore', 'd4', ...common(s), s.url, changed]), 'another path');

    // an Indexed Job restore: each worker restores its shard into the shared destination
    const shared = join(work, 'by-index');
    const byIndex = await Promise.all(
      [0, 1, 2].map((i) => runPermafrost(['restore', '--force', ...common(s), s.url, shared], workerEnv(s, 'JOB_COMPLETION_INDEX', i))),
    );
    for (const [i, r] of byIndex.entries()) assertOk(r, `restore worker ${i}`);
    assertSameTree(src, shared, { dirMtime: false }, "restores by index (shared directories' mtimes are the last writer's)");
    const noForce = await runPermafrost(['restore', ...common(s), s.url, join(work, 'x')], workerEnv(s, 'JOB_COMPLETION_INDEX', 0));
    assert.equal(noForce.code, 2, noForce.stderr);
  });

  it('incrementals keep the plan; a generation missing a worker is never restored, and rerunning that index completes it', async () => {
    const work = tmpDir(t, 'shards-gen');
    const s = setupIn(work);
    const src = join(work, 'src');
    skewedTree(src);
    const args = (time: number, verb?: string) => [...(verb ? [verb] : []), '--current-time', String(time), src, s.url];

    // generation 1 with worker 2 never started: incomplete, nothing to restore
    for (const r of await backupWorkers(s, [0, 1], N, args(T0, 'full'))) assertOk(r, 'gen 1 worker');
    const none = await runPermafrost(['restore', ...common(s), s.url, join(work, 'none')]);
    assert.equal(none.code, 12, none.stderr);
    assert.match(none.stderr, /no complete generation/);
    assert.equal(
      none.stderr
        .trim()
        .split('\n')
        .filter((l) => /Error|error/.test(l)).length <= 1,
      true,
    );
    // the retried index joins generation 1 and completes it
    for (const r of await backupWorkers(s, [2], N, args(T0 + 60))) assertOk(r, 'gen 1 worker 2');
    assert.notEqual(catalogueOf(s.remote).generations[0]!.complete, undefined);
    const plan1 = readdirSync(join(s.remote, 'permafrost-shards')).sort();

    // an incremental after a change: a new directory (decided by name hash) and a changed file
    buildTree(src, {
      entries: [
        { kind: 'file', path: 'new/a.bin', size: 30_000, seed: 7, mtime: T0 + 100 },
        { kind: 'file', path: 'huge/part-003', size: 1234, seed: 9, mtime: T0 + 100 },
      ],
    });
    utimesSync(src, T0 + 100, T0 + 100);
    utimesSync(join(src, 'huge'), T0 + 100, T0 + 100);
    for (const r of await backupWorkers(s, [0, 1, 2], N, args(T0 + HOUR))) assertOk(r, 'incremental');
    assert.deepEqual(readdirSync(join(s.remote, 'permafrost-shards')).sort(), plan1, 'no new plan for incrementals');
    assert.equal(catalogueOf(s.remote).generations.length, 1);
    const afterInc = join(work, 'snap-inc');
    snapshot(src, afterInc);
    const r1 = join(work, 'r1');
    assertOk(await runPermafrost(['restore', ...common(s), s.url, r1]), 'restore after incremental');
    assertSameTree(afterInc, r1, {}, 'restore of the incrementals');

    // a new full generation whose worker 1 is killed (kill -9) mid-upload
    rmSync(join(src, 'new'), { recursive: true });
    mkdirSync(join(src, 'gen2'));
    for (let i = 0; i < 6; i++) writeFileSync(join(src, 'gen2', `big-${i}`), Buffer.alloc(6 << 20, i + 1));
    utimesSync(src, T0 + 200, T0 + 200);
    const full2 = ['full', '--volsize', '1', '--current-time', String(T0 + 2 * HOUR), src, s.url];
    const [w0] = await backupWorkers(s, [0], N, full2);
    assertOk(w0!, 'gen 2 worker 0');
    const already = readdirSync(join(s.remote, 'shard-1-of-3')).length;
    const victim = startWorker(s, 1, N, full2);
    // killed once it has uploaded some volumes of its new full
    await waitForFiles(join(s.remote, 'shard-1-of-3'), already + 3);
    victim.kill('SIGKILL');
    await new Promise((r) => victim.once('exit', r));
    for (const r of await backupWorkers(s, [2], N, full2)) assertOk(r, 'gen 2 worker 2');
    // what the killed worker left is found by cleanup of the whole target, in its shard's folder
    const leftovers = await runPermafrost(['cleanup', '--json', ...common(s), s.url]);
    assertOk(leftovers, 'cleanup');
    const found = (JSON.parse(leftovers.stdout.trim().split('\n').at(-1)!) as { extraneous: string[] }).extraneous;
    assert.ok(found.length > 0 && found.every((f) => f.startsWith('shard-1-of-3/')), found.join(' '));
    const cat = catalogueOf(s.remote);
    assert.equal(cat.generations.length, 2);
    assert.equal(cat.generations[1]!.complete, undefined);
    assert.deepEqual(Object.keys(cat.generations[1]!.done).sort(), ['0', '2']);
    const status = await runPermafrost(['collection-status', ...common(s), s.url]);
    assertOk(status, 'status');
    assert.match(status.stdout, /Generation 2: 3 shards, .*INCOMPLETE: shards 1 have no full/);
    assert.match(status.stdout, /a restore uses generation 1/);
    const r2 = join(work, 'r2');
    const restored = await runPermafrost(['restore', ...common(s), s.url, r2]);
    assertOk(restored, 'restore with generation 2 incomplete');
    assert.match(restored.stdout + restored.stderr, /Generation 2 is incomplete/);
    assertSameTree(afterInc, r2, {}, 'an incomplete generation is not restored');

    // the engine reruns index 1: it redoes its own shard only, and the generation is complete
    const rerun = await backupWorkers(s, [1], N, ['--current-time', String(T0 + 2 * HOUR + 60), '--volsize', '1', src, s.url]);
    assertOk(rerun[0]!, 'rerun of index 1');
    assert.match(rerun[0]!.stdout + rerun[0]!.stderr, /full in generation 2/);
    assert.notEqual(catalogueOf(s.remote).generations[1]!.complete, undefined);
    const r3 = join(work, 'r3');
    assertOk(await runPermafrost(['restore', ...common(s), s.url, r3]), 'restore of generation 2');
    assertSameTree(src, r3, {}, 'generation 2');
    // --time picks the older generation
    const r4 = join(work, 'r4');
    assertOk(await runPermafrost(['restore', '--time', String(T0 + HOUR + 1), ...common(s), s.url, r4]), 'restore --time');
    assertSameTree(afterInc, r4, {}, 'generation 1 by --time');
  });

  it('a worker killed after its full was stored but before it was recorded records that full when rerun, making no new one', async () => {
    const work = tmpDir(t, 'shards-resume');
    const s = setupIn(work);
    const src = join(work, 'src');
    skewedTree(src);
    for (const r of await backupWorkers(s, [0, 1, 2], N, ['full', '--current-time', String(T0), src, s.url])) assertOk(r, 'worker');
    // the state a kill -9 between the manifest's upload and the catalogue's update leaves
    const catalogue = catalogueOf(s.remote);
    const g = catalogue.generations[0]!;
    delete g.done['1'];
    delete g.complete;
    writeFileSync(join(s.remote, 'permafrost-shards', 'catalogue.json'), JSON.stringify(catalogue));
    const before = readdirSync(join(s.remote, 'shard-1-of-3')).sort();
    const rerun = await backupWorkers(s, [1], N, ['--current-time', String(T0 + 60), src, s.url]);
    assertOk(rerun[0]!, 'rerun');
    assert.match(rerun[0]!.stdout + rerun[0]!.stderr, /is at the target already; recording it/);
    assert.deepEqual(readdirSync(join(s.remote, 'shard-1-of-3')).sort(), before, 'no new set');
    const after = catalogueOf(s.remote).generations[0]!;
    assert.notEqual(after.complete, undefined);
    assert.deepEqual(after.done['1'], { full: T0, last: T0 });
    const dest = join(work, 'restored');
    assertOk(await runPermafrost(['restore', ...common(s), s.url, dest]), 'restore');
    assertSameTree(src, dest, {}, 'restore');
  });

  it("encrypted with a passphrase: the workers, the whole restore and duplicity's restore of a shard", async () => {
    requireDuplicity();
    const work = tmpDir(t, 'shards-gpg');
    const s = setupIn(work);
    const src = join(work, 'src');
    skewedTree(src, { bigFiles: 6 });
    const env = (i: number) => ({ ...workerEnv(s, 'JOB_COMPLETION_INDEX', i), PASSPHRASE: 'shard secret' });
    const args = ['full', '--shards', '2', '--archive-dir', s.archiveDir, '--current-time', String(T0), src, s.url];
    for (const r of await Promise.all([0, 1].map((i) => runPermafrost(args, env(i))))) assertOk(r, 'encrypted worker');
    assert.ok(readdirSync(join(s.remote, 'shard-0-of-2')).some((n) => n.endsWith('.difftar.gpg')));
    const dest = join(work, 'restored');
    assertOk(await runPermafrost(['restore', '--archive-dir', s.archiveDir, s.url, dest], { PASSPHRASE: 'shard secret' }), 'restore');
    assertSameTree(src, dest, {}, 'encrypted');
    const wrong = await runPermafrost(['restore', '--archive-dir', join(work, 'other-cache'), s.url, join(work, 'wrong')], {
      PASSPHRASE: 'not it',
    });
    assert.equal(wrong.code, 31, wrong.stdout + wrong.stderr);
    const alone = join(work, 'dup-1');
    await runCommand(DUP08_PATH, ['restore', '--archive-dir', join(work, 'dupcache'), `${s.url}/shard-1-of-2`, alone], {
      label: 'duplicity 0.8.22',
      env: { PASSPHRASE: 'shard secret' },
    });
    assert.ok(walkTree(alone).length > 1);
  });

  it('refuses a worker without an index, an index not below N, and a plain backup of a sharded target (exit 2, one line)', async () => {
    const work = tmpDir(t, 'shards-usage');
    const s = setupIn(work);
    const src = join(work, 'src');
    buildTree(src, { entries: [{ kind: 'file', path: 'a', content: 'x' }] });
    const noIndex = await runPermafrost(['full', '--shards', '3', ...common(s), src, s.url], {
      JOB_COMPLETION_INDEX: '',
      AWS_BATCH_JOB_ARRAY_INDEX: '',
    });
    assert.equal(noIndex.code, 2);
    assert.equal(noIndex.stderr.trim().split('\n').length, 1, noIndex.stderr);
    assert.match(noIndex.stderr, /needs this worker's index/);
    const tooBig = await runPermafrost(['full', '--shards', '3', ...common(s), src, s.url], workerEnv(s, 'AWS_BATCH_JOB_ARRAY_INDEX', 3));
    assert.equal(tooBig.code, 2);
    assert.match(tooBig.stderr, /shard index 3 \(from AWS_BATCH_JOB_ARRAY_INDEX\) is out of range/);
    assert.equal(existsSync(s.remote), false, 'nothing written');
    assertOk((await backupWorkers(s, [0], 1, ['full', src, s.url]))[0]!, 'one shard');
    const plain = await runPermafrost(['full', ...common(s), src, s.url]);
    assert.equal(plain.code, 2);
    assert.match(plain.stderr, /is a sharded target/);
    // a path is verified in the shard that holds it
    const onePath = await runPermafrost(['verify', '--json', '--file-to-restore', 'a', ...common(s), s.url, src]);
    assertOk(onePath, 'verify --file-to-restore');
    assert.equal((JSON.parse(onePath.stdout.trim().split('\n').at(-1)!) as { shards: unknown[] }).shards.length, 1);
  });
});
