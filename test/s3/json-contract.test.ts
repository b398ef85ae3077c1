/**
 * The stdout contract (docs/output.md) on S3 (moto), with the users' guide's OPTIONS and
 * OPTIONS_EXTRA exactly (DEEP_ARCHIVE, --progress, --verbosity i, --log-file, file prefixes) plus
 * --s3-endpoint-url and --json: every verb's stdout is one JSON document matching its schema, with
 * the S3 request accounting in it; a restore that meets archived volumes, and one waiting for a
 * thaw, still print one document (the error document) with their exit codes, 51 and 75; a thaw
 * still running prints its plan and exits 75.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertMatchesSchema } from '../support/json-schemas.ts';
import { setRestoreTransition, startMoto, type MotoServer } from '../support/moto.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { createBucket, describe, envCredentials, hermeticEnv, runCli, type CliResult } from './helpers.ts';

const hooks = fileCleanup();
const HOST = 'backupname';
const BUCKET = 'bucketname';

let moto: MotoServer;
let work: string;
let src: string;
let logs = 0;

function guide(): string[] {
  const logFile = join(work, `log-${logs++}.log`);
  const OPTIONS = `--full-if-older-than 4W --s3-use-deep-archive --no-compression --no-encryption --progress --archive-dir ${join(work, 'config')} --s3-use-multiprocessing --volsize 1024 --verbosity i --log-file ${logFile}`;
  const OPTIONS_EXTRA = `--asynchronous-upload --s3-european-buckets --s3-multipart-chunk-size 10 --s3-use-new-style --metadata-sync-mode partial --file-prefix-archive archive-${HOST}- --file-prefix-manifest manifest-${HOST}- --file-prefix-signature signature-${HOST}-`;
  return [...OPTIONS.split(' '), ...OPTIONS_EXTRA.split(' ')];
}

function pf(...args: string[]): Promise<CliResult> {
  return runCli([...guide(), '--s3-endpoint-url', moto.endpoint, '--json', ...args], hermeticEnv(envCredentials(), work), 180_000);
}

/** Exit `code`, stdout one document matching `schema`, the guide's note first on stderr. */
function ok(r: CliResult, schema: string, code = 0): Record<string, unknown> {
  assert.equal(r.code, code, describe(r));
  let doc: unknown;
  try {
    doc = JSON.parse(r.stdout);
  } catch (err) {
    assert.fail(`stdout is not one JSON document (${(err as Error).message})\n${describe(r)}`);
  }
  assertMatchesSchema(schema, doc, schema);
  assert.match(r.stderr.split('\n')[0]!, /^Options without effect here: .*--s3-use-multiprocessing/, describe(r));
  return doc as Record<string, unknown>;
}

function failed(r: CliResult, code: number, name: string, message: RegExp): void {
  const doc = ok(r, 'error', code) as { error: { code: number; name: string; message: string } };
  assert.deepEqual([doc.error.code, doc.error.name], [code, name]);
  assert.match(doc.error.message, message);
}

before(async () => {
  moto = await startMoto(hooks);
  await createBucket(moto.endpoint, BUCKET);
  work = tmpDir(hooks, 's3-json-contract');
  src = join(work, 'data');
  mkdirSync(join(src, 'smallfiles'), { recursive: true });
  for (let i = 0; i < 50; i++) writeFileSync(join(src, 'smallfiles', `f${i}.txt`), `small file ${i}\n`);
});

test("every verb with the guide's options and --json on S3: one document each, with the request counts", async () => {
  await setRestoreTransition(moto.endpoint, { progression: 'immediate' });
  const url = `boto3+s3://${BUCKET}/ready`;
  const backup = ok(await pf(src, url), 'backup');
  assert.equal(backup['type'], 'full');
  assert.ok(backup['requests'], 'object stores add the request accounting');

  const status = ok(await pf('collection-status', url), 'collection-status') as { volumes: { storageClass: string }[] };
  assert.deepEqual(
    status.volumes.map((v) => v.storageClass),
    ['DEEP_ARCHIVE'],
  );
  const list = ok(await pf('list-current-files', url), 'list-current-files') as { files: unknown[] };
  assert.equal(list.files.length, 52);
  assert.deepEqual(ok(await pf('verify', url, src), 'verify')['differences'], []);

  // archived: the restore refuses before reading (51), still one document
  failed(await pf('restore', url, join(work, 'r0')), 51, 'backendError', /archived and not restored/);
  const plan = ok(await pf('thaw', '--dry-run', url), 'thaw') as { counts: { archived: number } };
  assert.equal(plan.counts.archived, 1);
  const manifest = join(work, 'batch.csv');
  const batch = ok(await pf('thaw', '--batch-manifest', manifest, url), 'thaw') as { batchManifest: string; rows: number };
  assert.deepEqual([batch.batchManifest, batch.rows], [manifest, 1]);
  // moto's restore is in progress at the HEAD after the request: 75, with the plan as the document
  const thaw = ok(await pf('thaw', url), 'thaw', 75) as { requests: { sent: number }; counts: { inProgress: number } };
  assert.deepEqual([thaw.requests.sent, thaw.counts.inProgress], [1, 1]);
  const restored = ok(await pf('restore', '--thaw', '--wait', '--poll-interval', '1', url, join(work, 'r1')), 'restore');
  assert.equal(restored['files'], 52);

  ok(await pf('cleanup', url), 'cleanup');
  ok(await pf('remove-all-but-n-full', '1', url), 'remove-all-but-n-full');
  ok(await pf('remove-older-than', '1Y', url), 'remove-older-than');
});

test('a restore waiting for its thaw (exit 75) prints the error document', async () => {
  await setRestoreTransition(moto.endpoint, { progression: 'time', seconds: 3600 });
  const url = `boto3+s3://${BUCKET}/waiting`;
  ok(await pf(src, url), 'backup');
  failed(await pf('restore', '--thaw', url, join(work, 'r2')), 75, 'thawInProgress', /still being restored/);
});
