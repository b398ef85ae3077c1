/**
 * A sharded backup on S3 (moto) through the CLI: N worker processes side by side, told their
 * index by JOB_COMPLETION_INDEX (Kubernetes) in one test and AWS_BATCH_JOB_ARRAY_INDEX (AWS
 * Batch) in the other. Shards are sub-prefixes; the plan and the catalogue are written with
 * If-None-Match and If-Match; the whole restore equals the source; a missing worker leaves the
 * generation incomplete until its index runs.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { assertSameTree } from '../support/compare.ts';
import { startMoto, TEST_CREDENTIALS } from '../support/moto.ts';
import { runPermafrost } from '../support/permafrost.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { buildTree } from '../support/tree.ts';
import { createBucket, inspector } from '../s3/helpers.ts';
import { assertOk, backupWorkers, common, HOUR, skewedTree, T0, type IndexVariable, type ShardedSetup } from './harness.ts';
import { assertMatchesSchema } from '../support/json-schemas.ts';

const t = fileCleanup();
const N = 3;

async function scenario(variable: IndexVariable, bucket: string): Promise<void> {
  const moto = await startMoto(t);
  await createBucket(moto.endpoint, bucket);
  const work = tmpDir(t, `shards-s3-${variable}`);
  const s: ShardedSetup = {
    url: `s3://${bucket}/backups/data`,
    archiveDir: join(work, 'archive'),
    env: {
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_S3: moto.endpoint,
      AWS_REGION: 'us-east-1',
    },
  };
  const src = join(work, 'src');
  skewedTree(src);

  // two of three workers: the generation is incomplete and nothing is restored
  for (const r of await backupWorkers(s, [0, 2], N, ['--current-time', String(T0), src, s.url], variable)) assertOk(r, 'worker');
  const early = await runPermafrost(['restore', ...common(s), s.url, join(work, 'early')], s.env);
  assert.equal(early.code, 12, early.stdout + early.stderr);
  for (const r of await backupWorkers(s, [1], N, ['--current-time', String(T0), src, s.url], variable)) assertOk(r, 'worker 1');

  const c = inspector(moto.endpoint);
  try {
    const keys = ((await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'backups/data/' }))).Contents ?? []).map((o) => o.Key!);
    for (let i = 0; i < N; i++)
      assert.ok(
        keys.some((k) => k.startsWith(`backups/data/shard-${i}-of-${N}/duplicity-full.`)),
        `shard ${i} has a full: ${keys.join(' ')}`,
      );
    assert.ok(keys.includes('backups/data/permafrost-shards/plan-1.json'));
    const body = await (
      await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'backups/data/permafrost-shards/catalogue.json' }))
    ).Body!.transformToString();
    const catalogue = JSON.parse(body) as { generations: { complete?: number; done: Record<string, unknown> }[] };
    assert.equal(catalogue.generations.length, 1);
    assert.notEqual(catalogue.generations[0]!.complete, undefined);
  } finally {
    c.destroy();
  }

  // an incremental round of all workers, then the whole restore (shards side by side)
  buildChange(src);
  for (const r of await backupWorkers(s, [0, 1, 2], N, ['--current-time', String(T0 + HOUR), src, s.url], variable))
    assertOk(r, 'incremental');
  const dest = join(work, 'restored');
  const restored = await runPermafrost(['restore', '--jobs', '2', ...common(s), s.url, dest], s.env);
  assertOk(restored, 'restore');
  assertSameTree(src, dest, {}, 'whole restore from S3');
  const status = await runPermafrost(['collection-status', '--json', ...common(s), s.url], s.env);
  assertOk(status, 'status');
  const doc = JSON.parse(status.stdout) as { current: number };
  assertMatchesSchema('collection-status', doc, 'collection-status --json of a sharded S3 target');
  assert.equal(doc.current, 1);
}

/** New files in the big directory and a new directory; directory mtimes set again. */
function buildChange(src: string): void {
  buildTree(src, {
    entries: [
      { kind: 'file', path: 'huge/part-900', size: 50_000, seed: 900, mtime: T0 + 10 },
      { kind: 'file', path: 'later/x.txt', content: 'later', mtime: T0 + 10 },
      { kind: 'dir', path: 'huge', mtime: T0 + 10 },
      { kind: 'dir', path: 'later', mtime: T0 + 10 },
    ],
    root: { mtime: T0 + 10 },
  });
}

describe('sharded backups on S3 (moto)', () => {
  it('Kubernetes Indexed Job workers (JOB_COMPLETION_INDEX)', () => scenario('JOB_COMPLETION_INDEX', 'k8s'));
  it('AWS Batch array job workers (AWS_BATCH_JOB_ARRAY_INDEX)', () => scenario('AWS_BATCH_JOB_ARRAY_INDEX', 'batch'));
});
