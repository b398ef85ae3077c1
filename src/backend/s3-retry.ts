/**
 * Retries for the requests the SDK does not retry itself: uploads and downloads whose body is a
 * stream (the SDK cannot rewind a stream, so it gives up on the first error; we reopen the file
 * range and send again). The policy is the SDK's "standard" one, so both layers behave alike:
 * exponential backoff with full jitter (base 100 ms, 500 ms for throttling), capped.
 */

export interface RetryOptions {
  /** Tries, the first included. */
  readonly maxAttempts: number;
  /** Upper bound of one delay, ms. */
  readonly maxBackoffMs: number;
  /** Called before each retry, e.g. for accounting and a debug line. */
  readonly onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** For tests: the random source in [0, 1). */
  readonly random?: () => number;
}

const THROTTLING = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'ProvisionedThroughputExceededException',
  'EC2ThrottledException',
  'TransactionInProgressException',
]);

const TRANSIENT = new Set([
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
  'BadDigest',
  'IncompleteBody',
]);

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);

interface ErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
}

export function isThrottling(err: unknown): boolean {
  const e = err as ErrorShape | null;
  if (!e || typeof e !== 'object') return false;
  return (
    THROTTLING.has(e.name ?? '') ||
    e.$metadata?.httpStatusCode === 429 ||
    (e.$retryable as { throttling?: boolean } | undefined)?.throttling === true
  );
}

/** Throttling, 5xx, timeouts, connection resets and checksum mismatches in transit. */
export function isRetryable(err: unknown): boolean {
  const e = err as ErrorShape | null;
  if (!e || typeof e !== 'object') return false;
  // already final: mapped after the SDK's own retries, or a decision of ours
  if (e.name === 'AbortError' || e.name === 'BackendError') return false;
  if (isThrottling(e) || e.$retryable) return true;
  if (TRANSIENT.has(e.name ?? '')) return true;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return true;
  if (NETWORK_CODES.has(e.code ?? '') || NETWORK_CODES.has(e.name ?? '')) return true;
  if (/socket hang up|ECONNRESET|premature close|aborted/i.test(e.message ?? '')) return true;
  return e.cause !== undefined && e.cause !== e && isRetryable(e.cause);
}

/** Full jitter: uniform in [0, min(cap, base·2^(attempt−1))]. */
export function backoffDelay(attempt: number, err: unknown, maxBackoffMs: number, random: () => number = Math.random): number {
  const base = isThrottling(err) ? 500 : 100;
  const ceiling = Math.min(maxBackoffMs, base * 2 ** Math.min(attempt - 1, 30));
  return Math.floor(random() * ceiling);
}

/** Runs `attempt` until it succeeds, fails with a non-retryable error, or the tries run out. */
export async function withRetries<T>(options: RetryOptions, attempt: (n: number) => Promise<T>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (n >= options.maxAttempts || !isRetryable(err)) throw err;
      const delay = backoffDelay(n, err, options.maxBackoffMs, options.random);
      options.onRetry?.(err, n, delay);
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    }
  }
}
