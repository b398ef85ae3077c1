/**
 * The S3 backend against moto's S3 server, through a fault-injecting proxy: storage classes read
 * back with HeadObject, checksums on every PUT and part (checked by the proxy with an independent
 * CRC-32C, and by moto, which computes the multipart FULL_OBJECT value itself), retries under
 * injected faults, abort clean-up, archived objects, pagination, server-side encryption.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Crc32c } from '@aws-sdk/checksums/crc';
import { BackendError } from '../../src/backend/backend.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { CORRUPT, FaultProxy, INTERNAL_ERROR, RESET, SLOW_DOWN, TRUNCATE } from './fault-proxy.ts';
import { backendFor, createBucket, envCredentials, getObject, headAll, inspector, openUploads, thawAll } from './helpers.ts';

// the backend takes its credentials from the SDK's default chain: here, the environment
Object.assign(process.env, envCredentials(), {
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
  AWS_CONFIG_FILE: '/nonexistent',
});

let moto: MotoServer;
let proxy: FaultProxy;
let dir: string;
let bucketNo = 0;

// resources for the whole file, released in reverse order when it ends
const hooks = fileCleanup();

before(async () => {
  moto = await startMoto(hooks);
  proxy = await FaultProxy.start(hooks, moto.endpoint);
  dir = tmpDir(hooks, 's3-backend');
});

async function freshBucket(): Promise<string> {
  const bucket = `backend-test-${++bucketNo}`;
  await createBucket(moto.endpoint, bucket);
  proxy.clearFaults();
  proxy.validateChecksums = false;
  proxy.requests.length = 0;
  return bucket;
}

function file(name: string, bytes: Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

async function crc32cOf(data: Uint8Array): Promise<string> {
  const h = new Crc32c();
  h.update(data);
  return Buffer.from(await h.digest()).toString('base64');
}

const VOL = 'duplicity-full.20260101T000000Z.vol1.difftar.gz';
const MAN = 'duplicity-full.20260101T000000Z.manifest';
const SIG = 'duplicity-full-signatures.20260101T000000Z.sigtar.gz';

test('volumes go to the data class, manifests and signatures to STANDARD (read back with HeadObject)', async () => {
  for (const cls of ['DEEP_ARCHIVE', 'GLACIER', 'GLACIER_IR', 'STANDARD_IA', 'ONEZONE_IA', 'REDUCED_REDUNDANCY', 'STANDARD']) {
    const bucket = await freshBucket();
    const { backend } = backendFor(`boto3+s3://${bucket}/pre/fix`, proxy.endpoint, { dataStorageClass: cls });
    await backend.putFile(file('v', randomBytes(1000)), VOL, { role: 'volume' });
    await backend.putFile(file('m', Buffer.from('manifest')), MAN, { role: 'manifest' });
    await backend.putFile(file('s', randomBytes(300)), SIG, { role: 'signature' });
    const stored = Object.fromEntries((await headAll(moto.endpoint, bucket)).map((o) => [o.key, o.storageClass]));
    assert.deepEqual(stored, { [`pre/fix/${VOL}`]: cls, [`pre/fix/${MAN}`]: 'STANDARD', [`pre/fix/${SIG}`]: 'STANDARD' }, cls);
    // STANDARD is sent explicitly, so that an IAM condition on s3:x-amz-storage-class can require it
    for (const r of proxy.seen('PutObject')) assert.ok(r.headers['x-amz-storage-class'], `${r.path} carries its class`);
    const listed = await backend.list();
    assert.deepEqual(Object.fromEntries(listed.map((o) => [o.name, o.storageClass])), { [VOL]: cls, [MAN]: 'STANDARD', [SIG]: 'STANDARD' });
    assert.deepEqual(backend.requestSummary().uploaded.byClass[cls]?.objects, cls === 'STANDARD' ? 3 : 1);
    await backend.close();
  }
});

test('every PUT carries a CRC-32C of its bytes in a header (no aws-chunked body), and the upload log records it', async () => {
  const bucket = await freshBucket();
  const log = join(dir, 'uploads.jsonl');
  const { backend } = backendFor(`boto3+s3://${bucket}/p`, proxy.endpoint, { uploadLog: log });
  const data = [randomBytes(0), randomBytes(1), randomBytes(70_000)];
  for (const [i, d] of data.entries()) await backend.putFile(file(`c${i}`, d), `obj${i}`, { role: 'volume' });
  const puts = proxy.seen('PutObject');
  assert.equal(puts.length, 3);
  for (const r of puts) {
    assert.equal(r.headers['x-amz-checksum-crc32c'], r.bodyCrc32c, r.path);
    assert.equal(r.headers['content-encoding'], undefined);
  }
  const records = readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { name: string; checksum: string; size: number; storageClass: string });
  for (const [i, d] of data.entries()) {
    const rec = records.find((r) => r.name === `obj${i}`)!;
    assert.equal(rec.checksum, await crc32cOf(d));
    assert.equal(rec.size, d.length);
    assert.deepEqual(await getObject(moto.endpoint, bucket, `p/obj${i}`), d);
  }
  await backend.close();
});

test("multipart: parts with their CRC-32C, a FULL_OBJECT checksum that moto computes equal to the file's", async () => {
  const bucket = await freshBucket();
  const data = randomBytes(12 * 1024 * 1024 + 12345);
  const { backend } = backendFor(`boto3+s3://${bucket}/mp`, proxy.endpoint, { dataStorageClass: 'DEEP_ARCHIVE' });
  await backend.putFile(file('big', data), VOL, { role: 'volume' });
  const create = proxy.seen('CreateMultipartUpload');
  assert.equal(create.length, 1);
  assert.equal(create[0]!.headers['x-amz-storage-class'], 'DEEP_ARCHIVE');
  assert.equal(create[0]!.headers['x-amz-checksum-algorithm'], 'CRC32C');
  assert.equal(create[0]!.headers['x-amz-checksum-type'], 'FULL_OBJECT');
  const parts = proxy.seen('UploadPart');
  assert.deepEqual(parts.map((p) => Number(p.query.get('partNumber'))).sort(), [1, 2, 3]);
  assert.deepEqual(
    parts.map((p) => p.bodyLength).sort((a, b) => a - b),
    [2 * 1024 * 1024 + 12345, 5 * 1024 * 1024, 5 * 1024 * 1024],
  );
  for (const p of parts) assert.equal(p.headers['x-amz-checksum-crc32c'], p.bodyCrc32c);
  const complete = proxy.seen('CompleteMultipartUpload');
  assert.equal(complete.length, 1);
  assert.equal(complete[0]!.headers['x-amz-checksum-crc32c'], await crc32cOf(data));
  const [stored] = await headAll(moto.endpoint, bucket);
  assert.equal(stored!.storageClass, 'DEEP_ARCHIVE');
  assert.equal(stored!.crc32c, await crc32cOf(data));
  assert.equal(stored!.checksumType, 'FULL_OBJECT');
  assert.equal(stored!.size, data.length);
  const s = backend.requestSummary();
  assert.equal(s.requests.multipartCreate, 1);
  assert.equal(s.requests.multipartPart, 3);
  assert.equal(s.requests.multipartComplete, 1);
  assert.deepEqual(await openUploads(moto.endpoint, bucket), []);
  await thawAll(moto.endpoint, bucket);
  assert.deepEqual(await getObject(moto.endpoint, bucket, `mp/${VOL}`), data);
  await backend.close();
});

test('retries: 500s, SlowDown and connection resets for the first tries are absorbed, with backoff', async () => {
  const bucket = await freshBucket();
  const { backend } = backendFor(`boto3+s3://${bucket}/r`, proxy.endpoint, { maxAttempts: 4 });
  const small = randomBytes(5000);
  const big = randomBytes(11 * 1024 * 1024);
  proxy.inject('PutObject', INTERNAL_ERROR, 2);
  proxy.inject((r) => r.operation === 'UploadPart' && r.query.get('partNumber') === '2', SLOW_DOWN, 2);
  proxy.inject((r) => r.operation === 'UploadPart' && r.query.get('partNumber') === '3', RESET, 1);
  proxy.inject('CreateMultipartUpload', RESET, 1);
  proxy.inject('ListObjectsV2', RESET, 2);
  proxy.inject('GetObject', SLOW_DOWN, 1);
  proxy.inject('GetObject', RESET, 1);
  await backend.putFile(file('small', small), 'small', { role: 'manifest' });
  await backend.putFile(file('big2', big), 'big', { role: 'volume' });
  const names = (await backend.list()).map((o) => o.name).sort();
  assert.deepEqual(names, ['big', 'small']);
  const out = join(dir, 'big.out');
  await backend.getToFile('big', out);
  assert.deepEqual(readFileSync(out), big);
  assert.deepEqual(await getObject(moto.endpoint, bucket, 'r/small'), small);
  const s = backend.requestSummary();
  assert.equal(s.retries, 2 + 2 + 1 + 1 + 2 + 2);
  assert.equal(proxy.seen('PutObject').length, 3);
  assert.equal(proxy.seen('ListObjectsV2').length, 3);
  assert.equal(s.requests.list, 3);
  assert.equal(s.requests.put, 3);
  await backend.close();
});

test('downloads broken mid-way: get() resumes with a ranged GET, getToFile starts again', async () => {
  const bucket = await freshBucket();
  const { backend } = backendFor(`boto3+s3://${bucket}/t`, proxy.endpoint, { maxAttempts: 4 });
  const data = randomBytes(3 * 1024 * 1024 + 7);
  await backend.putFile(file('trunc', data), 'obj', { role: 'signature' });
  proxy.requests.length = 0;
  proxy.inject('GetObject', TRUNCATE, 2);
  const chunks: Buffer[] = [];
  for await (const c of await backend.get('obj')) chunks.push(c);
  assert.deepEqual(Buffer.concat(chunks), data);
  const gets = proxy.seen('GetObject');
  assert.equal(gets.length, 3);
  assert.equal(gets[0]!.headers['range'], undefined);
  assert.match(String(gets[1]!.headers['range']), /^bytes=\d+-$/);
  assert.ok(gets[1]!.headers['if-match'], 'a resumed read asks for the same object version');
  proxy.inject('GetObject', TRUNCATE, 1);
  const out = join(dir, 'trunc.out');
  await backend.getToFile('obj', out);
  assert.deepEqual(readFileSync(out), data);
  assert.equal(backend.requestSummary().retries, 3);
  // a download that keeps breaking gives up with one line
  proxy.inject('GetObject', TRUNCATE, 100);
  await assert.rejects(
    async () => {
      for await (const _ of await backend.get('obj')) {
        /* drain */
      }
    },
    (err: Error) => err instanceof BackendError && err.message.startsWith(`cannot read s3://${bucket}/t/obj: `),
  );
  await backend.close();
});

