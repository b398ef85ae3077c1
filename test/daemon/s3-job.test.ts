/**
 * The guide's daily jobs (backup, then remove-all-but-n-full) against moto's S3, with the guide's
 * OPTIONS (Deep Archive volumes): the report carries the backup's S3 request summary, the bytes
 * per storage class and a cost estimate, and no credential.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { startMoto } from '../support/moto.ts';
import { createBucket, envCredentials, headAll, hermeticEnv } from '../s3/helpers.ts';
import { runDaemon, startSmtp } from './helpers.ts';

const hooks = fileCleanup();
const SMTP = { user: 'reporter', pass: 'smtp-secret-s3' };

test('a daily S3 backup job: summary with requests, bytes per class and cost in the report and the status file', async () => {
  const moto = await startMoto(hooks);
  const smtp = await startSmtp(hooks, SMTP);
  await createBucket(moto.endpoint, 'bucket');
  const work = tmpDir(hooks, 'daemon-s3');
  const src = join(work, 'src');
  mkdirSync(join(src, 'data'), { recursive: true });
  mkdirSync(join(work, 'logs'));
  for (let i = 0; i < 20; i++) writeFileSync(join(src, 'data', `f${i}.bin`), randomBytes(100_000));
  const env = hermeticEnv(
    {
      ...envCredentials(),
      SRC: src,
      DST: 'boto3+s3://bucket/backup-path',
      OPTIONS: `--s3-use-deep-archive --no-encryption --archive-dir ${join(src, 'config')} --s3-use-multiprocessing --volsize 1 --verbosity i --log-file ${join(work, 'logs')}/log-$(date "+%Y%m%d-%H%M%S").log --full-if-older-than 4W --asynchronous-upload --s3-endpoint-url ${moto.endpoint}`,
      OPTIONS_EXTRA:
        '--s3-european-buckets --s3-multipart-chunk-size 10 --s3-use-new-style --metadata-sync-mode partial --file-prefix-archive archive-$(hostname -f)- --file-prefix-manifest manifest-$(hostname -f)- --file-prefix-signature signature-$(hostname -f)-',
      JOB_200_WHAT: 'dup $SRC $DST',
      JOB_200_WHEN: 'daily',
      JOB_300_WHAT: 'dup remove-all-but-n-full 7 $DST --force',
      JOB_300_WHEN: 'daily',
      PERMAFROST_STATE_DIR: join(work, 'state'),
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(smtp.port),
      SMTP_USER: SMTP.user,
      SMTP_PASS: SMTP.pass,
      EMAIL_FROM: 'user@nobody.com',
      EMAIL_TO: 'user@nobody.com',
      NODE_EXTRA_CA_CERTS: smtp.caFile,
    },
    work,
  );
  const r = await runDaemon(['--once', 'daily'], env);
  assert.equal(r.code, 0, r.stderr);

  const objects = await headAll(moto.endpoint, 'bucket', 'backup-path/');
  const archived = objects.filter((o) => o.storageClass === 'DEEP_ARCHIVE');
  assert.ok(archived.length >= 2, 'the volumes went to DEEP_ARCHIVE');
  const status = JSON.parse(readFileSync(join(work, 'state', 'status.json'), 'utf8'));
  const uploaded = status.jobs['200'].summary.requests.uploaded;
  assert.equal(uploaded.byClass.DEEP_ARCHIVE.objects, archived.length);
  assert.equal(
    uploaded.byClass.DEEP_ARCHIVE.bytes,
    archived.reduce((n, o) => n + o.size, 0),
  );
  assert.equal(uploaded.objects, objects.length);
  assert.equal(status.jobs['300'].status, 'ok');

  assert.equal(smtp.mails.length, 1);
  const body = smtp.mails[0]!.body;
  assert.match(body, /^Backup: full, \d+ volumes; files \d+ new, 0 changed, 0 deleted/m);
  assert.match(
    body,
    new RegExp(`^S3 requests: \\d+ PUT, .*Uploaded ${objects.length} objects: ${archived.length} in DEEP_ARCHIVE \\(`, 'm'),
  );
  assert.match(body, /^Cost estimate \(us-east-1 list prices\): requests \$[0-9.e-]+; storage of this run's uploads \$[0-9.e-]+ a month$/m);
  for (const secret of [envCredentials()['AWS_SECRET_ACCESS_KEY']!, SMTP.pass]) {
    assert.ok(!body.includes(secret));
    assert.ok(!r.stderr.includes(secret));
  }
});
