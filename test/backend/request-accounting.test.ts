import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatRequestSummary, RequestAccounting, requestTypeOf } from '../../src/backend/request-accounting.ts';

test('SDK commands map to request types; unknown ones are "other"', () => {
  assert.equal(requestTypeOf('PutObjectCommand'), 'put');
  assert.equal(requestTypeOf('UploadPartCommand'), 'multipartPart');
  assert.equal(requestTypeOf('ListObjectsV2Command'), 'list');
  assert.equal(requestTypeOf('RestoreObjectCommand'), 'restore');
  assert.equal(requestTypeOf('DeleteObjectsCommand'), 'delete');
  assert.equal(requestTypeOf('SelectObjectContentCommand'), 'other');
  assert.equal(requestTypeOf(undefined), 'other');
});

test('the summary adds up requests, PUT-class requests, retries and bytes per class', () => {
  const a = new RequestAccounting();
  a.request('list', false);
  a.request('put', false);
  a.request('put', true);
  a.request('multipartCreate', false);
  for (let i = 0; i < 3; i++) a.request('multipartPart', false);
  a.request('multipartComplete', false);
  a.request('multipartAbort', false);
  a.request('head', false);
  a.retried();
  a.failure();
  a.uploaded('DEEP_ARCHIVE', 1000);
  a.uploaded('DEEP_ARCHIVE', 500);
  a.uploaded('STANDARD', 20);
  a.downloaded(7);
  a.listedObjects([{ size: 5, storageClass: 'GLACIER' }, { size: 6 }]);
  const s = a.summary();
  assert.equal(s.requests.total, 10);
  assert.equal(s.putClassRequests, 1 + 2 + 1 + 3 + 1);
  assert.equal(s.retries, 2);
  assert.equal(s.failed, 1);
  assert.deepEqual(s.uploaded, {
    objects: 3,
    bytes: 1520,
    byClass: { DEEP_ARCHIVE: { objects: 2, bytes: 1500 }, STANDARD: { objects: 1, bytes: 20 } },
  });
  assert.deepEqual(s.downloaded, { objects: 1, bytes: 7 });
  assert.deepEqual(s.listed, { objects: 2, bytes: 11, byClass: { GLACIER: { objects: 1, bytes: 5 }, STANDARD: { objects: 1, bytes: 6 } } });
  const line = formatRequestSummary(s, (n) => `${n} B`);
  assert.ok(!line.includes('\n'));
  assert.match(
    line,
    /^S3 requests: 2 PUT, 1 multipart \(3 parts, 1 aborted\), 0 GET, 1 LIST, 1 HEAD, 0 DELETE, 0 restore; 8 PUT-class; 2 retried, 1 failed\. Uploaded 3 objects: 2 in DEEP_ARCHIVE \(1500 B\), 1 in STANDARD \(20 B\)\. Downloaded 1 \(7 B\)\.$/,
  );
});