test('a body corrupted on the way is refused (BadDigest, as S3 does) and sent again', async () => {
  const bucket = await freshBucket();
  const { backend } = backendFor(`boto3+s3://${bucket}/c`, proxy.endpoint);
  proxy.validateChecksums = true;
  proxy.inject('PutObject', CORRUPT, 1);
  proxy.inject('UploadPart', CORRUPT, 1);
  const small = randomBytes(4000);
  const big = randomBytes(6 * 1024 * 1024);
  await backend.putFile(file('cs', small), 'small', { role: 'volume' });
  await backend.putFile(file('cb', big), 'big', { role: 'volume' });
  assert.deepEqual(await getObject(moto.endpoint, bucket, 'c/small'), small);
  assert.deepEqual(await getObject(moto.endpoint, bucket, 'c/big'), big);
  assert.equal(backend.requestSummary().retries, 2);
  await backend.close();
});

test('a multipart upload that fails is aborted: no upload is left open', async () => {
  const bucket = await freshBucket();
  const { backend } = backendFor(`boto3+s3://${bucket}/a`, proxy.endpoint, { maxAttempts: 3 });
  proxy.inject((r) => r.operation === 'UploadPart' && r.query.get('partNumber') === '2', INTERNAL_ERROR, 1000);
  await assert.rejects(backend.putFile(file('ab', randomBytes(16 * 1024 * 1024)), VOL, { role: 'volume' }), (err: Error) => {
    assert.ok(err instanceof BackendError);
    assert.match(
      err.message,
      /^cannot upload s3:\/\/backend-test-\d+\/a\/duplicity-full\.20260101T000000Z\.vol1\.difftar\.gz: InternalError \(HTTP 500\)/,
    );
    return true;
  });
  assert.equal(proxy.seen('UploadPart').filter((r) => r.query.get('partNumber') === '2').length, 3);
  assert.equal(proxy.seen('AbortMultipartUpload').length, 1);
  assert.deepEqual(await openUploads(moto.endpoint, bucket), []);
  assert.equal(backend.requestSummary().requests.multipartAbort, 1);
  await backend.close();
});

