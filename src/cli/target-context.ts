import * as os from 'node:os';
import { SignalUndo } from './interrupts.ts';
import * as path from 'node:path';
import { openBackend, parseTargetUrl } from '../backend/target-url.ts';
import { dataStorageClass, MIN_PART_SIZE, MiB, type S3Settings } from '../backend/s3-settings.ts';
import type { S3Location } from '../backend/s3-url.ts';
import { MetadataCache } from '../archive/metadata-cache.ts';
import { DEFAULT_TARGET_LOCK_TIMING, type TargetLockTiming } from '../archive/target-lock.ts';
import type { TargetContext } from '../ops/context.ts';
import type { Reporter } from '../ops/reporter.ts';
import { defaultBackupName, type CliOptions } from './command-line.ts';
import { encryptionFor } from './encryption-options.ts';
import { UsageError } from '../command-line/usage-error.ts';

/** The upload log in the cache: one JSON line per object stored on S3, with its CRC-32C. */
export const UPLOAD_LOG_NAME = 'permafrost-uploads.jsonl';

/** Builds an operation's context from the command line: the backend, the cache, the clock. */
export function targetContext(url: string, o: CliOptions, reporter: Reporter, env: NodeJS.ProcessEnv = process.env): TargetContext {
  const target = parseTargetUrl(url);
  const fixedNow = o.currentTime;
  const cacheDir = path.join(o.archiveDir, o.name ?? defaultBackupName(url));
  const s3 =
    target.scheme === 's3'
      ? {
          settings: s3Settings(target.location, o, env, path.join(cacheDir, UPLOAD_LOG_NAME), (w) => reporter.warning(w)),
          notes: { debug: (m: string) => reporter.debug(m), warning: (m: string) => reporter.warning(m) },
        }
      : undefined;
  return {
    backend: openBackend(target, s3),
    cache: new MetadataCache(cacheDir),
    prefixes: {
      base: o.filePrefix,
      archive: o.filePrefixArchive,
      manifest: o.filePrefixManifest,
      signature: o.filePrefixSignature,
    },
    reporter,
    now: () => fixedNow ?? Math.floor(Date.now() / 1000),
    clockFixed: fixedNow !== undefined,
    tempRoot: o.tempdir ?? env['TMPDIR'] ?? os.tmpdir(),
    compress: !o.noCompression,
    compressLevel: o.compressLevel,
    // the main thread reads, hashes and signs on one core; compression threads get the others
    jobs: o.jobs ?? Math.max(1, os.availableParallelism() - 1),
    encryption: encryptionFor(o, { env, file: o.passphraseFile }),
    targetLockTiming: targetLockTiming(env),
    interrupts: new SignalUndo(reporter),
  };
}

/**
 * PERMAFROST_TARGET_LOCK_REFRESH_SECONDS / _STALE_SECONDS, for tests: seconds between rewrites of
 * the target lock, and without a rewrite before another run takes it over.
 */
