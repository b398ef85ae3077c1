/**
 * The worker's decision per run (shard-run.ts), the catalogue's changes (catalogue.ts), which
 * generation a read uses (generation-choice.ts) and where the index comes from (shard-index.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExitCode, PermafrostError } from '../../src/core/errors.ts';
import { EMPTY_CATALOGUE, withGeneration, withShardDone, type Catalogue } from '../../src/ops/shards/catalogue.ts';
import { missingShards, pickGeneration } from '../../src/ops/shards/generation-choice.ts';
import { decideShardRun } from '../../src/ops/shards/shard-run.ts';
import { requireShardIndex, shardIndexFrom } from '../../src/ops/shards/shard-index.ts';
import { generationsToRemove } from '../../src/ops/shards/sharded-retention.ts';

const T = 1_800_000_000;

function gen(c: Catalogue, generation: number, shards: number, started: number): Catalogue {
  return withGeneration(c, { generation, shards, plan: `plan-${generation}.json`, started });
}

function exitOf(f: () => unknown): number {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof PermafrostError, String(e));
    return e.exitCode;
  }
  return -1;
}

describe('decideShardRun', () => {
  it('opens generation 1 on an empty target; an incremental there exits 17', () => {
    assert.deepEqual(decideShardRun(EMPTY_CATALOGUE, { mode: 'auto', shards: 3, index: 1 }), { kind: 'full', generation: 1, opens: true });
    assert.equal(
      exitOf(() => decideShardRun(EMPTY_CATALOGUE, { mode: 'incremental', shards: 3, index: 1 })),
      ExitCode.noSignatures,
    );
  });

  it('joins an incomplete generation until its own full is recorded, then runs incrementals', () => {
    let c = gen(EMPTY_CATALOGUE, 1, 2, T);
    c = withShardDone(c, 1, 0, { full: T, last: T }, T + 5);
    assert.deepEqual(decideShardRun(c, { mode: 'auto', shards: 2, index: 1 }), { kind: 'full', generation: 1, opens: false });
    assert.deepEqual(decideShardRun(c, { mode: 'full', shards: 2, index: 1 }), { kind: 'full', generation: 1, opens: false });
    assert.deepEqual(decideShardRun(c, { mode: 'auto', shards: 2, index: 0 }), { kind: 'incremental', generation: 1 });
    assert.equal(
      exitOf(() => decideShardRun(c, { mode: 'incremental', shards: 2, index: 1 })),
      ExitCode.noSignatures,
    );
  });

  it('opens the next generation for a full or --full-if-older-than, which the others then join', () => {
    let c = gen(EMPTY_CATALOGUE, 1, 2, T);
    c = withShardDone(c, 1, 0, { full: T, last: T }, T);
    c = withShardDone(c, 1, 1, { full: T, last: T }, T);
    assert.deepEqual(decideShardRun(c, { mode: 'auto', shards: 2, index: 0, fullIfOlderThan: T - 1 }), {
      kind: 'incremental',
      generation: 1,
    });
    assert.deepEqual(decideShardRun(c, { mode: 'auto', shards: 2, index: 0, fullIfOlderThan: T + 1 }), {
      kind: 'full',
      generation: 2,
      opens: true,
    });
    assert.deepEqual(decideShardRun(c, { mode: 'full', shards: 2, index: 1 }), { kind: 'full', generation: 2, opens: true });
    const opened = gen(c, 2, 2, T + 100);
    // the second worker of the same run sees generation 2 and joins it, whatever its own clock says
    assert.deepEqual(decideShardRun(opened, { mode: 'auto', shards: 2, index: 1, fullIfOlderThan: T + 1 }), {
      kind: 'full',
      generation: 2,
      opens: false,
    });
  });

  it('refuses another shard count except for a full', () => {
    const c = withShardDone(gen(EMPTY_CATALOGUE, 1, 1, T), 1, 0, { full: T, last: T }, T);
    assert.equal(
      exitOf(() => decideShardRun(c, { mode: 'auto', shards: 2, index: 0 })),
      ExitCode.usage,
    );
    assert.deepEqual(decideShardRun(c, { mode: 'full', shards: 2, index: 1 }), { kind: 'full', generation: 2, opens: true });
  });
});

describe('the catalogue', () => {
  it('is complete when the last shard is recorded, and only then', () => {
    let c = gen(EMPTY_CATALOGUE, 1, 3, T);
    c = withShardDone(c, 1, 2, { full: T, last: T }, T + 1);
    c = withShardDone(c, 1, 0, { full: T, last: T }, T + 2);
    assert.equal(c.generations[0]!.complete, undefined);
    assert.deepEqual(missingShards(c.generations[0]!), [1]);
    assert.equal(pickGeneration(c, undefined), undefined);
    c = withShardDone(c, 1, 1, { full: T + 1, last: T + 1 }, T + 3);
    assert.equal(c.generations[0]!.complete, T + 3);
    // an incremental keeps the shard's full and the completion time
    c = withShardDone(c, 1, 1, { full: T + 1, last: T + 50 }, T + 60);
    assert.deepEqual(c.generations[0]!.done['1'], { full: T + 1, last: T + 50 });
    assert.equal(c.generations[0]!.complete, T + 3);
  });

  it('registers a generation once, however many workers add it', () => {
    const once = gen(EMPTY_CATALOGUE, 1, 2, T);
    assert.equal(gen(once, 1, 2, T + 9), once);
  });

  it('reads the newest complete generation, or the newest complete one at --time; incomplete ones never', () => {
    let c = gen(EMPTY_CATALOGUE, 1, 2, T);
    for (const s of [0, 1]) c = withShardDone(c, 1, s, { full: T, last: T }, T);
    c = gen(c, 2, 2, T + 1000);
    for (const s of [0, 1]) c = withShardDone(c, 2, s, { full: T + 1000 + s, last: T + 1000 + s }, T + 1002);
    c = gen(c, 3, 2, T + 2000);
    c = withShardDone(c, 3, 0, { full: T + 2000, last: T + 2000 }, T + 2000);
    assert.equal(pickGeneration(c, undefined)!.generation, 2);
    assert.equal(pickGeneration(c, T + 1000)!.generation, 1, 'shard 1 of generation 2 was made after that time');
    assert.equal(pickGeneration(c, T + 1001)!.generation, 2);
    assert.equal(pickGeneration(c, T - 1), undefined);
  });
});

describe('the shard index', () => {
  it('comes from --shard-index, else JOB_COMPLETION_INDEX, else AWS_BATCH_JOB_ARRAY_INDEX', () => {
    assert.deepEqual(shardIndexFrom(2, { JOB_COMPLETION_INDEX: '1' }), { index: 2, from: '--shard-index' });
    assert.deepEqual(shardIndexFrom(undefined, { JOB_COMPLETION_INDEX: '1', AWS_BATCH_JOB_ARRAY_INDEX: '3' }), {
      index: 1,
      from: 'JOB_COMPLETION_INDEX',
    });
    assert.deepEqual(shardIndexFrom(undefined, { AWS_BATCH_JOB_ARRAY_INDEX: '3' }), { index: 3, from: 'AWS_BATCH_JOB_ARRAY_INDEX' });
    assert.equal(shardIndexFrom(undefined, {}), null);
  });

  it('is an error (exit 2) when missing, not a number, or not below N', () => {
    assert.equal(
      exitOf(() => requireShardIndex(undefined, {}, 4)),
      ExitCode.usage,
    );
    assert.equal(
      exitOf(() => requireShardIndex(undefined, { JOB_COMPLETION_INDEX: 'x1' }, 4)),
      ExitCode.usage,
    );
    assert.equal(
      exitOf(() => requireShardIndex(undefined, { AWS_BATCH_JOB_ARRAY_INDEX: '4' }, 4)),
      ExitCode.usage,
    );
    assert.equal(requireShardIndex(undefined, { AWS_BATCH_JOB_ARRAY_INDEX: '3' }, 4), 3);
  });
});

describe('retention by generation', () => {
  // generations 1-3 complete (each ending an hour after it started), 4 incomplete
  let c = EMPTY_CATALOGUE;
  for (const g of [1, 2, 3, 4]) {
    c = gen(c, g, 2, T + g * 10_000);
    for (const s of g === 4 ? [0] : [0, 1])
      c = withShardDone(c, g, s, { full: T + g * 10_000, last: T + g * 10_000 + 3600 }, T + g * 10_000 + 3600);
  }
  const numbers = (r: ReturnType<typeof generationsToRemove>) => [r.keep?.generation, r.remove.map((g) => g.generation)];

  it('keeps the N newest complete generations and everything newer', () => {
    assert.deepEqual(numbers(generationsToRemove(c.generations, { mode: 'remove-all-but-n-full', count: 1 })), [3, [1, 2]]);
    assert.deepEqual(numbers(generationsToRemove(c.generations, { mode: 'remove-all-but-n-full', count: 3 })), [1, []]);
    assert.deepEqual(numbers(generationsToRemove(c.generations, { mode: 'remove-all-but-n-full', count: 9 })), [1, []]);
  });

  it('remove-older-than keeps the oldest complete generation ending at or after the time, and never the newest complete one', () => {
    assert.deepEqual(numbers(generationsToRemove(c.generations, { mode: 'remove-older-than', time: T })), [1, []]);
    assert.deepEqual(numbers(generationsToRemove(c.generations, { mode: 'remove-older-than', time: T + 23_600 })), [2, [1]]);
    assert.deepEqual(numbers(generationsToRemove(c.generations, { mode: 'remove-older-than', time: T + 10 ** 9 })), [3, [1, 2]]);
  });

  it('removes nothing without a complete generation', () => {
    const only = gen(EMPTY_CATALOGUE, 1, 2, T);
    assert.deepEqual(numbers(generationsToRemove(only.generations, { mode: 'remove-all-but-n-full', count: 1 })), [undefined, []]);
  });
});
