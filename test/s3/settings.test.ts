/**
 * How the command line and the environment become the S3 backend's settings
 * (src/cli/target-context.ts): endpoint and region precedence, classes, encryption, part sizes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { s3Settings } from '../../src/cli/target-context.ts';
import { defaultCliOptions, type CliOptions } from '../../src/cli/command-line.ts';
import { parseS3Url } from '../../src/backend/s3-url.ts';
import { UsageError } from '../../src/command-line/usage-error.ts';

const MiB = 1024 * 1024;

function settings(url: string, o: Partial<CliOptions> = {}, env: Record<string, string> = {}) {
  const warnings: string[] = [];
  const s = s3Settings(parseS3Url(url), { ...defaultCliOptions(), ...o }, env, undefined, (w) => warnings.push(w));
  return { s, warnings };
}

test("endpoint: --s3-endpoint-url, else the URL's host, else AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL", () => {
  const env = { AWS_ENDPOINT_URL_S3: 'http://s3-env:1', AWS_ENDPOINT_URL: 'http://any-env:2' };
  assert.equal(settings('s3://minio.lan:9000/b/p', { s3EndpointUrl: 'http://flag:3/' }, env).s.endpoint, 'http://flag:3');
  assert.equal(settings('s3://minio.lan:9000/b/p', {}, env).s.endpoint, 'https://minio.lan:9000');
  assert.equal(settings('s3://minio.lan:9000/b/p', { s3UnencryptedConnection: true }).s.endpoint, 'http://minio.lan:9000');
  assert.equal(settings('boto3+s3://b/p', {}, env).s.endpoint, 'http://s3-env:1');
  assert.equal(settings('boto3+s3://b/p', {}, { AWS_ENDPOINT_URL: 'http://any-env:2' }).s.endpoint, 'http://any-env:2');
  assert.equal(settings('boto3+s3://b/p', {}, { ...env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' }).s.endpoint, undefined);
  assert.equal(settings('boto3+s3://b/p').s.endpoint, undefined);
  assert.throws(
    () => settings('boto3+s3://b/p', { s3EndpointUrl: 'ftp://x' }),
    (e: Error) => e instanceof UsageError && /--s3-endpoint-url: expected an http/.test(e.message),
  );
  assert.throws(() => settings('boto3+s3://b/p', {}, { AWS_ENDPOINT_URL: 'not a url' }), /AWS_ENDPOINT_URL: not a URL/);
});

test("region: --s3-region-name, else an AWS host's region, else left to the SDK; AWS hosts are not endpoints", () => {
  assert.deepEqual(
    [settings('s3://s3.eu-west-1.amazonaws.com/b/p').s.region, settings('s3://s3.eu-west-1.amazonaws.com/b/p').s.endpoint],
    ['eu-west-1', undefined],
  );
  assert.equal(settings('s3://s3.eu-west-1.amazonaws.com/b/p', { s3RegionName: 'us-west-2' }).s.region, 'us-west-2');
  assert.equal(settings('boto3+s3://b/p').s.region, undefined);
});

test('classes, encryption, parts, retries and timeouts from the options', () => {
  const { s, warnings } = settings('boto3+s3://b/p', {
    s3UseDeepArchive: true,
    s3UseGlacier: true,
    s3MultipartChunkSize: 10,
    s3MultipartMaxProcs: 8,
    numRetries: 7,
    timeout: 12,
  });
  assert.equal(s.dataStorageClass, 'GLACIER');
  assert.match(warnings[0]!, /--s3-use-glacier takes precedence over --s3-use-deep-archive/);
  assert.equal(s.multipartThreshold, 10 * MiB);
  assert.equal(s.partSize, 10 * MiB);
  assert.equal(s.partConcurrency, 8);
  assert.equal(s.maxAttempts, 7);
  assert.equal(s.timeoutMs, 12_000);
  assert.equal(settings('boto3+s3://b/p', { s3MultipartChunkSize: 1 }).s.multipartThreshold, 5 * MiB);
  assert.deepEqual(settings('boto3+s3://b/p', { s3UseServerSideEncryption: true }).s.serverSideEncryption, { kind: 'AES256' });
  assert.deepEqual(
    settings('boto3+s3://b/p', { s3UseServerSideKmsEncryption: true, s3KmsKeyId: 'k', s3KmsGrant: 'id=x' }).s.serverSideEncryption,
    { kind: 'aws:kms', keyId: 'k', grantFullControl: 'id=x' },
  );
  assert.throws(
    () => settings('boto3+s3://b/p', { s3UseServerSideKmsEncryption: true }),
    (e: Error) => e instanceof UsageError && /needs --s3-kms-key-id/.test(e.message),
  );
  assert.throws(
    () => settings('boto3+s3://b/p', { s3StorageClass: 'FROZEN' }),
    (e: Error) => e instanceof UsageError && /unknown storage class "FROZEN"/.test(e.message),
  );
});
