/**
 * Thaws of a sharded target on S3 (moto, volumes in DEEP_ARCHIVE): one plan and one price for
 * every shard the restore reads, equal to the shards' own plans added up; a restore without
 * --thaw stops before writing; `restore --thaw --wait` thaws and restores the whole tree.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertSameTree } from '../support/compare.ts';
import { startMoto, TEST_CREDENTIALS } from '../support/moto.ts';
import { runPermafrost } from '../support/permafrost.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { createBucket } from '../s3/helpers.ts';
import { assertMatchesSchema } from '../support/json-schemas.ts';
import { assertOk, backupWorkers, common, T0, type ShardedSetup } from './harness.ts';

const t = fileCleanup();

interface Plan {
  generation?: number;
  shards?: number[];
  days: number;
  volumesInSets: number;
  toRequest: { objects: number; bytes: number };
  counts: { total: number; archived: number };
  quotes: { tier: string; total: number }[];
}
const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!) as Plan;

describe('thaw of a sharded target (moto)', () => {
  it('one plan and one price for all shards; restore --thaw --wait restores the whole tree', async () => {
    const moto = await startMoto(t);
    await createBucket(moto.endpoint, 'cold');
    const work = tmpDir(t, 'shards-thaw');
    const s: ShardedSetup = {
      url: 's3://cold/lake',
      archiveDir: join(work, 'archive'),
      env: {
        AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
        AWS_ENDPOINT_URL_S3: moto.endpoint,
        AWS_REGION: 'us-east-1',
      },
    };
    const src = join(work, 'src');
    for (const d of ['a', 'b', 'c', 'd']) {
      mkdirSync(join(src, d), { recursive: true });
      for (let i = 0; i < 3; i++) writeFileSync(join(src, d, `f${i}.bin`), randomBytes(700_000));
    }
    for (const r of await backupWorkers(s, [0, 1], 2, [
      '--s3-use-deep-archive',
      '--volsize',
      '1',
      '--current-time',
      String(T0),
      src,
      s.url,
    ]))
      assertOk(r, 'backup');

    const whole = await runPermafrost(['thaw', '--dry-run', '--json', '--days', '3', ...common(s), s.url], s.env);
    assertOk(whole, 'thaw --dry-run');
    // the whole of stdout is one document, the plain thaw document with generation and shards
    assertMatchesSchema('thaw', JSON.parse(whole.stdout), 'thaw --dry-run --json');
    const plan = lastJson(whole.stdout);
    assert.equal(plan.generation, 1);
    assert.deepEqual(plan.shards, [0, 1]);
    const parts: Plan[] = [];
    for (const i of [0, 1]) {
      const r = await runPermafrost(['thaw', '--dry-run', '--json', '--days', '3', ...common(s), `${s.url}/shard-${i}-of-2`], s.env);
      assertOk(r, `shard ${i} plan`);
      parts.push(lastJson(r.stdout));
    }
    assert.ok(
      parts.every((p) => p.toRequest.objects > 0),
      'each shard has archived volumes',
    );
    assert.equal(plan.toRequest.objects, parts[0]!.toRequest.objects + parts[1]!.toRequest.objects);
    assert.equal(plan.toRequest.bytes, parts[0]!.toRequest.bytes + parts[1]!.toRequest.bytes);
    assert.equal(plan.counts.total, parts[0]!.counts.total + parts[1]!.counts.total);
    for (const q of plan.quotes) {
      const sum = parts.reduce((n, p) => n + p.quotes.find((x) => x.tier === q.tier)!.total, 0);
      // per-request and per-GB prices: one price for all equals the sum of the shards' prices
      assert.ok(Math.abs(q.total - sum) < 1e-9, `${q.tier}: ${q.total} vs ${sum}`);
    }
    const text = await runPermafrost(['thaw', '--dry-run', ...common(s), s.url], s.env);
    assertOk(text, 'plan as text');
    assert.equal((text.stdout + text.stderr).match(/Thaw plan for/g)?.length, 1, 'one plan');

    // one S3 Batch Operations manifest for all shards (its journal in a cache of its own)
    const manifest = join(work, 'batch.csv');
    const batch = await runPermafrost(
      ['thaw', '--batch-manifest', manifest, '--json', '--no-encryption', '--archive-dir', join(work, 'batch-cache'), s.url],
      s.env,
    );
    assertOk(batch, 'thaw --batch-manifest');
    const batchDoc = JSON.parse(batch.stdout) as { rows: number; batchManifest: string };
    assertMatchesSchema('thaw', batchDoc, 'thaw --batch-manifest --json');
    assert.deepEqual([batchDoc.rows, batchDoc.batchManifest], [plan.toRequest.objects, manifest]);
    const rows = readFileSync(manifest, 'utf8').trim().split('\n');
    assert.equal(rows.length, plan.toRequest.objects);
    for (const i of [0, 1])
      assert.ok(
        rows.some((r) => r.startsWith(`cold,lake/shard-${i}-of-2/duplicity-full.`)),
        `rows of shard ${i}`,
      );
    const again1 = await runPermafrost(
      ['thaw', '--batch-manifest', manifest, '--no-encryption', '--archive-dir', join(work, 'batch-cache'), s.url],
      s.env,
    );
    assert.equal(again1.code, 52, 'an existing manifest is never overwritten');

    const cold = join(work, 'cold');
    const refused = await runPermafrost(['restore', ...common(s), s.url, cold], s.env);
    assert.equal(refused.code, 51, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /archived and not restored: add --thaw/);
    assert.equal(existsSync(cold), false, 'nothing written');

    // the requests sent: one document, whether the copies are ready yet (0) or not (75)
    const requested = await runPermafrost(['thaw', '--json', ...common(s), s.url], s.env);
    assert.ok([0, 75].includes(requested.code), requested.stdout + requested.stderr);
    const sent = JSON.parse(requested.stdout) as { requests: { sent: number } };
    assertMatchesSchema('thaw', sent, 'thaw --json');
    assert.equal(sent.requests.sent, plan.toRequest.objects);

    const dest = join(work, 'restored');
    const thawed = await runPermafrost(['restore', '--thaw', '--wait', '--json', '--poll-interval', '1', ...common(s), s.url, dest], s.env);
    assertOk(thawed, 'restore --thaw --wait');
    assertMatchesSchema('restore', JSON.parse(thawed.stdout), 'restore --thaw --wait --json');
    assertSameTree(src, dest, { rootMeta: false }, 'thawed restore');
    const again = await runPermafrost(['thaw', '--wait', '--json', ...common(s), s.url], s.env);
    assert.equal(again.code, 0, 'everything readable now');
    const ready = JSON.parse(again.stdout) as { counts: { ready: number; total: number } };
    assertMatchesSchema('thaw', ready, 'thaw --wait --json');
    assert.equal(ready.counts.ready, ready.counts.total);
  });
});
