/**
 * A sharded backup in this process on in-memory backends: three workers' shardedBackup() side by
 * side on the hostile tree (names that are not UTF-8, every entry type), then an incremental
 * round after mutations, restores of the whole target (latest and --time) compared exactly, and
 * one shard restored alone holding only its plan's paths. No CLI, no duplicity: the quick tier.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Backend } from '../../src/backend/backend.ts';
import { BackendWrapper } from '../../src/backend/backend-wrapper.ts';
import { MemoryBackend } from '../../src/backend/memory-backend.ts';
import type { BackupRequest } from '../../src/ops/backup/backup.ts';
import { readCatalogue } from '../../src/ops/shards/catalogue.ts';
import { shardedBackup } from '../../src/ops/shards/sharded-backup.ts';
import { shardedRestore } from '../../src/ops/shards/sharded-restore.ts';
import type { ShardedTarget } from '../../src/ops/shards/sharded-target.ts';
import { readPlan } from '../../src/ops/shards/plan-store.ts';
import { membership } from '../../src/ops/shards/plan.ts';
import { assertSameTree, EXACT } from '../support/compare.ts';
import { CollectingReporter, contextDirs, opContext } from '../support/op-context.ts';
import { tmpDir } from '../support/tmp.ts';
import { buildTree, hostileTreeSpec, mutateTree } from '../support/tree.ts';
import { walkTree } from '../support/walk.ts';
import { backupRequest } from '../support/backup-request.ts';

const T0 = 1_800_000_000;
const HOUR = 3600;
const N = 3;

/** The shared in-memory target outlives each context's close(). */
class Kept extends BackendWrapper {
  constructor(inner: Backend) {
    super(inner);
  }
  override async close(): Promise<void> {}
}

function shardedMemoryTarget(work: string, clock: { now: number }, label: string): ShardedTarget & { reporter: CollectingReporter } {
  const control = new MemoryBackend('memory://target/permafrost-shards');
  const shards = new Map<string, MemoryBackend>();
  const reporter = new CollectingReporter();
  return {
    control: control.conditional,
    controlUrl: control.displayUrl,
    reporter,
    now: () => clock.now,
    openShard: (i, n) => {
      const key = `shard-${i}-of-${n}`;
      if (!shards.has(key)) shards.set(key, new MemoryBackend(`memory://target/${key}`));
      return { ...opContext(new Kept(shards.get(key)!), clock, contextDirs(work, `${label}-${key}`)), reporter };
    },
  };
}

function request(source: string, mode: BackupRequest['mode']): BackupRequest {
  return backupRequest(source, { mode, volsize: 256 * 1024, hostname: 'worker' });
}

function restoreRequest(dest: string, time?: number) {
  return {
    dest,
    ...(time !== undefined ? { time } : {}),
    jobs: 2,
    force: false,
    dryRun: false,
    numericOwner: false,
    restoreOwnership: process.getuid?.() === 0,
  };
}

describe('sharded backup and restore in-process', () => {
  it('three workers side by side, an incremental round, whole restores exact, one shard alone holds only its paths', async (t) => {
    const work = tmpDir(t, 'shards-in-process');
    const source = join(work, 'source');
    buildTree(source, hostileTreeSpec(23, { smallFiles: 60 }));
    const clock = { now: T0 };
    const target = shardedMemoryTarget(work, clock, 'w');

    const fulls = await Promise.all([0, 1, 2].map((index) => shardedBackup(target, { shards: N, index, backup: request(source, 'auto') })));
    assert.deepEqual(
      fulls.map((r) => [r.generation, r.run]),
      [
        [1, 'full'],
        [1, 'full'],
        [1, 'full'],
      ],
    );
    assert.equal(fulls.filter((r) => r.planMadeHere).length, 1);
    assert.ok(fulls.some((r) => r.complete));
    execFileSync('cp', ['-a', '--', source, join(work, 'at-full')]);

    mutateTree(source, 23, 1, T0 - 5000);
    clock.now += HOUR;
    const incs = await Promise.all([2, 0, 1].map((index) => shardedBackup(target, { shards: N, index, backup: request(source, 'auto') })));
    assert.deepEqual(
      incs.map((r) => [r.generation, r.run]),
      [
        [1, 'incremental'],
        [1, 'incremental'],
        [1, 'incremental'],
      ],
    );
    const { catalogue } = await readCatalogue(target.control, target.controlUrl);
    assert.equal(catalogue.generations.length, 1);

    const latest = join(work, 'latest');
    await shardedRestore(target, restoreRequest(latest));
    assertSameTree(source, latest, EXACT, 'latest');
    const first = join(work, 'first');
    await shardedRestore(target, restoreRequest(first, T0));
    assertSameTree(join(work, 'at-full'), first, EXACT, 'at the full');

    // one shard restored alone: its own paths and the shared directories, nothing of the others
    const plan = (await readPlan(target.control, 1, target.controlUrl))!.plan;
    const alone = join(work, 'alone');
    await shardedRestore(target, { ...restoreRequest(alone), index: 1, force: true });
    const restored = walkTree(alone).filter((e) => e.rel.length > 0);
    assert.ok(restored.length > 0);
    for (const e of restored) {
      const index = e.rel
        .toString('latin1')
        .split('/')
        .map((c) => Buffer.from(c, 'latin1'));
      assert.notEqual(membership(plan, 1, index), 'other', `${e.rel.toString()} belongs to another shard`);
    }
  });
});
