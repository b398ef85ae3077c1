import type { RequestSummary } from '../../src/backend/request-accounting.ts';
/**
 * Shared pieces of the S3 tests: an SDK client for checking what moto holds, the backend under
 * test with test settings, and a hermetic way to run the permafrost CLI against an endpoint.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { constants } from 'node:os';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  RestoreObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { S3Backend } from '../../src/backend/s3-backend.ts';
import type { S3Settings } from '../../src/backend/s3-settings.ts';
import { parseS3Url } from '../../src/backend/s3-url.ts';
import { PERMAFROST_BIN } from '../support/permafrost.ts';
import { TEST_CREDENTIALS } from '../support/moto.ts';

/** A client that looks at moto directly (not through the proxy), for checking results. */
export function inspector(endpoint: string): S3Client {
  return new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: TEST_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
}

export async function createBucket(endpoint: string, bucket: string): Promise<void> {
  const c = inspector(endpoint);
  try {
    await c.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    c.destroy();
  }
}

export interface StoredObject {
  readonly key: string;
  readonly size: number;
  /** from HeadObject; moto, like S3, omits the header for STANDARD */
  readonly storageClass: string;
  readonly crc32c?: string;
  readonly checksumType?: string;
  readonly sse?: string;
}

/** Every object under a prefix, each looked at with HeadObject. */
export async function headAll(endpoint: string, bucket: string, prefix = ''): Promise<StoredObject[]> {
  const c = inspector(endpoint);
  try {
    const listed = await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    const out: StoredObject[] = [];
    for (const o of listed.Contents ?? []) {
      const h = await c.send(new HeadObjectCommand({ Bucket: bucket, Key: o.Key!, ChecksumMode: 'ENABLED' }));
      out.push({
        key: o.Key!,
        size: h.ContentLength ?? 0,
        storageClass: h.StorageClass ?? 'STANDARD',
        ...(h.ChecksumCRC32C !== undefined ? { crc32c: h.ChecksumCRC32C } : {}),
        ...(h.ChecksumType !== undefined ? { checksumType: h.ChecksumType } : {}),
        ...(h.ServerSideEncryption !== undefined ? { sse: h.ServerSideEncryption } : {}),
      });
    }
    return out;
  } finally {
    c.destroy();
  }
}

export async function getObject(endpoint: string, bucket: string, key: string): Promise<Buffer> {
  const c = inspector(endpoint);
  try {
    const out = await c.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await out.Body!.transformToByteArray());
  } finally {
    c.destroy();
  }
}

export async function openUploads(endpoint: string, bucket: string): Promise<string[]> {
  const c = inspector(endpoint);
  try {
    const out = await c.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    return (out.Uploads ?? []).map((u) => u.Key!);
  } finally {
    c.destroy();
  }
}

/**
 * Makes archived objects readable the way an operator would before `permafrost thaw` exists:
 * a RestoreObject per archived object (moto completes restores at once). Returns the keys.
 */
export async function thawAll(endpoint: string, bucket: string, prefix = ''): Promise<string[]> {
  const c = inspector(endpoint);
  try {
    const thawed: string[] = [];
    const listed = await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    for (const o of listed.Contents ?? []) {
      if (o.StorageClass !== 'GLACIER' && o.StorageClass !== 'DEEP_ARCHIVE') continue;
      await c.send(
        new RestoreObjectCommand({ Bucket: bucket, Key: o.Key!, RestoreRequest: { Days: 1, GlacierJobParameters: { Tier: 'Bulk' } } }),
      );
      thawed.push(o.Key!);
    }
    return thawed;
  } finally {
    c.destroy();
  }
}

export const TEST_SETTINGS: S3Settings = {
  region: 'us-east-1',
  dataStorageClass: 'STANDARD',
  multipartThreshold: 5 * 1024 * 1024,
  partSize: 5 * 1024 * 1024,
  partConcurrency: 3,
  maxAttempts: 4,
  timeoutMs: 10_000,
  maxBackoffMs: 50,
};

export interface Notes {
  readonly debug: string[];
  readonly warnings: string[];
}

/** The backend under test, on `url` (e.g. boto3+s3://bucket/prefix), talking to `endpoint`. */
export function backendFor(url: string, endpoint: string, settings: Partial<S3Settings> = {}): { backend: S3Backend; notes: Notes } {
  const notes: Notes = { debug: [], warnings: [] };
  const backend = new S3Backend(parseS3Url(url), { ...TEST_SETTINGS, endpoint, ...settings }, url, {
    debug: (m) => notes.debug.push(m),
    warning: (m) => notes.warnings.push(m),
  });
  return { backend, notes };
}

/** Environment variables for a CLI run: only what is given, plus what any process needs. */
export function hermeticEnv(extra: Readonly<Record<string, string>>, home: string): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: home,
    TZ: 'UTC',
    LC_ALL: 'C.UTF-8',
    // no shared files, no instance metadata: the credential chain sees only what a test gives it
    AWS_SHARED_CREDENTIALS_FILE: `${home}/no-such-credentials`,
    AWS_CONFIG_FILE: `${home}/no-such-config`,
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  };
}

/** Keys for moto in the environment, as a user would export them. */
export function envCredentials(): Record<string, string> {
  return { AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey };
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `permafrost args` with exactly `env` (see hermeticEnv); never throws on an exit code. */
export function runCli(args: readonly string[], env: Readonly<Record<string, string>>, timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PERMAFROST_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: code ?? 128 + (signal ? constants.signals[signal] : 0),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}

export function describe(r: CliResult): string {
  return `exit ${r.code}\n--- stdout ---\n${r.stdout.slice(-4000)}\n--- stderr ---\n${r.stderr.slice(-4000)}`;
}

/**
 * `permafrost args` unencrypted against `endpoint`, with credentials from the environment and an
 * archive dir under `work` named `name`, asserting its exit code.
 */
export async function runUnencrypted(
  args: readonly string[],
  opts: { readonly work: string; readonly name: string; readonly endpoint: string; readonly extra?: readonly string[] },
  expectCode = 0,
): Promise<CliResult> {
  const full = [
    ...args,
    '--no-encryption',
    ...(opts.extra ?? []),
    '--archive-dir',
    join(opts.work, 'cache'),
    '--name',
    opts.name,
    '--s3-endpoint-url',
    opts.endpoint,
  ];
  const r = await runCli(full, hermeticEnv(envCredentials(), opts.work));
  assert.equal(r.code, expectCode, `permafrost ${args.join(' ')}\n${describe(r)}`);
  return r;
}

/** The JSON document a `--json` run printed: stdout whole (docs/output.md: nothing else is on it). */
export function lastJson<T>(stdout: string): T {
  return JSON.parse(stdout) as T;
}

/** What `verify --json` prints. */
export interface VerifyJson {
  sets: number;
  volumes: number;
  checked: { sha1: number; crc32c: number; size: number; presence: number; read: number };
  recordsFrom: { manifest: number; uploadLog: number };
  problems: { kind: string; name: string; message: string }[];
  extra: { name: string }[];
  requests: RequestSummary;
}
