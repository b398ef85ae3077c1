/**
 * What a run asked of an object store: HTTP requests by type (each try counts, as S3 bills
 * them), uploaded objects and bytes per storage class, downloads, and what the target held at
 * the run's listing. Fed by an SDK middleware (requests) and by the backend (objects).
 */

export const REQUEST_TYPES = [
  'put',
  'multipartCreate',
  'multipartPart',
  'multipartComplete',
  'multipartAbort',
  'get',
  'list',
  'head',
  'delete',
  'restore',
  'other',
] as const;
export type RequestType = (typeof REQUEST_TYPES)[number];

export interface ClassTally {
  readonly objects: number;
  readonly bytes: number;
}

export interface RequestSummary {
  /** HTTP requests sent, by type; retries included. */
  readonly requests: Readonly<Record<RequestType, number>> & { readonly total: number };
  /** Requests billed at the PUT/COPY/POST/LIST price: PUT, the multipart requests but Abort, LIST. */
  readonly putClassRequests: number;
  /** Requests that were retries of an earlier failed try. */
  readonly retries: number;
  /** Requests that ended in an error response or a network failure. */
  readonly failed: number;
  /** Objects this run stored, by storage class. */
  readonly uploaded: ClassTally & { readonly byClass: Readonly<Record<string, ClassTally>> };
  readonly downloaded: ClassTally;
  /** The target's objects as of this run's last full listing, by storage class (null: not listed). */
  readonly listed: (ClassTally & { readonly byClass: Readonly<Record<string, ClassTally>> }) | null;
}

const COMMAND_TYPES: Readonly<Record<string, RequestType>> = {
  PutObjectCommand: 'put',
  CopyObjectCommand: 'put',
  CreateMultipartUploadCommand: 'multipartCreate',
  UploadPartCommand: 'multipartPart',
  CompleteMultipartUploadCommand: 'multipartComplete',
  AbortMultipartUploadCommand: 'multipartAbort',
  GetObjectCommand: 'get',
  GetObjectAttributesCommand: 'head',
  ListObjectsV2Command: 'list',
  ListObjectsCommand: 'list',
  ListMultipartUploadsCommand: 'list',
  ListPartsCommand: 'list',
  HeadObjectCommand: 'head',
  HeadBucketCommand: 'head',
  DeleteObjectCommand: 'delete',
  DeleteObjectsCommand: 'delete',
  RestoreObjectCommand: 'restore',
};

export function requestTypeOf(commandName: string | undefined): RequestType {
  return (commandName !== undefined ? COMMAND_TYPES[commandName] : undefined) ?? 'other';
}

export class RequestAccounting {
  readonly #requests: Record<RequestType, number> = Object.fromEntries(REQUEST_TYPES.map((t) => [t, 0])) as Record<RequestType, number>;
  #retries = 0;
  #failed = 0;
  readonly #uploaded = new Map<string, { objects: number; bytes: number }>();
  #downloaded = { objects: 0, bytes: 0 };
  #listed: Map<string, { objects: number; bytes: number }> | null = null;

  /** One HTTP request sent. `retry` when it repeats a failed try. */
  request(type: RequestType, retry: boolean): void {
    this.#requests[type]++;
    if (retry) this.#retries++;
  }

  /** A retry that the backend itself makes (streamed bodies), counted when the next try is sent. */
  retried(): void {
    this.#retries++;
  }

  failure(): void {
    this.#failed++;
  }

  uploaded(storageClass: string, bytes: number): void {
    const t = this.#uploaded.get(storageClass) ?? { objects: 0, bytes: 0 };
    t.objects++;
    t.bytes += bytes;
    this.#uploaded.set(storageClass, t);
  }

  downloaded(bytes: number): void {
    this.#downloaded = { objects: this.#downloaded.objects + 1, bytes: this.#downloaded.bytes + bytes };
  }

  listedObjects(objects: readonly { readonly size: number; readonly storageClass?: string }[]): void {
    const m = new Map<string, { objects: number; bytes: number }>();
    for (const o of objects) {
      const cls = o.storageClass ?? 'STANDARD';
      const t = m.get(cls) ?? { objects: 0, bytes: 0 };
      t.objects++;
      t.bytes += o.size;
      m.set(cls, t);
    }
    this.#listed = m;
  }

  summary(): RequestSummary {
    const requests = { ...this.#requests, total: REQUEST_TYPES.reduce((n, t) => n + this.#requests[t], 0) };
    const r = this.#requests;
    return {
      requests,
      putClassRequests: r.put + r.multipartCreate + r.multipartPart + r.multipartComplete + r.list,
      retries: this.#retries,
      failed: this.#failed,
      uploaded: tallies(this.#uploaded),
      downloaded: { ...this.#downloaded },
      listed: this.#listed ? tallies(this.#listed) : null,
    };
  }
}

function tallies(m: ReadonlyMap<string, { objects: number; bytes: number }>): ClassTally & { byClass: Record<string, ClassTally> } {
  const byClass: Record<string, ClassTally> = {};
  let objects = 0;
  let bytes = 0;
  for (const [cls, t] of [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    byClass[cls] = { ...t };
    objects += t.objects;
    bytes += t.bytes;
  }
  return { objects, bytes, byClass };
}

/** One line for humans, e.g. for the end of a backup's output. */
export function formatRequestSummary(s: RequestSummary, formatBytes: (n: number) => string): string {
  const r = s.requests;
  const parts = [
    `${r.put} PUT`,
    `${r.multipartCreate} multipart (${r.multipartPart} parts${r.multipartAbort ? `, ${r.multipartAbort} aborted` : ''})`,
    `${r.get} GET`,
    `${r.list} LIST`,
    `${r.head} HEAD`,
    `${r.delete} DELETE`,
    `${r.restore} restore`,
  ];
  let line = `S3 requests: ${parts.join(', ')}; ${s.putClassRequests} PUT-class`;
  if (s.retries > 0 || s.failed > 0) line += `; ${s.retries} retried, ${s.failed} failed`;
  const classes = Object.entries(s.uploaded.byClass).map(([cls, t]) => `${t.objects} in ${cls} (${formatBytes(t.bytes)})`);
  line += `. Uploaded ${s.uploaded.objects} object${s.uploaded.objects === 1 ? '' : 's'}${classes.length > 0 ? `: ${classes.join(', ')}` : ''}`;
  if (s.downloaded.objects > 0) line += `. Downloaded ${s.downloaded.objects} (${formatBytes(s.downloaded.bytes)})`;
  return `${line}.`;
}