test('persistent failures give up after --num-retries tries with a clear error', async () => {
  const bucket = await freshBucket();
  const { backend } = backendFor(`boto3+s3://${bucket}/g`, proxy.endpoint, { maxAttempts: 3 });
  proxy.inject('ListObjectsV2', SLOW_DOWN, 1000);
  await assert.rejects(backend.list(), /cannot list s3:\/\/backend-test-\d+\/g\/: SlowDown \(HTTP 503\).*after 3 tries/);
  assert.equal(proxy.seen('ListObjectsV2').length, 3);
  proxy.clearFaults();
  proxy.inject('PutObject', RESET, 1000);
  await assert.rejects(
    backend.putFile(file('gp', randomBytes(10)), 'x', { role: 'manifest' }),
    /cannot upload .*x: .*(unreachable|dropped)/,
  );
  assert.equal(proxy.seen('PutObject').length, 3);
  await backend.close();
});

test('an archived object cannot be read before it is restored: the error names it; HEAD and LIST still work', async () => {
  const bucket = await freshBucket();
  const { backend } = backendFor(`boto3+s3://${bucket}/arch`, proxy.endpoint, { dataStorageClass: 'DEEP_ARCHIVE' });
  const data = randomBytes(2000);
  await backend.putFile(file('arch', data), VOL, { role: 'volume' });
  for (const read of [() => backend.getToFile(VOL, join(dir, 'arch.out')), () => backend.get(VOL)]) {
    await assert.rejects(read(), (err: Error) => {
      assert.ok(err instanceof BackendError);
      assert.equal(err.code, 'archived');
      assert.equal(
        err.message,
        `cannot read s3://${bucket}/arch/${VOL}: it is in DEEP_ARCHIVE and not restored: thaw it first (the thaw command, or restore --thaw), then run again`,
      );
      return true;
    });
  }
  // one GET each: an archived object is not retried
  assert.equal(proxy.seen('GetObject').length, 2);
  assert.deepEqual(await backend.head(VOL), { name: VOL, size: data.length, storageClass: 'DEEP_ARCHIVE' });
  assert.equal(await backend.head('missing'), null);
  assert.deepEqual(await thawAll(moto.endpoint, bucket), [`arch/${VOL}`]);
  const chunks: Buffer[] = [];
  for await (const c of await backend.get(VOL)) chunks.push(c);
  assert.deepEqual(Buffer.concat(chunks), data);
  await backend.close();
});

