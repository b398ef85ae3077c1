/**
 * The retention verbs on a sharded file:// target, through the CLI: generations go whole (the
 * catalogue first, then each shard's chains and the plan), the newest complete generation and
 * anything newer stay, and without --force nothing is deleted.
 */
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileUrl } from '../support/cli.ts';
import { assertSameTree } from '../support/compare.ts';
import { runPermafrost } from '../support/permafrost.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { assertOk, backupWorkers, catalogueOf, common, HOUR, skewedTree, snapshot, T0 } from './harness.ts';
import { assertMatchesSchema } from '../support/json-schemas.ts';

const t = fileCleanup();

function allFiles(remote: string): string[] {
  return readdirSync(remote, { recursive: true, encoding: 'utf8' }).sort();
}

describe('retention on a sharded target', () => {
  it('removes whole generations, never the newest complete one nor a newer incomplete one', async () => {
    const work = tmpDir(t, 'shards-retention');
    const remote = join(work, 'remote');
    const s = { url: fileUrl(remote), archiveDir: join(work, 'archive'), env: {} };
    const src = join(work, 'src');
    skewedTree(src);
    let step = 0;
    const change = (time: number) => {
      writeFileSync(join(src, `added-${step++}.txt`), `step ${step}`);
      utimesSync(join(src, `added-${step - 1}.txt`), time, time);
      utimesSync(src, time, time);
    };
    const round = async (time: number, verb: string[], workers = [0, 1]) => {
      change(time - 10);
      for (const r of await backupWorkers(s, workers, 2, [...verb, '--current-time', String(time), src, s.url]))
        assertOk(r, `backup at ${time}`);
    };
    await round(T0, ['full']);
    await round(T0 + HOUR, []);
    await round(T0 + 2 * HOUR, ['full']);
    const gen2 = join(work, 'snap-gen2');
    snapshot(src, gen2);
    await round(T0 + 3 * HOUR, []);
    await round(T0 + 4 * HOUR, ['full']);
    const gen3 = join(work, 'snap-gen3');
    snapshot(src, gen3);
    await round(T0 + 5 * HOUR, ['full'], [0]); // generation 4: worker 1 never ran
    assert.deepEqual(
      catalogueOf(remote).generations.map((g) => [g.generation, g.complete !== undefined]),
      [
        [1, true],
        [2, true],
        [3, true],
        [4, false],
      ],
    );

    // without --force: listed, nothing deleted
    const before = allFiles(remote);
    const incsOfGen1 = (f: string) => /^shard-[01]-of-2\/duplicity-inc\.20270115T080000Z\.to\.20270115T090000Z\./.test(f);
    assert.ok(before.filter(incsOfGen1).length >= 2, 'each shard has an incremental in generation 1');
    const listed = await runPermafrost(['remove-all-but-n-full', '2', '--json', ...common(s), s.url]);
    assertOk(listed, 'list only');
    // the whole of stdout is one document (indented, as the retention verbs' documents are)
    const plan = JSON.parse(listed.stdout) as { generations: number[] };
    assertMatchesSchema('remove-all-but-n-full', plan, 'remove-all-but-n-full --json');
    assert.deepEqual(plan.generations, [1]);
    assert.deepEqual(allFiles(remote), before);

    // the incrementals of generation 1 go; its fulls stay, and so does its record
    assertOk(await runPermafrost(['remove-all-inc-of-but-n-full', '2', '--force', ...common(s), s.url]), 'remove incrementals');
    assert.equal(allFiles(remote).filter(incsOfGen1).length, 0, 'generation 1 has no incrementals left');
    assert.ok(
      allFiles(remote).some((f) => f.includes('duplicity-full.20270115T080000Z')),
      'its fulls stay',
    );
    assert.equal(catalogueOf(remote).generations.length, 4);

    // generation 1 goes whole: record, chains and plan
    assertOk(await runPermafrost(['remove-all-but-n-full', '2', '--force', ...common(s), s.url]), 'remove generation 1');
    assert.deepEqual(
      catalogueOf(remote).generations.map((g) => g.generation),
      [2, 3, 4],
    );
    assert.ok(!allFiles(remote).some((f) => f.includes('20270115T080000Z')), 'no object of generation 1 left');
    assert.ok(!readdirSync(join(remote, 'permafrost-shards')).includes('plan-1.json'));
    const r2 = join(work, 'r2');
    assertOk(await runPermafrost(['restore', '--time', String(T0 + 2 * HOUR + 1), ...common(s), s.url, r2]), 'restore generation 2');
    assertSameTree(gen2, r2, {}, 'generation 2 after generation 1 went');

    // remove-older-than a time after generation 3: generation 3 is the newest complete one and stays; 2 goes; 4 (newer, incomplete) stays
    assertOk(await runPermafrost(['remove-older-than', String(T0 + 6 * HOUR), '--force', ...common(s), s.url]), 'remove older than');
    assert.deepEqual(
      catalogueOf(remote).generations.map((g) => g.generation),
      [3, 4],
    );
    assert.ok(
      allFiles(remote).some((f) => f.startsWith('shard-0-of-2/duplicity-full.20270115T130000Z')),
      "generation 4's full of shard 0 stays",
    );
    const r3 = join(work, 'r3');
    assertOk(await runPermafrost(['restore', ...common(s), s.url, r3]), 'restore');
    assertSameTree(gen3, r3, {}, 'generation 3');
  });
});
