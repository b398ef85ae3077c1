/**
 * A damaged cache heals on S3 too (issue 13): a truncated cached signature file and a cached
 * manifest with a wrong volume hash are fetched again from the bucket (warnings naming the local
 * files), the next incremental and a restore succeed, and nothing in the bucket is changed.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { assertSameTree } from '../support/compare.ts';
import { createBucket, headAll, runUnencrypted, type CliResult } from './helpers.ts';
import { escapeRegExp } from '../support/regex.ts';

const hooks = fileCleanup();

let moto: MotoServer;
let work: string;
const BUCKET = 'cache-heal-bucket';
const PREFIX = 'hosts/db2/';
const URL = `boto3+s3://${BUCKET}/${PREFIX}`;
const T1 = 1_790_000_000;

before(async () => {
  moto = await startMoto(hooks);
  work = tmpDir(hooks, 's3-cache-heal');
  await createBucket(moto.endpoint, BUCKET);
});

async function permafrost(args: readonly string[], expectCode = 0): Promise<CliResult> {
  return runUnencrypted(args, { work, name: 'db2', endpoint: moto.endpoint }, expectCode);
}

test('a truncated cached signature file and a wrong hash in a cached manifest are fetched again from the bucket', async () => {
  const src = join(work, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'a.bin'), randomBytes(300_000));
  await permafrost(['full', '--current-time', String(T1), src, URL]);
  const cache = join(work, 'cache', 'db2');
  const cached = (re: RegExp) => join(cache, readdirSync(cache).find((n) => re.test(n))!);
  const sig = cached(/^duplicity-full-signatures\./);
  const manifest = cached(/^duplicity-full\..*\.manifest$/);
  const good = readFileSync(manifest, 'latin1');
  const bucketBefore = (await headAll(moto.endpoint, BUCKET, PREFIX)).map((o) => `${o.key} ${o.size} ${o.crc32c}`);

  truncateSync(sig, 64);
  writeFileSync(join(src, 'b.bin'), randomBytes(50_000));
  const inc = await permafrost(['incremental', '--current-time', String(T1 + 3600), src, URL]);
  assert.match(
    inc.stdout,
    new RegExp(
      `^Cached signature file ${escapeRegExp(sig)} is damaged \\(unexpected end of file\\): replaced with the target's copy$`,
      'm',
    ),
  );

  writeFileSync(manifest, good.replace(/(Hash SHA1 )[0-9a-f]{40}/, `$1${'0f'.repeat(20)}`), 'latin1');
  const dest = join(work, 'restore');
  const restored = await permafrost(['restore', URL, dest]);
  assert.match(
    restored.stdout,
    new RegExp(`^Cached manifest ${escapeRegExp(manifest)} differs from the target's: replaced with the target's copy$`, 'm'),
  );
  assert.equal(readFileSync(manifest, 'latin1'), good);
  assertSameTree(src, dest);

  const bucketAfter = (await headAll(moto.endpoint, BUCKET, PREFIX)).map((o) => `${o.key} ${o.size} ${o.crc32c}`);
  assert.deepEqual(
    bucketAfter.filter((l) => !l.includes(`.to.`)),
    bucketBefore,
    'the full set in the bucket is untouched',
  );
});