test('listing paginates past 1,000 keys and ignores keys outside the prefix; delete removes in batches', async () => {
  const bucket = await freshBucket();
  const c = inspector(moto.endpoint);
  const keys = Array.from({ length: 1005 }, (_, i) => `lp/k${String(i).padStart(4, '0')}`);
  for (let i = 0; i < keys.length; i += 50) {
    await Promise.all(keys.slice(i, i + 50).map((k) => c.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: 'x' }))));
  }
  await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'lp-other/k', Body: 'x' }));
  await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'lp/', Body: Buffer.alloc(0), ContentLength: 0 }));
  c.destroy();
  const { backend } = backendFor(`boto3+s3://${bucket}/lp`, proxy.endpoint);
  const listed = await backend.list();
  assert.equal(listed.length, 1005);
  assert.deepEqual(
    listed.map((o) => o.name).sort(),
    keys.map((k) => k.slice(3)),
  );
  assert.equal(backend.requestSummary().requests.list, 2);
  await backend.delete(listed.map((o) => o.name));
  assert.equal(backend.requestSummary().requests.delete, 2);
  assert.deepEqual(await backend.list(), []);
  await backend.close();
});

test('server-side encryption: AES256 and aws:kms with a key id are requested on every object', async () => {
  const bucket = await freshBucket();
  const a = backendFor(`boto3+s3://${bucket}/sse`, proxy.endpoint, { serverSideEncryption: { kind: 'AES256' } });
  await a.backend.putFile(file('e1', randomBytes(100)), 'aes', { role: 'volume' });
  await a.backend.putFile(file('e2', randomBytes(6 * 1024 * 1024)), 'aes-mp', { role: 'volume' });
  const k = backendFor(`boto3+s3://${bucket}/sse`, proxy.endpoint, {
    serverSideEncryption: { kind: 'aws:kms', keyId: 'alias/permafrost-test' },
  });
  await k.backend.putFile(file('e3', randomBytes(100)), 'kms', { role: 'manifest' });
  const put = proxy.seen('PutObject');
  assert.deepEqual(
    put.map((r) => r.headers['x-amz-server-side-encryption']),
    ['AES256', 'aws:kms'],
  );
  assert.equal(put[1]!.headers['x-amz-server-side-encryption-aws-kms-key-id'], 'alias/permafrost-test');
  assert.equal(proxy.seen('CreateMultipartUpload')[0]!.headers['x-amz-server-side-encryption'], 'AES256');
  const stored = Object.fromEntries((await headAll(moto.endpoint, bucket)).map((o) => [o.key, o.sse]));
  assert.deepEqual(stored, { 'sse/aes': 'AES256', 'sse/aes-mp': 'AES256', 'sse/kms': 'aws:kms' });
  await a.backend.close();
  await k.backend.close();
});
