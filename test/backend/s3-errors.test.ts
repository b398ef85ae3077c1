import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BackendError } from '../../src/backend/backend.ts';
import { s3Error } from '../../src/backend/s3-errors.ts';

const ctx = { action: 'read', what: 's3://bkt/pre/vol1.difftar.gz', bucket: 'bkt', region: 'us-east-1', server: 'http://127.0.0.1:9' };
const sdk = (name: string, status: number, extra: object = {}) =>
  Object.assign(new Error(`${name} message`), { name, $metadata: { httpStatusCode: status, attempts: 1 }, ...extra });

test('each S3 failure becomes a one-line BackendError with a code and what to do', () => {
  const cases: [unknown, BackendError['code'], RegExp][] = [
    [
      sdk('InvalidObjectState', 403, { StorageClass: 'DEEP_ARCHIVE' }),
      'archived',
      /^cannot read s3:\/\/bkt\/pre\/vol1\.difftar\.gz: it is in DEEP_ARCHIVE and not restored: thaw it first/,
    ],
    [sdk('NoSuchBucket', 404), 'not-found', /S3 bucket "bkt" does not exist/],
    [sdk('NoSuchKey', 404), 'not-found', /no such object/],
    [sdk('InvalidAccessKeyId', 403), 'access', /does not know the AWS access key ID/],
    [sdk('SignatureDoesNotMatch', 403), 'access', /secret access key does not belong/],
    [sdk('AccessDenied', 403), 'access', /access denied to read s3:\/\/bkt\/pre\/vol1\.difftar\.gz.*IAM/],
    [
      Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }),
      'config',
      /no AWS credentials found/,
    ],
    [
      sdk('AuthorizationHeaderMalformed', 400, { Region: 'eu-west-1' }),
      'config',
      /bucket "bkt" is in region eu-west-1, not us-east-1: pass --s3-region-name eu-west-1/,
    ],
    [sdk('PermanentRedirect', 301, { $response: { headers: { 'x-amz-bucket-region': 'ap-south-1' } } }), 'config', /in region ap-south-1/],
    [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED', $metadata: { attempts: 5 } }),
      'io',
      /unreachable.*ECONNREFUSED.*after 5 tries/,
    ],
    [sdk('InternalError', 500, { $metadata: { httpStatusCode: 500, attempts: 5 } }), 'io', /InternalError \(HTTP 500\).*after 5 tries/],
  ];
  for (const [err, code, pattern] of cases) {
    const e = s3Error(err, ctx);
    assert.ok(e instanceof BackendError);
    assert.equal(e.code, code, (err as Error).name);
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes('\n'));
    assert.equal(e.cause, err);
  }
  const already = new BackendError('io', 'x');
  assert.equal(s3Error(already, ctx), already);
});
