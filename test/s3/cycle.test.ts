/**
 * The whole cycle through the CLI against moto: full and incremental backups to DEEP_ARCHIVE,
 * collection-status, list-current-files, a restore that is refused until the volumes are thawed,
 * restores at both times, an incremental after the local cache is lost (signatures are STANDARD),
 * and duplicity 0.8.22 reading the same bucket through its boto3+s3 backend.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildTree } from '../support/tree.ts';
import { assertSameTree } from '../support/compare.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { DUP08_PATH } from '../support/duplicity.ts';
import { runCommand } from '../support/cli.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { createBucket, describe, envCredentials, headAll, hermeticEnv, lastJson, runCli, thawAll, type CliResult } from './helpers.ts';
import type { RequestSummary } from '../../src/backend/request-accounting.ts';

const hooks = fileCleanup();

let moto: MotoServer;
let work: string;
const BUCKET = 'cycle-bucket';
const URL = `boto3+s3://${BUCKET}/backups/host1`;
const T1 = 1_790_000_000;
const T2 = T1 + 3600;

before(async () => {
  moto = await startMoto(hooks);
  work = tmpDir(hooks, 's3-cycle');
  await createBucket(moto.endpoint, BUCKET);
});

function env(): Record<string, string> {
  return hermeticEnv(envCredentials(), work);
}

async function permafrost(args: readonly string[], expectCode = 0): Promise<CliResult> {
  const r = await runCli([...args, '--archive-dir', join(work, 'cache'), '--name', 'cycle', '--s3-endpoint-url', moto.endpoint], env());
  assert.equal(r.code, expectCode, `permafrost ${args.join(' ')}\n${describe(r)}`);
  return r;
}

test('full, incremental, status, listing and restores through the CLI, with Glacier semantics', async () => {
  const src = join(work, 'src');
  buildTree(src, {
    entries: [
      { kind: 'file', path: 'docs/a.txt', content: 'alpha\n' },
      { kind: 'file', path: 'docs/b.bin', size: 300_000, seed: 1 },
      { kind: 'file', path: 'data/large.bin', size: 7 * 1024 * 1024, seed: 2 },
      { kind: 'symlink', path: 'docs/link', target: 'a.txt' },
      { kind: 'dir', path: 'empty' },
    ],
  });
  const full = await permafrost([
    'full',
    '--no-encryption',
    '--no-compression',
    '--s3-use-deep-archive',
    '--s3-multipart-chunk-size',
    '5',
    '--current-time',
    String(T1),
    '--json',
    src,
    URL,
  ]);
  const fullJson = lastJson<{ type: string; volumes: number; requests: RequestSummary }>(full.stdout);
  assert.equal(fullJson.type, 'full');
  // one volume above 5 MiB: one multipart upload; the signature, the manifest and the target lock: three PUTs
  assert.equal(fullJson.requests.requests.multipartCreate, 1);
  assert.equal(fullJson.requests.requests.put, 3);
  assert.equal(fullJson.requests.requests.list, 1);
  assert.deepEqual(fullJson.requests.uploaded.byClass['STANDARD']?.objects, 2);
  assert.deepEqual(fullJson.requests.uploaded.byClass['DEEP_ARCHIVE']?.objects, fullJson.volumes);
  const snapshot1 = join(work, 'snapshot1');
  cpSync(src, snapshot1, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });

  writeFileSync(join(src, 'docs/a.txt'), 'alpha, changed\n');
  rmSync(join(src, 'docs/b.bin'));
  writeFileSync(join(src, 'docs/new.txt'), 'new file\n');
  const inc = await permafrost([
    'incremental',
    '--no-encryption',
    '--no-compression',
    '--s3-use-deep-archive',
    '--current-time',
    String(T2),
    src,
    URL,
  ]);
  // the target lock: a PUT, a GET to read it back, a GET and a HEAD per uploaded object before the manifest, a DELETE
  assert.match(
    inc.stdout,
    /S3 requests: 4 PUT, 0 multipart \(0 parts\), 2 GET, 1 LIST, 2 HEAD, 1 DELETE, 0 restore; 5 PUT-class\. Uploaded 3 objects: 1 in DEEP_ARCHIVE \([^)]*\), 2 in STANDARD/,
  );

  // every object: volumes in DEEP_ARCHIVE, manifests and signatures in STANDARD
  const objects = await headAll(moto.endpoint, BUCKET, 'backups/host1/');
  assert.equal(objects.length, 6);
  for (const o of objects) {
    const expected = /\.difftar(\.gz)?$/.test(o.key) ? 'DEEP_ARCHIVE' : 'STANDARD';
    assert.equal(o.storageClass, expected, o.key);
    assert.ok(o.crc32c, `${o.key} has a stored CRC-32C`);
  }

  const status = await permafrost(['collection-status', URL]);
  assert.match(status.stdout, /Full +.* 1\n/);
  assert.match(status.stdout, /Incremental +.* 1\n/);
  assert.match(status.stdout, /S3 requests: 0 PUT.*1 LIST/);
  const statusJson = lastJson<{ requests: RequestSummary }>((await permafrost(['collection-status', '--json', URL])).stdout);
  assert.deepEqual(statusJson.requests.listed?.byClass['DEEP_ARCHIVE']?.objects, 2);
  assert.deepEqual(statusJson.requests.listed?.byClass['STANDARD']?.objects, 4);

  const listing = await permafrost(['list-current-files', URL]);
  const paths = listing.stdout
    .trim()
    .split('\n')
    .map((l) => l.replace(/^\S+ \S+ +\d+ [\d:]+ \d+ /, ''));
  assert.deepEqual(paths.sort(), ['.', 'data', 'data/large.bin', 'docs', 'docs/a.txt', 'docs/link', 'docs/new.txt', 'empty'].sort());

  // the volumes are archived: a restore stops before reading any and says what to do
  const refused = await permafrost(['restore', URL, join(work, 'refused')], 51);
  assert.match(refused.stderr, /^2 of the 2 volumes this restore reads are archived and not restored: add --thaw \(and --wait\)/);

  assert.equal((await thawAll(moto.endpoint, BUCKET, 'backups/host1/')).length, 2);
  await permafrost(['restore', URL, join(work, 'restored2')]);
  assertSameTree(src, join(work, 'restored2'), { owner: false });
  const r1 = await permafrost(['restore', '--time', String(T1), '--json', URL, join(work, 'restored1')]);
  // (cpSync does not keep directory mtimes: files are compared exactly)
  assertSameTree(snapshot1, join(work, 'restored1'), { owner: false, dirMtime: false, rootMeta: false });
  const r1json = lastJson<{ requests: RequestSummary; volumesRead: number }>(r1.stdout);
  assert.equal(r1json.requests.requests.get, r1json.volumesRead);
  assert.equal(r1json.requests.downloaded.objects, r1json.volumesRead);

  // the cache is lost: an incremental still works, because the signatures are not archived
  rmSync(join(work, 'cache'), { recursive: true });
  writeFileSync(join(src, 'docs/after-cache-loss.txt'), 'x\n');
  const inc2 = await permafrost([
    'incremental',
    '--no-encryption',
    '--no-compression',
    '--s3-use-deep-archive',
    '--current-time',
    String(T2 + 3600),
    '--json',
    src,
    URL,
  ]);
  const inc2Json = lastJson<{ requests: RequestSummary }>(inc2.stdout);
  assert.ok(inc2Json.requests.requests.get >= 2, 'signatures and manifests were fetched again');

  // duplicity 0.8.22 reads what permafrost wrote, through its own boto3+s3 backend
  await thawAll(moto.endpoint, BUCKET, 'backups/host1/');
  const dupOut = join(work, 'dup-restored');
  mkdirSync(join(work, 'dupcache'));
  await runCommand(
    DUP08_PATH,
    [
      'restore',
      '--no-encryption',
      '--archive-dir',
      join(work, 'dupcache'),
      '--name',
      'dup',
      '--s3-endpoint-url',
      moto.endpoint,
      URL,
      dupOut,
    ],
    {
      env: {
        ...envCredentials(),
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
        AWS_CONFIG_FILE: '/nonexistent',
        AWS_DEFAULT_REGION: 'us-east-1',
      },
      label: 'duplicity 0.8.22 restore from S3',
    },
  );
  assertSameTree(src, dupOut, { owner: false });
});
