/**
 * The users' guide (shared/reference/users-guide-duplicity-glacier.txt) with `permafrost` in place
 * of duplicity, against moto: its OPTIONS and OPTIONS_EXTRA exactly, plus --s3-endpoint-url, for
 * the backup, collection-status, list-current-files, remove-all-but-n-full and the restore of
 * `smallfiles/` once the volumes are restored from Glacier. The source has 10,000 small files,
 * which must cost O(volumes) PUT requests, not O(files): the guide's cost argument.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { assertSameTree } from '../support/compare.ts';
import { createBucket, describe, envCredentials, headAll, hermeticEnv, runCli, thawAll, type CliResult } from './helpers.ts';

const hooks = fileCleanup();

const HOST = 'backupname';
const BUCKET = 'bucketname';
const URL = `boto3+s3://${BUCKET}/backup-folder`;
const SMALL_FILES = 10_000;

let moto: MotoServer;
let work: string;
let src: string;
let config: string;
let logs: string;

/** The guide's option strings, with $(date ...) and $(hostname -f) expanded as its shell would. */
function guideOptions(fullIfOlderThan: '4W' | '47W'): string[] {
  const logFile = `${logs}/log-20261127-120000.log`;
  const OPTIONS = `--full-if-older-than ${fullIfOlderThan} --s3-use-deep-archive --no-compression --no-encryption --progress --archive-dir ${config} --s3-use-multiprocessing --volsize 1024 --verbosity i --log-file ${logFile}`;
  const OPTIONS_EXTRA = `--asynchronous-upload --s3-european-buckets --s3-multipart-chunk-size 10 --s3-use-new-style --metadata-sync-mode partial --file-prefix-archive archive-${HOST}- --file-prefix-manifest manifest-${HOST}- --file-prefix-signature signature-${HOST}-`;
  return [...OPTIONS.split(' '), ...OPTIONS_EXTRA.split(' ')];
}

/** `dup ARGS`: duplicity $OPTIONS $OPTIONS_EXTRA ARGS, with the endpoint of the test server. */
function dup(fullIfOlderThan: '4W' | '47W', args: readonly string[]): Promise<CliResult> {
  return runCli(
    [...guideOptions(fullIfOlderThan), '--s3-endpoint-url', moto.endpoint, ...args],
    hermeticEnv(envCredentials(), work),
    300_000,
  );
}

before(async () => {
  moto = await startMoto(hooks);
  await createBucket(moto.endpoint, BUCKET);
  work = tmpDir(hooks, 's3-guide');
  src = join(work, 'data');
  config = join(work, 'config');
  logs = join(work, 'logs');
  mkdirSync(logs);
  mkdirSync(join(src, 'smallfiles'), { recursive: true });
  for (let i = 0; i < SMALL_FILES; i++) {
    const d = join(src, 'smallfiles', `d${Math.floor(i / 500)}`);
    if (i % 500 === 0) mkdirSync(d);
    writeFileSync(join(d, `f${i}.txt`), `small file ${i}\n`);
  }
  // one large file, so that the volume is uploaded in 10 MiB parts
  writeFileSync(join(src, 'large.bin'), randomBytes(14 * 1024 * 1024));
});

function requestLine(r: CliResult): string {
  const line = r.stdout.split('\n').find((l) => l.startsWith('S3 requests: '));
  assert.ok(line, `no request summary\n${describe(r)}`);
  return line;
}

