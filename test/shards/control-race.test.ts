/**
 * Workers racing on the control objects, as real processes side by side (file:// and S3 on
 * moto): of N workers creating generation 1's plan exactly one writes it and all use its plan; N
 * workers recording their shards in the catalogue at once all land, and the generation is
 * complete exactly when the last one is in.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { startMoto, TEST_CREDENTIALS } from '../support/moto.ts';
import type { Catalogue } from '../../src/ops/shards/catalogue.ts';

const CHILD = new URL('./race-child.ts', import.meta.url).pathname;
const t = fileCleanup();
const N = 6;

async function race(work: string, round: string, what: string, target: readonly string[], env: NodeJS.ProcessEnv): Promise<string[]> {
  const start = join(work, `go-${round}`);
  const runs = Array.from({ length: N }, (_, i) => {
    const child = spawn(process.execPath, [CHILD, start, what, String(i), String(N), ...target], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    return new Promise<string>((resolve, reject) =>
      child.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`child ${i} exit ${code}: ${out}${err}`)))),
    );
  });
  await new Promise((r) => setTimeout(r, 2500));
  writeFileSync(start, '');
  return Promise.all(runs);
}

function checkPlans(outputs: string[], walkers = 1): void {
  const parsed = outputs.map((o) => JSON.parse(o) as { madeHere: boolean; walked: boolean; plan: unknown });
  assert.equal(parsed.filter((p) => p.madeHere).length, 1, `exactly one worker writes the plan: ${outputs.join('\n')}`);
  if (walkers === 1) assert.equal(parsed.filter((p) => p.walked).length, 1, 'the claim lets one worker walk, the others wait');
  const first = JSON.stringify(parsed[0]!.plan);
  for (const p of parsed) assert.equal(JSON.stringify(p.plan), first, 'every worker uses the one plan written');
}

function checkCatalogue(outputs: string[], catalogue: Catalogue): void {
  const g = catalogue.generations;
  assert.equal(g.length, 1, 'generation 1 registered once');
  assert.deepEqual(
    Object.keys(g[0]!.done).sort(),
    Array.from({ length: N }, (_, i) => String(i)).sort(),
    "no worker lost another one's record",
  );
  assert.notEqual(g[0]!.complete, undefined);
  // the write that completed it: the worker whose record came last saw it complete; none saw it before its own record
  assert.ok(outputs.some((o) => JSON.parse(o).complete === true));
}

describe('control objects under concurrent workers', () => {
  it('file://: one plan for all, and every catalogue record kept', async () => {
    const work = tmpDir(t, 'shard-race');
    const dir = join(work, 'control');
    for (let round = 0; round < 2; round++) {
      const d = `${dir}-${round}`;
      checkPlans(await race(work, `p${round}`, 'plan', ['file', d], process.env));
      const out = await race(work, `c${round}`, 'catalogue', ['file', d], process.env);
      checkCatalogue(out, JSON.parse(readFileSync(join(d, 'catalogue.json'), 'utf8')) as Catalogue);
    }
  });

  it('file://: a claim its walker abandoned holds the others back only until it is stale, then they plan', async () => {
    const work = tmpDir(t, 'shard-stale-claim');
    const d = join(work, 'control');
    mkdirSync(d, { recursive: true });
    // a worker that claimed the walk and died: its claim is never rewritten
    writeFileSync(join(d, 'plan-1.claim'), '{"pid":1}\n');
    const out = await race(work, 'stale', 'plan', ['file', d], { ...process.env, PLAN_STALE_MS: '1500' });
    checkPlans(out, N);
    const parsed = out.map((o) => JSON.parse(o) as { walked: boolean; waitedMs: number });
    assert.ok(parsed.some((p) => p.walked));
    for (const p of parsed) assert.ok(p.waitedMs >= 1500, `a worker waited ${p.waitedMs} ms, less than the stale time`);
  });

  it('S3 (moto, If-None-Match and If-Match): one plan for all, and every catalogue record kept', async () => {
    const work = tmpDir(t, 'shard-race-s3');
    const moto = await startMoto(t);
    const env = {
      ...process.env,
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    };
    const s3 = new S3Client({ endpoint: moto.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: TEST_CREDENTIALS });
    await s3.send(new CreateBucketCommand({ Bucket: 'race' }));
    const url = 's3://race/target/permafrost-shards';
    checkPlans(await race(work, 'p', 'plan', ['s3', url, moto.endpoint], env));
    const out = await race(work, 'c', 'catalogue', ['s3', url, moto.endpoint], env);
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    const body = await (
      await s3.send(new GetObjectCommand({ Bucket: 'race', Key: 'target/permafrost-shards/catalogue.json' }))
    ).Body!.transformToString();
    checkCatalogue(out, JSON.parse(body) as Catalogue);
    s3.destroy();
  });
});
