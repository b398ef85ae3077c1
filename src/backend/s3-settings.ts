import type { PutOptions } from './backend.ts';

/**
 * How the S3 backend talks to its server and stores objects: resolved once from the command line
 * and the environment (see cli/target-context.ts), then fixed for the run.
 */
export interface S3Settings {
  /** A custom endpoint (`--s3-endpoint-url`, the URL's host, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL); path-style addressing then. */
  readonly endpoint?: string;
  /** `--s3-region-name` or the region an AWS host names; otherwise the SDK's (AWS_REGION, the profile). */
  readonly region?: string;
  /** Storage class of data volumes; manifests and signatures are always STANDARD. */
  readonly dataStorageClass: string;
  readonly serverSideEncryption?:
    | { readonly kind: 'AES256' }
    | { readonly kind: 'aws:kms'; readonly keyId: string; readonly grantFullControl?: string };
  /** Objects larger than this are uploaded in parts (bytes; at most 5 GiB, S3's single-PUT limit). */
  readonly multipartThreshold: number;
  /** Part size (bytes, at least 5 MiB); grown when a file would need more than 10,000 parts. */
  readonly partSize: number;
  /** Parts of one object uploaded at once. */
  readonly partConcurrency: number;
  /** Tries per request, the first included (`--num-retries`). */
  readonly maxAttempts: number;
  /** Connection and idle-socket timeout (`--timeout`), ms. */
  readonly timeoutMs: number;
  /** Upper bound of one backoff delay between tries, ms. */
  readonly maxBackoffMs: number;
  /** Appends one JSON line per uploaded object (name, size, class, checksum), for later verification. */
  readonly uploadLog?: string;
}

export const MiB = 1024 * 1024;
/** S3's limits (docs/glacier-semantics.md §5.1). */
export const MIN_PART_SIZE = 5 * MiB;
export const MAX_PARTS = 10_000;
export const MAX_SINGLE_PUT = 5 * 1024 * MiB;

/** The storage classes S3's API accepts for new objects (2026 model, docs/glacier-semantics.md §1.1). */
export const STORAGE_CLASSES: readonly string[] = [
  'STANDARD',
  'REDUCED_REDUNDANCY',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER',
  'GLACIER_IR',
  'DEEP_ARCHIVE',
  'OUTPOSTS',
  'SNOW',
  'EXPRESS_ONEZONE',
];

/** Classes whose objects must be restored before a GET (GLACIER_IR is read directly). */
export const ARCHIVE_CLASSES: ReadonlySet<string> = new Set(['GLACIER', 'DEEP_ARCHIVE']);

export interface StorageClassFlags {
  readonly s3StorageClass?: string;
  readonly s3UseRrs: boolean;
  readonly s3UseIa: boolean;
  readonly s3UseOnezoneIa: boolean;
  readonly s3UseGlacier: boolean;
  readonly s3UseGlacierIr: boolean;
  readonly s3UseDeepArchive: boolean;
}

/**
 * The class for data volumes, and warnings about flags it overrides. The --s3-use-* flags keep
 * duplicity's precedence (rrs, ia, onezone-ia, glacier, glacier-ir, deep-archive: the first set
 * wins, docs/duplicity-format.md §8.2); an explicit --s3-storage-class wins over all of them.
 */
export function dataStorageClass(f: StorageClassFlags): { storageClass: string; warnings: string[] } {
  const flagged: [boolean, string, string][] = [
    [f.s3UseRrs, '--s3-use-rrs', 'REDUCED_REDUNDANCY'],
    [f.s3UseIa, '--s3-use-ia', 'STANDARD_IA'],
    [f.s3UseOnezoneIa, '--s3-use-onezone-ia', 'ONEZONE_IA'],
    [f.s3UseGlacier, '--s3-use-glacier', 'GLACIER'],
    [f.s3UseGlacierIr, '--s3-use-glacier-ir', 'GLACIER_IR'],
    [f.s3UseDeepArchive, '--s3-use-deep-archive', 'DEEP_ARCHIVE'],
  ];
  const set = flagged.filter(([on]) => on);
  const warnings: string[] = [];
  if (f.s3StorageClass !== undefined) {
    const cls = f.s3StorageClass.trim().toUpperCase().replace(/-/g, '_');
    if (!STORAGE_CLASSES.includes(cls)) {
      throw new Error(`--s3-storage-class: unknown storage class "${f.s3StorageClass}" (choose from ${STORAGE_CLASSES.join(', ')})`);
    }
    const overridden = set.filter(([, , c]) => c !== cls).map(([, name]) => name);
    if (overridden.length > 0) warnings.push(`--s3-storage-class ${cls} overrides ${overridden.join(', ')}`);
    return { storageClass: cls, warnings };
  }
  const first = set[0];
  if (first && set.length > 1)
    warnings.push(
      `${first[1]} takes precedence over ${set
        .slice(1)
        .map(([, n]) => n)
        .join(', ')} (as in duplicity)`,
    );
  return { storageClass: first ? first[2] : 'STANDARD', warnings };
}

/**
 * Manifests and signatures stay in STANDARD whatever the data class: every restore plan reads the
 * manifests and every incremental whose cache is lost reads the signatures. (duplicity 0.8.22
 * archives the signatures with the volumes, and puts manifests in IA/RRS classes too.)
 */
export function storageClassFor(role: PutOptions['role'], settings: Pick<S3Settings, 'dataStorageClass'>): string {
  return role === 'volume' ? settings.dataStorageClass : 'STANDARD';
}

/** Part size for a file: the configured size, grown so that the file fits in 10,000 parts. */
export function partSizeFor(fileSize: number, configured: number): number {
  const min = Math.max(configured, MIN_PART_SIZE);
  const needed = Math.ceil(fileSize / MAX_PARTS);
  return Math.max(min, Math.ceil(needed / MiB) * MiB);
}

export function usesMultipart(fileSize: number, threshold: number): boolean {
  return fileSize > Math.min(threshold, MAX_SINGLE_PUT);
}
