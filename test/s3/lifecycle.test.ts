/**
 * Lifecycle rules instead of per-PUT storage classes (issue 6): with `--file-prefix-archive data-`,
 * a bucket lifecycle rule filtering on `<prefix>data-` matches exactly the data volumes, never a
 * manifest or signature file. moto stores lifecycle rules but does not run transitions (AWS does,
 * once a day), so the test checks that S3 accepts the rule and that the keys under its filter are
 * exactly the volumes, then performs the transition itself the way S3 does it (the object rewritten
 * in DEEP_ARCHIVE) and checks that permafrost keeps working: an incremental after cache loss needs
 * no thaw, and verify without download passes.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CopyObjectCommand,
  GetBucketLifecycleConfigurationCommand,
  ListObjectsV2Command,
  PutBucketLifecycleConfigurationCommand,
} from '@aws-sdk/client-s3';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { createBucket, headAll, inspector, type CliResult, runUnencrypted, lastJson } from './helpers.ts';
import type { RequestSummary } from '../../src/backend/request-accounting.ts';

const hooks = fileCleanup();

let moto: MotoServer;
let work: string;
const BUCKET = 'lifecycle-bucket';
const PREFIX = 'hosts/db1/';
const URL = `boto3+s3://${BUCKET}/${PREFIX}`;
const ARCHIVE_PREFIX = 'data-';
const T1 = 1_790_000_000;

before(async () => {
  moto = await startMoto(hooks);
  work = tmpDir(hooks, 's3-lifecycle');
  await createBucket(moto.endpoint, BUCKET);
});

async function permafrost(args: readonly string[], expectCode = 0): Promise<CliResult> {
  return runUnencrypted(args, { work, name: 'db1', endpoint: moto.endpoint, extra: ['--file-prefix-archive', ARCHIVE_PREFIX] }, expectCode);
}

test('a lifecycle rule on the --file-prefix-archive prefix moves only data volumes', async () => {
  const src = join(work, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'a.bin'), randomBytes(1_500_000));
  await permafrost(['full', '--volsize', '1', '--current-time', String(T1), src, URL]);
  writeFileSync(join(src, 'b.bin'), randomBytes(100_000));
  await permafrost(['incremental', '--volsize', '1', '--current-time', String(T1 + 3600), src, URL]);

  const filter = `${PREFIX}${ARCHIVE_PREFIX}`;
  const c = inspector(moto.endpoint);
  try {
    const rule = {
      ID: 'volumes-to-deep-archive',
      Status: 'Enabled' as const,
      Filter: { Prefix: filter },
      Transitions: [{ Days: 0, StorageClass: 'DEEP_ARCHIVE' as const }],
    };
    await c.send(new PutBucketLifecycleConfigurationCommand({ Bucket: BUCKET, LifecycleConfiguration: { Rules: [rule] } }));
    const stored = await c.send(new GetBucketLifecycleConfigurationCommand({ Bucket: BUCKET }));
    assert.equal(stored.Rules?.length, 1);
    assert.equal(stored.Rules?.[0]?.Filter?.Prefix, filter);

    // what the rule's filter selects is exactly the data volumes (by their duplicity names)
    const all = (await headAll(moto.endpoint, BUCKET, PREFIX)).map((o) => o.key.slice(PREFIX.length));
    const isVolume = (n: string) => /^data-duplicity-(full|inc)\..*\.vol\d+\.difftar/.test(n);
    const volumes = all.filter(isVolume).sort();
    assert.ok(volumes.length >= 3, all.join(' '));
    assert.ok(all.some((n) => n.endsWith('.manifest')) && all.some((n) => n.includes('signatures')));
    const matched = ((await c.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: filter }))).Contents ?? [])
      .map((o) => o.Key!.slice(PREFIX.length))
      .sort();
    assert.deepEqual(matched, volumes);
    assert.ok(
      all.filter((n) => !isVolume(n)).every((n) => !`${PREFIX}${n}`.startsWith(filter)),
      'no metadata under the filter',
    );

    // the transition, as S3 performs it (moto does not run lifecycle rules)
    for (const key of matched) {
      await c.send(
        new CopyObjectCommand({
          Bucket: BUCKET,
          Key: `${PREFIX}${key}`,
          CopySource: `${BUCKET}/${PREFIX}${key}`,
          StorageClass: 'DEEP_ARCHIVE',
          ChecksumAlgorithm: 'CRC32C',
          MetadataDirective: 'COPY',
        }),
      );
    }
  } finally {
    c.destroy();
  }
  const classes = new Map((await headAll(moto.endpoint, BUCKET, PREFIX)).map((o) => [o.key.slice(PREFIX.length), o.storageClass]));
  for (const [name, cls] of classes) assert.equal(cls, name.startsWith(ARCHIVE_PREFIX) ? 'DEEP_ARCHIVE' : 'STANDARD', name);

  // permafrost after the transition: verify without download passes, a cache-less incremental needs no thaw
  await permafrost(['verify', URL, src]);
  rmSync(join(work, 'cache'), { recursive: true });
  writeFileSync(join(src, 'c.bin'), randomBytes(10_000));
  const inc = lastJson<{ requests: RequestSummary }>(
    (await permafrost(['incremental', '--json', '--current-time', String(T1 + 7200), src, URL])).stdout,
  );
  assert.equal(inc.requests.failed, 0);
  assert.equal(inc.requests.requests.restore, 0);
  // without --s3-use-*, permafrost itself writes STANDARD: the new volume waits for the rule
  const newest = (await headAll(moto.endpoint, BUCKET, PREFIX)).filter(
    (o) => o.key.includes(`${ARCHIVE_PREFIX}duplicity-inc.`) && o.storageClass === 'STANDARD',
  );
  assert.equal(newest.length, 1);
});
