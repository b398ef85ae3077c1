import type { RestoreTier } from '../core/restore-tier.ts';
import type { RequestSummary } from './request-accounting.ts';

/**
 * Where backups live. Every target (file://, s3://) implements this; the archive layer never
 * knows which. Names are flat (duplicity's remote layout has no folders).
 */
export interface RemoteObjectInfo {
  readonly name: string;
  readonly size: number;
  /** Storage class for object stores (STANDARD, GLACIER, DEEP_ARCHIVE, ...); undefined for files. */
  readonly storageClass?: string;
  /** When the object was written, epoch seconds (object stores' LastModified); undefined for files. */
  readonly lastModified?: number;
  /** The CRC-32C the store holds for the object (base64, S3's FULL_OBJECT value), when asked for and known. */
  readonly crc32c?: string;
  /** Archived objects (head only): the state of a restore (thaw); absent when none was requested or the copy expired. */
  readonly restore?: RestoreState;
}

/** S3's `x-amz-restore`: a restore is running, or a readable copy exists until `expiry`. */
export interface RestoreState {
  readonly ongoing: boolean;
  /** epoch seconds; set when the copy is readable */
  readonly expiry?: number;
}

/** The storage classes whose objects cannot be read before a restore (docs/glacier-semantics.md §1.2). */
export function isArchivedClass(storageClass: string | undefined): boolean {
  return storageClass === 'GLACIER' || storageClass === 'DEEP_ARCHIVE';
}

/**
 * What a restore request did (docs/glacier-semantics.md §3.3): `started` (202), `extended` (200: a copy existed and
 * lives longer now), `in-progress` (409), `not-archived` (the object is readable as it is),
 * `tier-unavailable` (503: no Expedited capacity now).
 */
export type RestoreOutcome = 'started' | 'extended' | 'in-progress' | 'not-archived' | 'tier-unavailable';

/** What permafrost recorded when it stored an object (object stores: the upload log in the cache). */
export interface UploadedObject {
  readonly size: number;
  readonly storageClass: string;
  /** base64 CRC-32C, as S3 returns it */
  readonly crc32c: string;
}

export interface PutOptions {
  /** What kind of file this is, so a backend can choose a storage class (data vs metadata). */
  readonly role: 'volume' | 'manifest' | 'signature';
  /** The caller deletes the local file afterwards, so a backend may move it instead of copying. */
  readonly consumeLocal?: boolean;
}

/**
 * What every target does. Anything only some targets can do is a capability below, which a caller
 * asks for with its type guard (`hasRestore(backend)`), never by probing a member itself; wrappers
 * extend `BackendWrapper` (backend-wrapper.ts), which forwards every capability they do not change.
 */
export interface Backend extends ConditionalWrites {
  /** A stable, secret-free description for messages, e.g. `file:///srv/backup`. */
  readonly displayUrl: string;
  list(): Promise<RemoteObjectInfo[]>;
  /**
   * Uploads a local file under `name`, atomically: readers never see a partial object. Object
   * stores answer with what they now hold (size, class, CRC-32C), which the manifest records.
   */
  putFile(localPath: string, name: string, options: PutOptions): Promise<UploadedObject | void>;
  /** Streams an object's bytes. */
  get(name: string): Promise<AsyncIterable<Buffer>>;
  /**
   * Downloads an object to a new local file, which the caller only reads and then deletes (a
   * local backend may hand out a hard link to the object itself).
   */
  getToFile(name: string, localPath: string): Promise<void>;
  /**
   * One object's size (and class); null when it does not exist. Works on archived objects.
   * `checksum`: also the store's own checksum (`crc32c`), where the store keeps one.
   */
  head(name: string, options?: { readonly checksum?: boolean }): Promise<RemoteObjectInfo | null>;
  delete(names: readonly string[]): Promise<void>;
  /** Ends the run's use of the target: object stores abort multipart uploads left open and release connections. */
  close(): Promise<void>;
}

/** Every target has it (the target lock needs it), so it is part of `Backend`; named to say what it is. */
export interface ConditionalWrites {
  /** Small control objects written only under a condition (the target lock). */
  readonly conditional: ConditionalStore;
}

