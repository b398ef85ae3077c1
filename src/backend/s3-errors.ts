import { BackendError } from './backend.ts';

/**
 * Turns what the SDK throws into a one-line BackendError that says what to do. The codes are
 * S3's (docs/glacier-semantics.md §3, §6) and the SDK's own (credentials, region).
 */
export interface S3ErrorContext {
  /** e.g. `upload`, `list`, `read` */
  readonly action: string;
  /** `s3://bucket/prefix/name` or `s3://bucket/prefix/` */
  readonly what: string;
  readonly bucket: string;
  /** The region the client signs for, when known. */
  readonly region?: string;
  /** Where requests go, for messages: the endpoint or `AWS`. */
  readonly server: string;
}

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  Region?: string;
  StorageClass?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
  $response?: { headers?: Record<string, string | undefined> };
}

export function s3Error(err: unknown, c: S3ErrorContext): BackendError {
  if (err instanceof BackendError) return err;
  const e = (err ?? {}) as SdkError;
  const name = e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const message = oneLine(e.message ?? String(err));
  const tries = e.$metadata?.attempts !== undefined && e.$metadata.attempts > 1 ? ` (after ${e.$metadata.attempts} tries)` : '';
  const opts = { cause: err };
  switch (name) {
    case 'InvalidObjectState':
      return new BackendError(
        'archived',
        `cannot ${c.action} ${c.what}: it is in ${e.StorageClass ?? 'an archive storage class'} and not restored: thaw it first (the thaw command, or restore --thaw), then run again`,
        opts,
      );
    case 'NoSuchBucket':
      return new BackendError('not-found', `S3 bucket "${c.bucket}" does not exist (at ${c.server})`, opts);
    case 'NoSuchKey':
    case 'NotFound':
      return new BackendError('not-found', `cannot ${c.action} ${c.what}: no such object`, opts);
    case 'InvalidAccessKeyId':
      return new BackendError(
        'access',
        `${c.server} does not know the AWS access key ID in use: check AWS_ACCESS_KEY_ID, AWS_PROFILE or the shared credentials file`,
        opts,
      );
    case 'SignatureDoesNotMatch':
      return new BackendError(
        'access',
        `${c.server} rejected the request signature: the AWS secret access key does not belong to the access key ID in use`,
        opts,
      );
    case 'ExpiredToken':
    case 'TokenRefreshRequired':
    case 'InvalidToken':
      return new BackendError('access', `the AWS session token is expired or invalid (${name}): refresh the credentials`, opts);
    case 'AccessDenied':
    case 'Forbidden':
    case 'AllAccessDisabled':
      return new BackendError(
        'access',
        `access denied to ${c.action} ${c.what}: the credentials lack the permission (see "IAM policies" in docs/s3-and-glacier.md)`,
        opts,
      );
    case 'CredentialsProviderError':
      return new BackendError(
        'config',
        `no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run with a role (${message})`,
        opts,
      );
    case 'InvalidBucketName':
      return new BackendError('config', `"${c.bucket}" is not a valid S3 bucket name`, opts);
    case 'KMS.NotFoundException':
    case 'KMS.DisabledException':
    case 'KMSInvalidKeyUsageException':
      return new BackendError('config', `cannot ${c.action} ${c.what}: the KMS key is not usable (${name}: ${message})`, opts);
  }
  const region = wrongRegion(e);
  if (
    region !== undefined ||
    name === 'PermanentRedirect' ||
    name === 'AuthorizationHeaderMalformed' ||
    name === 'IllegalLocationConstraintException' ||
    status === 301
  ) {
    const where = region ? `in region ${region}` : 'in another region';
    const fix = region
      ? `pass --s3-region-name ${region} (or set AWS_REGION=${region})`
      : 'pass its region with --s3-region-name (or AWS_REGION)';
    return new BackendError('config', `S3 bucket "${c.bucket}" is ${where}${c.region ? `, not ${c.region}` : ''}: ${fix}`, opts);
  }
  if (/region is missing/i.test(message)) {
    return new BackendError(
      'config',
      'no AWS region configured: pass --s3-region-name or set AWS_REGION (or a region in the AWS profile)',
      opts,
    );
  }
  if (status === 403) return new BackendError('access', `access denied to ${c.action} ${c.what} (${name}: ${message})`, opts);
  if (status === 404) return new BackendError('not-found', `cannot ${c.action} ${c.what}: not found (${name})`, opts);
  const net = networkCode(err);
  if (net)
    return new BackendError(
      'io',
      `cannot ${c.action} ${c.what}: ${c.server} is unreachable or dropped the connection (${net})${tries}`,
      opts,
    );
  return new BackendError('io', `cannot ${c.action} ${c.what}: ${name}${status ? ` (HTTP ${status})` : ''}: ${message}${tries}`, opts);
}

/** The region a wrong-region answer points to (AuthorizationHeaderMalformed, PermanentRedirect). */
function wrongRegion(e: SdkError): string | undefined {
  const header = e.$response?.headers?.['x-amz-bucket-region'];
  if (e.name === 'AuthorizationHeaderMalformed' || e.name === 'PermanentRedirect' || e.$metadata?.httpStatusCode === 301) {
    return e.Region ?? header ?? /expecting '([a-z0-9-]+)'/.exec(e.message ?? '')?.[1];
  }
  return undefined;
}

function networkCode(err: unknown): string | undefined {
  for (
    let e = err as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 4;
    e = e.cause as typeof e, depth++
  ) {
    if (typeof e.code === 'string' && /^E[A-Z]+$|^UND_ERR/.test(e.code)) return e.code;
    if (e.name === 'TimeoutError') return 'timeout';
    if (typeof e.message === 'string' && /socket hang up/i.test(e.message)) return 'socket hang up';
  }
  return undefined;
}

function oneLine(s: string): string {
  const line = s.split('\n', 1)[0]!.trim();
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