test("the guide's backup, status, listing, retention and restore commands, run unchanged", async () => {
  // docker run ... dup /mnt/backup/src/data boto3+s3://bucketname/backup-folder
  const backup = await dup('4W', [src, URL]);
  assert.equal(backup.code, 0, describe(backup));
  const line = requestLine(backup);
  const objects = await headAll(moto.endpoint, BUCKET, 'backup-folder/');
  const volumes = objects.filter((o) => o.key.startsWith(`backup-folder/archive-${HOST}-duplicity-full.`));
  assert.equal(volumes.length, 1, objects.map((o) => o.key).join(', '));
  // objects above --s3-multipart-chunk-size (10 MiB) go in 10 MiB parts, the others in one PUT;
  // each multipart object is checked with a HEAD (moto's CompleteMultipartUpload answer has no checksum)
  const chunk = 10 * 1024 * 1024;
  const multipart = objects.filter((o) => o.size > chunk);
  const parts = multipart.reduce((n, o) => n + Math.ceil(o.size / chunk), 0);
  // plus the target lock: one PUT, a GET to read it back and one before the manifest, which is
  // preceded by a HEAD of every object the set uploaded, and a DELETE at the end
  const puts = objects.length - multipart.length + 1;
  assert.ok(multipart.length >= 1 && parts >= 2);
  const putClass = 1 + puts + multipart.length * 2 + parts;
  const heads = multipart.length + objects.length - 1;
  assert.match(
    line,
    new RegExp(
      `^S3 requests: ${puts} PUT, ${multipart.length} multipart \\(${parts} parts\\), 2 GET, 1 LIST, ${heads} HEAD, 1 DELETE, 0 restore; ${putClass} PUT-class\\. Uploaded 3 objects: 1 in DEEP_ARCHIVE`,
    ),
  );
  // the cost argument: PUT-class requests follow the volumes, not the 10,001 files
  assert.ok(putClass <= 12, `${putClass} PUT-class requests for ${SMALL_FILES + 1} files`);
  assert.deepEqual(objects.map((o) => [o.key.replace(/\d{8}T\d{6}Z/g, 'T'), o.storageClass]).sort(), [
    [`backup-folder/archive-${HOST}-duplicity-full.T.vol1.difftar`, 'DEEP_ARCHIVE'],
    [`backup-folder/manifest-${HOST}-duplicity-full.T.manifest`, 'STANDARD'],
    [`backup-folder/signature-${HOST}-duplicity-full-signatures.T.sigtar`, 'STANDARD'],
  ]);
  assert.match(backup.stdout, /^A smallfiles\/d0\/f0\.txt$/m, '--verbosity i lists added files');
  assert.ok(
    existsSync(`${logs}/log-20261127-120000.log`) && readFileSync(`${logs}/log-20261127-120000.log`, 'utf8').includes('NOTICE 1'),
    '--log-file is written',
  );

  // a later run of the same command is an incremental (the full is younger than 4W)
  await new Promise((r) => setTimeout(r, 1100));
  writeFileSync(join(src, 'smallfiles', 'd0', 'f0.txt'), 'changed\n');
  const inc = await dup('4W', [src, URL]);
  assert.equal(inc.code, 0, describe(inc));
  assert.match(inc.stdout, /Starting incremental backup/);
  assert.match(requestLine(inc), /^S3 requests: 4 PUT, 0 multipart \(0 parts\), 2 GET, 1 LIST/);

  // collection-status boto3+s3://bucketname/backup-folder
  const status = await dup('47W', ['collection-status', URL]);
  assert.equal(status.code, 0, describe(status));
  assert.match(status.stdout, /Number of contained backup sets: 2/);

  // list-current-files boto3+s3://bucketname/backup-folder
  const list = await dup('47W', ['list-current-files', URL]);
  assert.equal(list.code, 0, describe(list));
  const listed = list.stdout.split('\n').filter((l) => / smallfiles\/d\d+\/f\d+\.txt$/.test(l));
  assert.equal(listed.length, SMALL_FILES);

  // remove-all-but-n-full 7 boto3+s3://bucketname/backup-folder (without --force it deletes nothing)
  const before = (await headAll(moto.endpoint, BUCKET, 'backup-folder/')).map((o) => o.key).sort();
  const prune = await dup('4W', ['remove-all-but-n-full', '7', URL]);
  if (prune.code !== 0) assert.match(prune.stderr, /"remove-all-but-n-full" is not implemented yet/, describe(prune));
  assert.deepEqual((await headAll(moto.endpoint, BUCKET, 'backup-folder/')).map((o) => o.key).sort(), before);

  // restore --file-to-restore smallfiles/ boto3+s3://bucketname/backup-folder /mnt/recovered
  const recovered = join(work, 'recovered');
  const early = await dup('47W', ['restore', '--file-to-restore', 'smallfiles/', URL, recovered]);
  assert.equal(early.code, 51, describe(early));
  assert.match(early.stderr, /^\d+ of the \d+ volumes this restore reads are archived and not restored: add --thaw/);
  // "First, you will need to restore the Duplicity backup archives from Glacier into S3."
  assert.equal((await thawAll(moto.endpoint, BUCKET, 'backup-folder/')).length, 2);
  const restore = await dup('47W', ['restore', '--file-to-restore', 'smallfiles/', '--force', URL, recovered]);
  assert.equal(restore.code, 0, describe(restore));
  assertSameTree(join(src, 'smallfiles'), recovered, { owner: false });
});
