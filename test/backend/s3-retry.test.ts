import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, isRetryable, isThrottling, withRetries } from '../../src/backend/s3-retry.ts';
import { BackendError } from '../../src/backend/backend.ts';

const sdkError = (name: string, status: number, extra: object = {}) =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status }, ...extra });

test('throttling, 5xx, timeouts, resets and checksum mismatches are retried; client errors are not', () => {
  for (const e of [
    sdkError('SlowDown', 503),
    sdkError('InternalError', 500),
    sdkError('ServiceUnavailable', 503),
    sdkError('Whatever', 502),
    sdkError('TooManyRequestsException', 429),
    sdkError('RequestTimeout', 400),
    sdkError('BadDigest', 400),
    Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
    new Error('socket hang up'),
    Object.assign(new Error('x'), { name: 'TimeoutError' }),
    Object.assign(new Error('wrapped'), { cause: Object.assign(new Error('y'), { code: 'EPIPE' }) }),
  ]) {
    assert.equal(isRetryable(e), true, `${e.name} ${e.message}`);
  }
  for (const e of [
    sdkError('AccessDenied', 403),
    sdkError('NoSuchBucket', 404),
    sdkError('InvalidObjectState', 403),
    sdkError('InvalidArgument', 400),
    new BackendError('io', 'final: ECONNRESET'),
    Object.assign(new Error('stop'), { name: 'AbortError' }),
    null,
    'text',
  ]) {
    assert.equal(isRetryable(e), false, String((e as Error | null)?.name ?? e));
  }
  assert.equal(isThrottling(sdkError('SlowDown', 503)), true);
  assert.equal(isThrottling(sdkError('InternalError', 500)), false);
});

test('backoff: full jitter below an exponential ceiling, larger base for throttling, capped', () => {
  const top = () => 0.999999;
  assert.equal(backoffDelay(1, sdkError('InternalError', 500), 20_000, top), 99);
  assert.equal(backoffDelay(3, sdkError('InternalError', 500), 20_000, top), 399);
  assert.equal(backoffDelay(1, sdkError('SlowDown', 503), 20_000, top), 499);
  assert.equal(backoffDelay(40, sdkError('SlowDown', 503), 20_000, top), 19_999);
  assert.equal(
    backoffDelay(5, sdkError('InternalError', 500), 20_000, () => 0),
    0,
  );
});

test('withRetries: retries up to the limit, reports each retry, stops on a final error', async () => {
  let calls = 0;
  const retries: number[] = [];
  const ok = await withRetries({ maxAttempts: 4, maxBackoffMs: 5, onRetry: (_e, n) => retries.push(n) }, async () => {
    calls++;
    if (calls < 3) throw sdkError('InternalError', 500);
    return 'done';
  });
  assert.equal(ok, 'done');
  assert.equal(calls, 3);
  assert.deepEqual(retries, [1, 2]);

  calls = 0;
  await assert.rejects(
    withRetries({ maxAttempts: 3, maxBackoffMs: 5 }, async () => {
      calls++;
      throw sdkError('SlowDown', 503);
    }),
    /SlowDown/,
  );
  assert.equal(calls, 3);

  calls = 0;
  await assert.rejects(
    withRetries({ maxAttempts: 5, maxBackoffMs: 5 }, async () => {
      calls++;
      throw sdkError('AccessDenied', 403);
    }),
    /AccessDenied/,
  );
  assert.equal(calls, 1);
});