function targetLockTiming(env: NodeJS.ProcessEnv): TargetLockTiming {
  const seconds = (key: string, fallback: number): number => {
    const raw = env[key];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${key} must be a positive number of seconds, not ${JSON.stringify(raw)}`);
    return n;
  };
  return {
    refreshSeconds: seconds('PERMAFROST_TARGET_LOCK_REFRESH_SECONDS', DEFAULT_TARGET_LOCK_TIMING.refreshSeconds),
    staleSeconds: seconds('PERMAFROST_TARGET_LOCK_STALE_SECONDS', DEFAULT_TARGET_LOCK_TIMING.staleSeconds),
  };
}

type S3Flags = Pick<
  CliOptions,
  | 's3EndpointUrl'
  | 's3RegionName'
  | 's3UnencryptedConnection'
  | 's3StorageClass'
  | 's3UseRrs'
  | 's3UseIa'
  | 's3UseOnezoneIa'
  | 's3UseGlacier'
  | 's3UseGlacierIr'
  | 's3UseDeepArchive'
  | 's3UseServerSideEncryption'
  | 's3UseServerSideKmsEncryption'
  | 's3KmsKeyId'
  | 's3KmsGrant'
  | 's3MultipartChunkSize'
  | 's3MultipartMaxProcs'
  | 'numRetries'
  | 'timeout'
>;

/**
 * The S3 backend's settings. Endpoint: `--s3-endpoint-url`, else the URL's host (`s3://host/bucket`),
 * else AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL; any of these means path-style addressing. Region:
 * `--s3-region-name`, else the one an AWS host names, else the SDK's (AWS_REGION, the profile),
 * else us-east-1. Credentials are the SDK's default chain, untouched.
 */
export function s3Settings(
  loc: S3Location,
  o: S3Flags,
  env: NodeJS.ProcessEnv,
  uploadLog: string | undefined,
  warn: (message: string) => void,
): S3Settings {
  const endpoint =
    o.s3EndpointUrl !== undefined
      ? checkEndpoint(o.s3EndpointUrl, '--s3-endpoint-url')
      : (hostEndpoint(loc, o.s3UnencryptedConnection) ?? envEndpoint(env));
  const region = o.s3RegionName ?? loc.host?.awsRegion;
  let storageClass: string;
  try {
    const chosen = dataStorageClass(o);
    storageClass = chosen.storageClass;
    for (const w of chosen.warnings) warn(w);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  let sse: S3Settings['serverSideEncryption'];
  if (o.s3UseServerSideKmsEncryption) {
    if (o.s3KmsKeyId === undefined) throw new UsageError('--s3-use-server-side-kms-encryption needs --s3-kms-key-id');
    sse = { kind: 'aws:kms', keyId: o.s3KmsKeyId, ...(o.s3KmsGrant !== undefined ? { grantFullControl: o.s3KmsGrant } : {}) };
  } else if (o.s3UseServerSideEncryption) {
    sse = { kind: 'AES256' };
  }
  const chunk = Math.round(o.s3MultipartChunkSize * MiB);
  return {
    ...(endpoint !== undefined ? { endpoint } : {}),
    ...(region !== undefined ? { region } : {}),
    dataStorageClass: storageClass,
    ...(sse ? { serverSideEncryption: sse } : {}),
    multipartThreshold: Math.max(chunk, MIN_PART_SIZE),
    partSize: Math.max(chunk, MIN_PART_SIZE),
    partConcurrency: Math.min(64, Math.max(1, o.s3MultipartMaxProcs ?? 4)),
    maxAttempts: Math.max(1, o.numRetries),
    timeoutMs: Math.max(0, o.timeout) * 1000,
    maxBackoffMs: 20_000,
    ...(uploadLog !== undefined ? { uploadLog } : {}),
  };
}

function checkEndpoint(value: string, from: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new UsageError(`${from}: not a URL: ${JSON.stringify(value)} (expected e.g. https://s3.example.com or http://127.0.0.1:9000)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new UsageError(`${from}: expected an http:// or https:// URL, got ${JSON.stringify(value)}`);
  return value.replace(/\/+$/, '');
}

/** `s3://host[:port]/bucket`: the host is the endpoint, unless it is one of AWS's own. */
function hostEndpoint(loc: S3Location, unencrypted: boolean): string | undefined {
  const h = loc.host;
  if (!h || h.aws) return undefined;
  return `${unencrypted ? 'http' : 'https'}://${h.hostname}${h.port !== undefined ? `:${h.port}` : ''}`;
}

/** The SDK's own variables for service endpoints, read here because path-style addressing depends on them. */
function envEndpoint(env: NodeJS.ProcessEnv): string | undefined {
  if ((env['AWS_IGNORE_CONFIGURED_ENDPOINT_URLS'] ?? '').toLowerCase() === 'true') return undefined;
  const v = env['AWS_ENDPOINT_URL_S3'] || env['AWS_ENDPOINT_URL'];
  return v ? checkEndpoint(v, env['AWS_ENDPOINT_URL_S3'] ? 'AWS_ENDPOINT_URL_S3' : 'AWS_ENDPOINT_URL') : undefined;
}