/** Targets whose interrupted writes leave something behind that `list()` hides (file://). */
export interface Leftovers {
  /**
   * Partial writes that an interrupted run left behind and `list()` hides (temporary files of a
   * file:// target); `delete()` removes them. Only call it while holding the backup's lock.
   */
  listLeftovers(): Promise<string[]>;
}

/** Object stores: what the run asked of the store, for summaries and cost estimates. */
export interface RequestSummarySource {
  /**
   * The requests this run made so far (by type, retries included), the bytes stored per storage
   * class, and what the last listing saw.
   */
  requestSummary(): RequestSummary;
}

/** Object stores with archive classes: thaws. */
export interface ArchiveRestore {
  /** Asks for a readable copy of an archived object for `days`. */
  requestRestore(name: string, request: { readonly tier: RestoreTier; readonly days: number }): Promise<RestoreOutcome>;
}

/** Object stores: where an object lives in the store's own terms. */
export interface ObjectAddressing {
  /** The bucket and key of an object (S3 Batch Operations manifests name objects so). */
  objectAddress(name: string): { readonly bucket: string; readonly key: string };
}

/** Object stores: the upload log this cache keeps for the target. */
export interface UploadRecords {
  /**
   * What this cache recorded at each upload to this target (size, class, CRC-32C), the newest
   * record per name. Lets `verify` check objects with HEAD alone, no download.
   */
  uploadRecords(): Promise<Map<string, UploadedObject>>;
}

/** The optional capabilities, each by the one method that provides it. */
export const CAPABILITY_METHODS = {
  leftovers: 'listLeftovers',
  requestSummary: 'requestSummary',
  restore: 'requestRestore',
  objectAddressing: 'objectAddress',
  uploadRecords: 'uploadRecords',
} as const satisfies Record<string, keyof (Leftovers & RequestSummarySource & ArchiveRestore & ObjectAddressing & UploadRecords)>;

function provides(backend: Backend, method: string): boolean {
  return typeof (backend as unknown as Record<string, unknown>)[method] === 'function';
}

export function hasLeftovers(backend: Backend): backend is Backend & Leftovers {
  return provides(backend, CAPABILITY_METHODS.leftovers);
}
export function hasRequestSummary(backend: Backend): backend is Backend & RequestSummarySource {
  return provides(backend, CAPABILITY_METHODS.requestSummary);
}
export function hasRestore(backend: Backend): backend is Backend & ArchiveRestore {
  return provides(backend, CAPABILITY_METHODS.restore);
}
export function hasObjectAddressing(backend: Backend): backend is Backend & ObjectAddressing {
  return provides(backend, CAPABILITY_METHODS.objectAddressing);
}
export function hasUploadRecords(backend: Backend): backend is Backend & UploadRecords {
  return provides(backend, CAPABILITY_METHODS.uploadRecords);
}

/** The run's request summary where the target keeps one (object stores); undefined otherwise. */
export function requestSummaryOf(backend: Backend): RequestSummary | undefined {
  return hasRequestSummary(backend) ? backend.requestSummary() : undefined;
}

/** A small object as read, with the tag that names this version of it (an ETag, a content hash). */
export interface TaggedObject {
  readonly bytes: Buffer;
  readonly tag: string;
  /** When the store last wrote it, epoch seconds by the store's clock (LastModified, mtime). */
  readonly modified: number;
}

/**
 * Writes that succeed for one writer only: "create if absent" and "replace (or delete) only if it
 * is still the version I read". Each answers null/false, having changed nothing, when the
 * condition does not hold; other failures are BackendErrors.
 */
export interface ConditionalStore {
  read(name: string): Promise<TaggedObject | null>;
  /** `expect`: 'absent', or the tag of the version to replace. Returns the new version's tag. */
  write(name: string, bytes: Buffer, expect: 'absent' | { readonly tag: string }): Promise<string | null>;
  remove(name: string, tag: string): Promise<boolean>;
}

/**
 * Errors a backend raises that the CLI maps to exit codes; the message is for humans (one line).
 * `archived`: the object is in GLACIER or DEEP_ARCHIVE and must be restored (thawed) before a read.
 */
export class BackendError extends Error {
  /** `exists`: a write would have replaced an object (names are never overwritten). */
  readonly code: 'not-found' | 'access' | 'archived' | 'io' | 'config' | 'exists';
  constructor(code: BackendError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'BackendError';
  }
}
