import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseS3Url, S3UrlError } from '../../src/backend/s3-url.ts';
import { runPython } from '../codec/python-oracle.ts';

/**
 * duplicity 0.8.22 as the oracle: its ParsedUrl, and its boto3 backend's bucket/prefix split
 * (S3Boto3Backend.__init__ does not need boto3). For s3:// it reports the host and the path that
 * its boto backend splits into bucket and prefix.
 */
function duplicityParse(urls: readonly string[]): { host: string | null; port: number | null; bucket: string; prefix: string }[] {
  return runPython(
    `
import duplicity.backend as b
import duplicity.backends.s3_boto3_backend as m
import duplicity.backends.s3_boto_backend
result = []
for u in data:
    pu = b.ParsedUrl(u)
    if pu.scheme == 'boto3+s3':
        be = m.S3Boto3Backend(pu)
        bucket, prefix = be.bucket_name, be.key_prefix
    else:
        # _boto_single.BotoBackend.__init__, which needs boto to be constructed
        parts = [x for x in pu.path.split('/') if x != '']
        bucket = parts.pop(0)
        prefix = '/'.join(parts) + '/' if parts else ''
    result.append(dict(host=pu.hostname, port=pu.port, bucket=bucket, prefix=prefix))
`,
    urls,
  );
}

test('boto3+s3:// and s3+http:// split into bucket and prefix exactly as duplicity 0.8.22 does', () => {
  const urls = [
    'boto3+s3://bucket',
    'boto3+s3://bucket/',
    'boto3+s3://bucket/backup-folder',
    'boto3+s3://bucket/a//b///c/',
    'boto3+s3:///bucket/x',
    'boto3+s3://bucket/with%20space/%41',
    'boto3+s3://my.dotted.bucket/p',
    's3+http://bucket/prefix/deeper',
    's3+http://bucket',
  ];
  const expected = duplicityParse(urls);
  urls.forEach((u, i) => {
    const got = parseS3Url(u);
    assert.deepEqual(
      { bucket: got.bucket, prefix: got.prefix, host: got.host },
      { bucket: expected[i]!.bucket, prefix: expected[i]!.prefix, host: undefined },
      u,
    );
  });
});

test('s3://host[:port]/bucket/prefix (duplicity 0.8.22 boto form) names the server first', () => {
  const urls = [
    's3://minio.example.com:9000/bucket/pre/fix',
    's3://127.0.0.1:5000/b1/x',
    's3://s3.eu-west-1.amazonaws.com/bucket/p',
    's3://localhost/bkt',
  ];
  const expected = duplicityParse(urls);
  urls.forEach((u, i) => {
    const got = parseS3Url(u);
    assert.equal(got.host?.hostname, expected[i]!.host, u);
    assert.equal(got.host?.port, expected[i]!.port ?? undefined, u);
    assert.equal(got.bucket, expected[i]!.bucket, u);
    assert.equal(got.prefix, expected[i]!.prefix, u);
  });
});

test('AWS hosts in the URL are recognised, with the region they name', () => {
  assert.deepEqual(parseS3Url('s3://s3.eu-west-1.amazonaws.com/b/p').host, {
    hostname: 's3.eu-west-1.amazonaws.com',
    aws: true,
    awsRegion: 'eu-west-1',
  });
  assert.deepEqual(parseS3Url('s3://s3-us-west-2.amazonaws.com/b').host, {
    hostname: 's3-us-west-2.amazonaws.com',
    aws: true,
    awsRegion: 'us-west-2',
  });
  assert.deepEqual(parseS3Url('s3://s3.amazonaws.com/b').host, { hostname: 's3.amazonaws.com', aws: true });
  assert.equal(parseS3Url('s3://minio.example.com/b').host?.aws, false);
});

test('s3://bucket/prefix without a dot or port is a bucket (duplicity 2.x and later read s3:// so)', () => {
  const got = parseS3Url('s3://bucket-name/backup/folder');
  assert.deepEqual(got, { bucket: 'bucket-name', prefix: 'backup/folder/' });
});

test('bad S3 URLs are refused with a one-line reason', () => {
  for (const [url, pattern] of [
    ['boto3+s3://', /no bucket/],
    ['boto3+s3:///', /no bucket/],
    ['s3://minio.example.com:9000/', /no bucket/],
    ['s3://key:secret@bucket/x', /credentials in S3 URLs/],
    ['boto3+s3://bucket/x?versionId=1', /no query/],
    ['boto3+s3://bucket/%zz', /percent-escape/],
    ['s3://host.example:99999/b', /bad port/],
    ['file:///x', /not an S3 URL/],
  ] as const) {
    assert.throws(
      () => parseS3Url(url),
      (err: Error) => err instanceof S3UrlError && pattern.test(err.message) && !err.message.includes('\n'),
      url,
    );
  }
});
