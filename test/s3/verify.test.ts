/**
 * `verify` without --compare-data on S3 (moto, through the recording proxy): volumes in
 * DEEP_ARCHIVE are checked with HeadObject (size and stored CRC-32C against what was recorded at
 * upload: in the manifests for volumes and signature files, in the cache's upload log for the
 * manifests themselves), never downloaded; only the STANDARD manifests are read. Damage made behind
 * permafrost's back (an object replaced with other bytes of the same size, one of another size, one
 * deleted) is listed one line each with exit 1, and still is after the cache is lost (the records
 * are in the manifests; see verify-durable.test.ts). `--compare-data` needs a thaw and says so.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { FaultProxy } from './fault-proxy.ts';
import { createBucket, headAll, inspector, type CliResult, runUnencrypted, lastJson, type VerifyJson } from './helpers.ts';
import { escapeRegExp } from '../support/regex.ts';

const hooks = fileCleanup();

let moto: MotoServer;
let proxy: FaultProxy;
let work: string;
const BUCKET = 'verify-bucket';
const PREFIX = 'backups/host1/';
const URL = `boto3+s3://${BUCKET}/${PREFIX}`;
const T1 = 1_790_000_000;

before(async () => {
  moto = await startMoto(hooks);
  proxy = await FaultProxy.start(hooks, moto.endpoint);
  work = tmpDir(hooks, 's3-verify');
  await createBucket(moto.endpoint, BUCKET);
});

async function permafrost(args: readonly string[], expectCode = 0): Promise<CliResult> {
  return runUnencrypted(args, { work, name: 'v', endpoint: proxy.endpoint }, expectCode);
}

test('verify checks archived volumes with HEAD against the records made at upload, without downloading them', async () => {
  const src = join(work, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'big.bin'), randomBytes(1_500_000));
  await permafrost(['full', '--s3-use-deep-archive', '--volsize', '1', '--current-time', String(T1), src, URL]);
  writeFileSync(join(src, 'new.bin'), randomBytes(50_000));
  await permafrost(['incremental', '--s3-use-deep-archive', '--volsize', '1', '--current-time', String(T1 + 3600), src, URL]);

  const objects = await headAll(moto.endpoint, BUCKET, PREFIX);
  const volumes = objects.filter((o) => o.key.includes('.difftar'));
  const manifests = objects.filter((o) => o.key.endsWith('.manifest'));
  assert.ok(volumes.length >= 3 && volumes.every((o) => o.storageClass === 'DEEP_ARCHIVE'), JSON.stringify(objects));

  proxy.requests.length = 0;
  let r = await permafrost(['verify', '--json', URL, src]);
  let j = lastJson<VerifyJson>(r.stdout);
  assert.equal(j.sets, 2);
  assert.equal(j.volumes, volumes.length);
  // volumes, manifests and signature files: each has an upload record and a stored CRC-32C
  assert.equal(j.checked.crc32c, objects.length);
  assert.deepEqual([j.problems, j.extra, j.checked.presence], [[], [], 0]);
  assert.deepEqual(j.recordsFrom, { manifest: objects.length - manifests.length, uploadLog: manifests.length });
  const got = proxy.seen('GetObject').map((q) => decodeURIComponent(q.path));
  assert.deepEqual(got.sort(), manifests.map((o) => `/${BUCKET}/${o.key}`).sort(), 'only the manifests are read');
  assert.equal(proxy.seen('HeadObject').length, objects.length);
  assert.equal(j.requests.requests.get, manifests.length);
  assert.equal(
    j.requests.downloaded.bytes,
    manifests.reduce((n, o) => n + o.size, 0),
  );

  // --compare-data reads the volumes: archived, so it stops and asks for a thaw
  const refused = await permafrost(['verify', '--compare-data', URL, src], 51);
  assert.match(refused.stderr, /it is in DEEP_ARCHIVE and not restored: thaw it first/);

  // damage behind permafrost's back
  const [v1, v2, v3] = volumes.map((o) => o.key);
  const c = inspector(moto.endpoint);
  try {
    await c.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: v1!,
        Body: randomBytes(volumes[0]!.size),
        ChecksumAlgorithm: 'CRC32C',
        StorageClass: 'DEEP_ARCHIVE',
      }),
    );
    await c.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: v2!,
        Body: randomBytes(1000),
        ChecksumAlgorithm: 'CRC32C',
        StorageClass: 'DEEP_ARCHIVE',
      }),
    );
    await c.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: v3! }));
  } finally {
    c.destroy();
  }
  const after = new Map((await headAll(moto.endpoint, BUCKET, PREFIX)).map((o) => [o.key, o]));
  const name = (key: string) => key.slice(PREFIX.length);
  const v1crc = volumes[0]!.crc32c!;
  r = await permafrost(['verify', URL, src], 1);
  assert.match(
    r.stdout,
    new RegExp(
      `^Checksum mismatch: ${escapeRegExp(name(v1!))}: CRC-32C ${escapeRegExp(after.get(v1!)!.crc32c!)} at the target, ${escapeRegExp(v1crc)} recorded at upload$`,
      'm',
    ),
  );
  assert.match(
    r.stdout,
    new RegExp(`^Size mismatch: ${escapeRegExp(name(v2!))}: 1000 bytes at the target, ${volumes[1]!.size} recorded at upload$`, 'm'),
  );
  assert.match(r.stdout, /^Missing: volume \d+ of the (full|incremental) set .*, listed in duplicity-.*\.manifest$/m);
  assert.match(r.stdout, /1 missing, 2 mismatched or unreadable, 0 extra\./);
  assert.match(r.stdout, /S3 requests: .*\d+ GET.*\d+ HEAD/);

  // the cache (with the upload log) is lost: the manifests' records still find the same damage
  rmSync(join(work, 'cache'), { recursive: true });
  r = await permafrost(['verify', '--json', URL, src], 1);
  j = lastJson<VerifyJson>(r.stdout);
  assert.deepEqual(j.problems.map((p) => p.kind).sort(), ['checksum', 'missing', 'size']);
  assert.equal(j.checked.crc32c, objects.length - manifests.length - 3, 'every volume and signature file but the three damaged ones');
  assert.deepEqual([j.checked.read, j.checked.presence], [manifests.length, 0]);
  assert.deepEqual(j.recordsFrom, { manifest: objects.length - manifests.length - 1, uploadLog: 0 });
});
