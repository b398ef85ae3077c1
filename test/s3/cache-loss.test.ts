/**
 * Cache loss on a DEEP_ARCHIVE backup (issue 6): with the archive dir deleted, the next incremental
 * rebuilds the cache from the STANDARD manifests and signatures, with no thaw. Every request goes
 * through the recording proxy, so the test sees each GET's key: none may touch an archived object
 * (moto refuses such a GET, which would also fail the run), and no request may fail.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { FaultProxy } from './fault-proxy.ts';
import { createBucket, headAll, type CliResult, runUnencrypted, lastJson } from './helpers.ts';
import type { RequestSummary } from '../../src/backend/request-accounting.ts';

const hooks = fileCleanup();

let moto: MotoServer;
let proxy: FaultProxy;
let work: string;
const BUCKET = 'cache-loss-bucket';
const PREFIX = 'hosts/db1/';
const URL = `boto3+s3://${BUCKET}/${PREFIX}`;
const T1 = 1_790_000_000;

before(async () => {
  moto = await startMoto(hooks);
  proxy = await FaultProxy.start(hooks, moto.endpoint);
  work = tmpDir(hooks, 's3-cache-loss');
  await createBucket(moto.endpoint, BUCKET);
});

async function permafrost(args: readonly string[], expectCode = 0): Promise<CliResult> {
  return runUnencrypted(args, { work, name: 'db1', endpoint: proxy.endpoint }, expectCode);
}

test('the next incremental after the cache is lost needs no thaw: no GET touches an archived object', async () => {
  const src = join(work, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'a.bin'), randomBytes(200_000));
  await permafrost(['full', '--s3-use-deep-archive', '--current-time', String(T1), src, URL]);
  writeFileSync(join(src, 'b.bin'), randomBytes(100_000));
  await permafrost(['incremental', '--s3-use-deep-archive', '--current-time', String(T1 + 3600), src, URL]);

  const before = await headAll(moto.endpoint, BUCKET, PREFIX);
  const archived = new Set(before.filter((o) => o.storageClass === 'DEEP_ARCHIVE').map((o) => o.key));
  const signatures = before.filter((o) => o.key.includes('signatures.')).map((o) => o.key);
  assert.equal(archived.size, 2, JSON.stringify(before));
  assert.ok(
    before.every((o) => archived.has(o.key) === o.key.includes('.difftar')),
    'volumes archived, metadata STANDARD',
  );

  rmSync(join(work, 'cache'), { recursive: true });
  writeFileSync(join(src, 'c.bin'), randomBytes(50_000));
  proxy.requests.length = 0;
  const r = await permafrost(['incremental', '--s3-use-deep-archive', '--json', '--current-time', String(T1 + 7200), src, URL]);
  const json = lastJson<{ type: string; requests: RequestSummary }>(r.stdout);
  assert.equal(json.type, 'inc');

  const gets = proxy.seen('GetObject').map((q) => decodeURIComponent(q.path).slice(`/${BUCKET}/`.length));
  assert.deepEqual(
    gets.filter((k) => archived.has(k)),
    [],
    'no GET of an archived object',
  );
  for (const sig of signatures) assert.ok(gets.includes(sig), `the signature chain is fetched again: ${sig}`);
  assert.equal(json.requests.requests.get, gets.length);
  assert.equal(json.requests.failed, 0, 'no request failed (an archived GET would)');
  assert.equal(json.requests.requests.restore, 0, 'no thaw');
  assert.ok(existsSync(join(work, 'cache', 'db1')), 'the cache is rebuilt');

  // the new set extends the chain, and its volume went to DEEP_ARCHIVE like the others
  const afterwards = await headAll(moto.endpoint, BUCKET, PREFIX);
  const newVolumes = afterwards.filter((o) => o.key.includes('.difftar') && !archived.has(o.key));
  assert.equal(newVolumes.length, 1);
  assert.equal(newVolumes[0]!.storageClass, 'DEEP_ARCHIVE');
  const status = lastJson<{ chains: unknown[] }>((await permafrost(['collection-status', '--json', URL])).stdout);
  assert.equal(status.chains.length, 1);
  const files = (await permafrost(['list-current-files', URL])).stdout;
  assert.match(files, / c\.bin$/m);
});
