import { createReadStream, createWriteStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type * as S3 from '@aws-sdk/client-s3';
import {
  BackendError,
  type ArchiveRestore,
  type Backend,
  type ConditionalStore,
  type ObjectAddressing,
  type RequestSummarySource,
  type UploadRecords,
  type PutOptions,
  type RemoteObjectInfo,
  type RestoreOutcome,
  type RestoreState,
  type TaggedObject,
  type UploadedObject,
} from './backend.ts';
import { readUploadLog } from './upload-log.ts';
import { checksumFile, type FileChecksums, type FilePart } from './file-checksums.ts';
import { crc32cBase64 } from './crc32c.ts';
import type { RestoreTier } from '../core/restore-tier.ts';
import { RequestAccounting, requestTypeOf, type RequestSummary } from './request-accounting.ts';
import { s3Error } from './s3-errors.ts';
import { backoffDelay, isRetryable, withRetries } from './s3-retry.ts';
import { partSizeFor, storageClassFor, usesMultipart, type S3Settings } from './s3-settings.ts';
import { objectUrl, type S3Location } from './s3-url.ts';

type Sdk = typeof S3;

/** Where the backend reports what it does; the run's reporter in the CLI. */
export interface S3Notes {
  debug(message: string): void;
  warning(message: string): void;
}

/** One line of the upload log: what S3 stored and the checksum it verified. */
export interface UploadRecord {
  readonly name: string;
  readonly bucket: string;
  readonly key: string;
  readonly size: number;
  readonly storageClass: string;
  readonly checksumAlgorithm: 'CRC32C';
  readonly checksumType: 'FULL_OBJECT';
  /** base64 of the big-endian CRC, as S3 returns it */
  readonly checksum: string;
  readonly parts: number;
  readonly etag?: string;
  readonly uploadedAt: string;
}

/**
 * An S3 bucket and key prefix as a target (AWS or any S3-compatible server). Every upload carries
 * a CRC-32C computed from the file before sending (whole objects and each multipart part), so S3
 * refuses bytes that changed on the way; multipart uploads also send the whole object's CRC at
 * completion, and the stored value is checked against ours afterwards. A failed multipart upload
 * is aborted, so no parts are left billing. Request counts go to the run's accounting.
 */
export class S3Backend implements Backend, RequestSummarySource, ArchiveRestore, ObjectAddressing, UploadRecords {
  readonly displayUrl: string;
  readonly #loc: S3Location;
  readonly #settings: S3Settings;
  readonly #notes: S3Notes;
  readonly #accounting = new RequestAccounting();
  readonly #openUploads = new Map<string, string>();
  #ready: Promise<{ sdk: Sdk; client: S3.S3Client; region: string }> | null = null;
  #closed = false;
  readonly conditional: ConditionalStore;

  constructor(location: S3Location, settings: S3Settings, displayUrl: string, notes: S3Notes) {
    this.#loc = location;
    this.#settings = settings;
    this.displayUrl = displayUrl;
    this.#notes = notes;
    this.conditional = {
      read: (name) => this.#readTagged(name),
      write: (name, bytes, expect) => this.#writeIf(name, bytes, expect),
      remove: (name, tag) => this.#removeIf(name, tag),
    };
  }

  requestSummary(): RequestSummary {
    return this.#accounting.summary();
  }

  async list(): Promise<RemoteObjectInfo[]> {
    const { sdk, client } = await this.#client('list', objectUrl(this.#loc));
    const out: RemoteObjectInfo[] = [];
    let token: string | undefined;
    do {
      const page = await this.#send('list', objectUrl(this.#loc), () =>
        client.send(
          new sdk.ListObjectsV2Command({
            Bucket: this.#loc.bucket,
            Prefix: this.#loc.prefix,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        ),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined || !o.Key.startsWith(this.#loc.prefix)) continue;
        const name = o.Key.slice(this.#loc.prefix.length);
        if (name === '') continue;
        out.push({
          name,
          size: o.Size ?? 0,
          storageClass: o.StorageClass ?? 'STANDARD',
          ...(o.LastModified ? { lastModified: Math.floor(o.LastModified.getTime() / 1000) } : {}),
        });
      }
      const previous = token;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
      if (page.IsTruncated && (!token || token === previous)) {
        throw new BackendError(
          'io',
          `cannot list ${objectUrl(this.#loc)}: the server says the listing continues but gives no new continuation token`,
        );
      }
    } while (token);
    this.#accounting.listedObjects(out);
    return out;
  }

  async putFile(localPath: string, name: string, options: PutOptions): Promise<UploadedObject> {
    const key = this.#key(name);
    const what = objectUrl(this.#loc, name);
    const storageClass = storageClassFor(options.role, this.#settings);
    let size: number;
    try {
      size = (await fsp.stat(localPath)).size;
    } catch (err) {
      throw new BackendError(
        'io',
        `cannot upload ${what}: cannot read ${localPath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        { cause: err },
      );
    }
    const multipart = usesMultipart(size, this.#settings.multipartThreshold);
    const sums = await checksumFile(localPath, multipart ? partSizeFor(size, this.#settings.partSize) : Math.max(size, 1));
    if (sums.size !== size) throw new BackendError('io', `cannot upload ${what}: ${localPath} changed size while being read`);
    const checksum = crc32cBase64(sums.crc32c);
    this.#notes.debug(
      `Uploading ${what} (${size} bytes, ${storageClass}${multipart ? `, ${sums.parts.length} parts` : ''}, CRC32C ${checksum})`,
    );
    const etag = multipart
      ? await this.#multipartUpload(localPath, key, what, storageClass, sums)
      : await this.#singleUpload(localPath, key, what, storageClass, sums);
    this.#accounting.uploaded(storageClass, size);
    await this.#log({
      name,
      bucket: this.#loc.bucket,
      key,
      size,
      storageClass,
      checksumAlgorithm: 'CRC32C',
      checksumType: 'FULL_OBJECT',
      checksum,
      parts: multipart ? sums.parts.length : 1,
      ...(etag !== undefined ? { etag } : {}),
      uploadedAt: new Date().toISOString(),
    });
    return { size, storageClass, crc32c: checksum };
  }

  /**
   * Streams an object. A connection that breaks mid-way is resumed where it stopped (a ranged GET
   * of the same ETag), up to the retry limit, so readers of large metadata files never restart.
   */
  async get(name: string): Promise<AsyncIterable<Buffer>> {
    const what = objectUrl(this.#loc, name);
    const { sdk, client } = await this.#client('read', what);
    const key = this.#key(name);
    const first = await this.#send('read', what, () =>
      client.send(new sdk.GetObjectCommand({ Bucket: this.#loc.bucket, Key: key, ChecksumMode: 'ENABLED' })),
    );
    const etag = first.ETag;
    const total = first.ContentLength;
    const resume = (from: number) =>
      this.#send('read', what, () =>
        client.send(
          new sdk.GetObjectCommand({ Bucket: this.#loc.bucket, Key: key, Range: `bytes=${from}-`, ...(etag ? { IfMatch: etag } : {}) }),
        ),
      );
    const accounting = this.#accounting;
    const retry = this.#retryOptions(what);
    return (async function* streamed(): AsyncGenerator<Buffer> {
      let body = first.Body as Readable | undefined;
      let n = 0;
      // a reader that stops early (a key check reads a manifest's first bytes) lets go of the connection
      try {
        for (let attempt = 1; body; ) {
          const it = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
          for (;;) {
            let step: IteratorResult<Buffer>;
            try {
              step = await it.next();
            } catch (err) {
              if (attempt >= retry.maxAttempts || !isRetryable(err))
                throw new BackendError('io', `cannot read ${what}: ${(err as Error).message}`, { cause: err });
              const delay = backoffDelay(attempt, err, retry.maxBackoffMs);
              retry.onRetry(err, attempt, delay);
              attempt++;
              await new Promise((r) => setTimeout(r, delay));
              body = total !== undefined && n >= total ? undefined : ((await resume(n)).Body as Readable | undefined);
              break;
            }
            if (step.done) {
              body = undefined;
              break;
            }
            n += step.value.length;
            yield step.value;
          }
        }
      } finally {
        body?.destroy();
      }
      if (total !== undefined && n !== total) throw new BackendError('io', `cannot read ${what}: got ${n} of ${total} bytes`);
      accounting.downloaded(n);
    })();
  }

  async getToFile(name: string, localPath: string): Promise<void> {
    const what = objectUrl(this.#loc, name);
    const { sdk, client } = await this.#client('read', what);
    const key = this.#key(name);
    await withRetries(this.#retryOptions(what), async () => {
      const out = await this.#send('read', what, () =>
        client.send(new sdk.GetObjectCommand({ Bucket: this.#loc.bucket, Key: key, ChecksumMode: 'ENABLED' })),
      );
      const body = out.Body as Readable | undefined;
      if (!body) throw new BackendError('io', `cannot read ${what}: the server sent no body`);
      // a stream that breaks mid-way is retried from the start (the SDK retries only until headers)
      await pipeline(body, createWriteStream(localPath));
      const n = (await fsp.stat(localPath)).size;
      if (out.ContentLength !== undefined && n !== out.ContentLength) {
        throw Object.assign(new Error(`${what}: got ${n} of ${out.ContentLength} bytes`), { name: 'IncompleteBody' });
      }
      this.#accounting.downloaded(n);
    }).catch((err: unknown) => {
      throw this.#error(err, 'read', what);
    });
  }

  async head(name: string, options: { readonly checksum?: boolean } = {}): Promise<RemoteObjectInfo | null> {
    const what = objectUrl(this.#loc, name);
    const { sdk, client } = await this.#client('look up', what);
    try {
      const out = await client.send(
        new sdk.HeadObjectCommand({
          Bucket: this.#loc.bucket,
          Key: this.#key(name),
          ...(options.checksum ? { ChecksumMode: 'ENABLED' as const } : {}),
        }),
      );
      // a COMPOSITE checksum reads "value-parts"; ours are FULL_OBJECT, but take the value either way
      const crc = out.ChecksumCRC32C?.split('-')[0];
      const restore = out.Restore !== undefined ? parseRestoreHeader(out.Restore) : undefined;
      return {
        name,
        size: out.ContentLength ?? 0,
        storageClass: out.StorageClass ?? 'STANDARD',
        ...(crc ? { crc32c: crc } : {}),
        ...(restore ? { restore } : {}),
      };
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      // HEAD answers have no body: a missing bucket looks like a missing object here
      if (e.name !== 'NoSuchBucket' && (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404))
        return null;
      throw this.#error(err, 'look up', what);
    }
  }

  async requestRestore(name: string, request: { readonly tier: RestoreTier; readonly days: number }): Promise<RestoreOutcome> {
    const what = objectUrl(this.#loc, name);
    const { sdk, client } = await this.#client('restore', what);
    try {
      const out = await client.send(
        new sdk.RestoreObjectCommand({
          Bucket: this.#loc.bucket,
          Key: this.#key(name),
          RestoreRequest: { Days: request.days, GlacierJobParameters: { Tier: request.tier } },
        }),
      );
      // 200: a restored copy existed and now lives `days` longer; 202: the restore has started
      return out.$metadata.httpStatusCode === 200 ? 'extended' : 'started';
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === 'RestoreAlreadyInProgress' || e.$metadata?.httpStatusCode === 409) return 'in-progress';
      if (e.name === 'GlacierExpeditedRetrievalNotAvailable') return 'tier-unavailable';
      // 403 InvalidObjectState: the object is in a class that needs no restore
      if (e.name === 'InvalidObjectState') return 'not-archived';
      throw this.#error(err, 'restore', what);
    }
  }

  objectAddress(name: string): { bucket: string; key: string } {
    return { bucket: this.#loc.bucket, key: this.#key(name) };
  }

  async uploadRecords(): Promise<Map<string, UploadedObject>> {
    const out = new Map<string, UploadedObject>();
    const file = this.#settings.uploadLog;
    if (file === undefined) return out;
    let log: Awaited<ReturnType<typeof readUploadLog>>;
    try {
      log = await readUploadLog(file);
    } catch (err) {
      this.#notes.warning(`cannot read the upload log ${file}: ${(err as Error).message}`);
      return out;
    }
    if (log.skipped > 0)
      this.#notes.warning(`${file}: ${log.skipped} line${log.skipped === 1 ? ' is' : 's are'} not upload records; skipped`);
    // the log lives in the cache, which one --name may share between targets: keep this target's
    for (const r of log.records.values()) {
      if (r.bucket !== this.#loc.bucket || !r.key.startsWith(this.#loc.prefix)) continue;
      const name = r.key.slice(this.#loc.prefix.length);
      if (name !== '') out.set(name, { size: r.size, storageClass: r.storageClass, crc32c: r.crc32c });
    }
    return out;
  }

  async delete(names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    const { sdk, client } = await this.#client('delete', objectUrl(this.#loc));
    for (let i = 0; i < names.length; i += 1000) {
      const batch = names.slice(i, i + 1000);
      const what = batch.length === 1 ? objectUrl(this.#loc, batch[0]!) : `${batch.length} objects in ${objectUrl(this.#loc)}`;
      const out = await this.#send('delete', what, () =>
        client.send(
          new sdk.DeleteObjectsCommand({
            Bucket: this.#loc.bucket,
            Delete: { Objects: batch.map((n) => ({ Key: this.#key(n) })), Quiet: true },
          }),
        ),
      );
      const failed = out.Errors ?? [];
      if (failed.length > 0) {
        const first = failed[0]!;
        throw new BackendError(
          first.Code === 'AccessDenied' ? 'access' : 'io',
          `cannot delete ${failed.length} object${failed.length === 1 ? '' : 's'}, e.g. s3://${this.#loc.bucket}/${first.Key ?? '?'}: ${first.Code ?? 'error'} ${first.Message ?? ''}`.trim(),
        );
      }
    }
  }

  /** Aborts uploads still open (an interrupted run) and releases the connections. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#ready) return;
    const { sdk, client } = await this.#ready.catch(() => ({ sdk: null, client: null }));
    if (!client || !sdk) return;
    for (const [key, uploadId] of [...this.#openUploads]) await this.#abort(sdk, client, key, uploadId);
    client.destroy();
  }

  // --- conditional writes (the target lock): S3's If-None-Match / If-Match, tags are ETags ------

  async #readTagged(name: string): Promise<TaggedObject | null> {
    const what = objectUrl(this.#loc, name);
    const { sdk, client } = await this.#client('read', what);
    try {
      const out = await client.send(new sdk.GetObjectCommand({ Bucket: this.#loc.bucket, Key: this.#key(name) }));
      const bytes = Buffer.from((await out.Body?.transformToByteArray()) ?? []);
      if (!out.ETag) throw new BackendError('io', `cannot read ${what}: the server returned no ETag`);
      return { bytes, tag: out.ETag, modified: Math.floor((out.LastModified?.getTime() ?? Date.now()) / 1000) };
    } catch (err) {
      if (isMissing(err)) return null;
      throw err instanceof BackendError ? err : this.#error(err, 'read', what);
    }
  }

  async #writeIf(name: string, bytes: Buffer, expect: 'absent' | { readonly tag: string }): Promise<string | null> {
    const what = objectUrl(this.#loc, name);
    const { sdk, client } = await this.#client('upload', what);
    try {
      const out = await client.send(
        new sdk.PutObjectCommand({
          Bucket: this.#loc.bucket,
          Key: this.#key(name),
          Body: bytes,
          ContentLength: bytes.length,
          ContentType: 'application/json',
          ...(expect === 'absent' ? { IfNoneMatch: '*' } : { IfMatch: expect.tag }),
          ...this.#encryption(),
        }),
      );
      if (!out.ETag) throw new BackendError('io', `cannot upload ${what}: the server returned no ETag`);
      return out.ETag;
    } catch (err) {
      // If-Match on a key that is gone: 404
      if (isConditionFailed(err) || (expect !== 'absent' && isMissing(err))) return null;
      throw err instanceof BackendError ? err : this.#error(err, 'upload', what);
    }
  }

  async #removeIf(name: string, tag: string): Promise<boolean> {
    const what = objectUrl(this.#loc, name);
    const { sdk, client } = await this.#client('delete', what);
    try {
      await client.send(new sdk.DeleteObjectCommand({ Bucket: this.#loc.bucket, Key: this.#key(name), IfMatch: tag }));
      return true;
    } catch (err) {
      if (isConditionFailed(err) || isMissing(err)) return false;
      throw this.#error(err, 'delete', what);
    }
  }

  // --- uploads ---------------------------------------------------------------------------------

  async #singleUpload(
    localPath: string,
    key: string,
    what: string,
    storageClass: string,
    sums: FileChecksums,
  ): Promise<string | undefined> {
    const { sdk, client } = await this.#client('upload', what);
    const checksum = crc32cBase64(sums.crc32c);
    const out = await withRetries(this.#retryOptions(what), async () => {
      const body = createReadStream(localPath);
      try {
        const res = await client.send(
          new sdk.PutObjectCommand({
            Bucket: this.#loc.bucket,
            Key: key,
            Body: body,
            ContentLength: sums.size,
            ContentType: 'application/octet-stream',
            // the algorithm is named too, so that servers store the value (the SDK sends ours as is)
            ChecksumAlgorithm: 'CRC32C',
            ChecksumCRC32C: checksum,
            StorageClass: storageClass as S3.StorageClass,
            // names are never overwritten: S3 refuses (412) when the key exists
            IfNoneMatch: '*',
            ...this.#encryption(),
          }),
        );
        checkReturnedChecksum(res.ChecksumCRC32C, checksum, what);
        return res;
      } finally {
        body.destroy();
      }
    }).catch(async (err: unknown) => {
      if (isConditionFailed(err)) return { ETag: await this.#sameBytesStored(client, sdk, key, what, sums.size, checksum) };
      throw this.#error(err, 'upload', what);
    });
    return out.ETag;
  }

  /**
   * After a 412 on an upload: a retry whose first try did store the object (the answer was lost)
   * finds our own bytes, which is success; anything else is another writer's object, left as it is.
   */
  async #sameBytesStored(
    client: S3.S3Client,
    sdk: Sdk,
    key: string,
    what: string,
    size: number,
    checksum: string,
  ): Promise<string | undefined> {
    const head = await this.#send('check', what, () =>
      client.send(new sdk.HeadObjectCommand({ Bucket: this.#loc.bucket, Key: key, ChecksumMode: 'ENABLED' })),
    );
    if (head.ContentLength === size && head.ChecksumCRC32C?.split('-')[0] === checksum) return head.ETag;
    throw new BackendError('exists', `${what} already exists; it is never replaced`);
  }

  async #multipartUpload(
    localPath: string,
    key: string,
    what: string,
    storageClass: string,
    sums: FileChecksums,
  ): Promise<string | undefined> {
    const { sdk, client } = await this.#client('upload', what);
    const full = crc32cBase64(sums.crc32c);
    const created = await this.#send('upload', what, () =>
      client.send(
        new sdk.CreateMultipartUploadCommand({
          Bucket: this.#loc.bucket,
          Key: key,
          ContentType: 'application/octet-stream',
          StorageClass: storageClass as S3.StorageClass,
          ChecksumAlgorithm: 'CRC32C',
          ChecksumType: 'FULL_OBJECT',
          ...this.#encryption(),
        }),
      ),
    );
    const uploadId = created.UploadId;
    if (!uploadId) throw new BackendError('io', `cannot upload ${what}: the server started no multipart upload`);
    this.#openUploads.set(key, uploadId);
    try {
      const etags = await this.#uploadParts(sdk, client, localPath, key, uploadId, what, sums.parts);
      const parts = sums.parts.map((p, i) => ({ PartNumber: p.number, ETag: etags[i]!, ChecksumCRC32C: crc32cBase64(p.crc32c) }));
      let etag: string | undefined;
      let stored: string | undefined;
      try {
        const done = await client.send(
          new sdk.CompleteMultipartUploadCommand({
            Bucket: this.#loc.bucket,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts },
            ChecksumCRC32C: full,
            ChecksumType: 'FULL_OBJECT',
            MpuObjectSize: sums.size,
            IfNoneMatch: '*',
          }),
        );
        etag = done.ETag;
        stored = done.ChecksumCRC32C;
      } catch (err) {
        if (isConditionFailed(err)) {
          await this.#abort(sdk, client, key, uploadId);
          return await this.#sameBytesStored(client, sdk, key, what, sums.size, full);
        }
        // a retried Complete whose first try did complete finds the upload gone: the object tells
        if (
          (err as { name?: string }).name !== 'NoSuchUpload' ||
          ((err as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1) < 2
        )
          throw err;
      }
      this.#openUploads.delete(key);
      if (stored === undefined) {
        const head = await this.#send('check', what, () =>
          client.send(new sdk.HeadObjectCommand({ Bucket: this.#loc.bucket, Key: key, ChecksumMode: 'ENABLED' })),
        );
        if (head.ContentLength !== sums.size)
          throw new BackendError('io', `uploaded ${what} but the server stored ${head.ContentLength} bytes, not ${sums.size}`);
        stored = head.ChecksumCRC32C;
        etag ??= head.ETag;
      }
      if (stored !== undefined && stored.split('-')[0] !== full) {
        throw new BackendError(
          'io',
          `uploaded ${what} but the server's CRC32C ${stored} differs from the file's ${full}: the object is corrupt`,
        );
      }
      return etag;
    } catch (err) {
      if (this.#openUploads.get(key) === uploadId) {
        await this.#abort(sdk, client, key, uploadId);
      }
      throw this.#error(err, 'upload', what);
    }
  }

  /** Parts in order of number, `partConcurrency` at a time; the first failure stops new parts. */
  async #uploadParts(
    sdk: Sdk,
    client: S3.S3Client,
    localPath: string,
    key: string,
    uploadId: string,
    what: string,
    parts: readonly FilePart[],
  ): Promise<string[]> {
    const etags: string[] = new Array(parts.length);
    let next = 0;
    let failure: unknown = null;
    const worker = async (): Promise<void> => {
      while (failure === null && next < parts.length) {
        const part = parts[next++]!;
        try {
          etags[part.number - 1] = await this.#uploadPart(sdk, client, localPath, key, uploadId, what, part);
        } catch (err) {
          failure ??= err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#settings.partConcurrency, parts.length) }, worker));
    if (failure !== null) throw failure;
    return etags;
  }

  async #uploadPart(
    sdk: Sdk,
    client: S3.S3Client,
    localPath: string,
    key: string,
    uploadId: string,
    what: string,
    part: FilePart,
  ): Promise<string> {
    const checksum = crc32cBase64(part.crc32c);
    const label = `${what} part ${part.number}`;
    return withRetries(this.#retryOptions(label), async () => {
      const body = createReadStream(localPath, { start: part.offset, end: part.offset + part.length - 1 });
      try {
        const res = await client.send(
          new sdk.UploadPartCommand({
            Bucket: this.#loc.bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: part.number,
            Body: body,
            ContentLength: part.length,
            ChecksumAlgorithm: 'CRC32C',
            ChecksumCRC32C: checksum,
          }),
        );
        checkReturnedChecksum(res.ChecksumCRC32C, checksum, label);
        if (!res.ETag) throw new BackendError('io', `cannot upload ${label}: the server returned no ETag`);
        return res.ETag;
      } finally {
        body.destroy();
      }
    });
  }

  async #abort(sdk: Sdk, client: S3.S3Client, key: string, uploadId: string): Promise<void> {
    try {
      await client.send(new sdk.AbortMultipartUploadCommand({ Bucket: this.#loc.bucket, Key: key, UploadId: uploadId }));
      this.#notes.debug(`Aborted the multipart upload of s3://${this.#loc.bucket}/${key}`);
    } catch (err) {
      if ((err as { name?: string }).name !== 'NoSuchUpload') {
        this.#notes.warning(
          `could not abort the multipart upload of s3://${this.#loc.bucket}/${key} (id ${uploadId}): ${(err as Error).message}; a bucket lifecycle rule AbortIncompleteMultipartUpload removes such parts`,
        );
        return;
      }
    } finally {
      this.#openUploads.delete(key);
    }
  }

  #encryption(): Partial<S3.PutObjectRequest> {
    const sse = this.#settings.serverSideEncryption;
    if (!sse) return {};
    if (sse.kind === 'AES256') return { ServerSideEncryption: 'AES256' };
    return {
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: sse.keyId,
      ...(sse.grantFullControl !== undefined ? { GrantFullControl: sse.grantFullControl } : {}),
    };
  }

  // --- plumbing --------------------------------------------------------------------------------

  #key(name: string): string {
    if (name.length === 0 || name.includes('\0')) throw new BackendError('config', `invalid remote file name ${JSON.stringify(name)}`);
    return `${this.#loc.prefix}${name}`;
  }

  #retryOptions(what: string) {
    return {
      maxAttempts: this.#settings.maxAttempts,
      maxBackoffMs: this.#settings.maxBackoffMs,
      onRetry: (err: unknown, attempt: number, delay: number) => {
        this.#accounting.retried();
        this.#notes.debug(`${what}: try ${attempt} failed (${(err as Error).name}: ${(err as Error).message}); retrying in ${delay} ms`);
      },
    };
  }

  /** Sends one SDK request (the SDK retries it) and maps its failure to a BackendError. */
  async #send<T>(action: string, what: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (err) {
      throw this.#error(err, action, what);
    }
  }

  #error(err: unknown, action: string, what: string): BackendError {
    const region = this.#resolvedRegion;
    return s3Error(err, {
      action,
      what,
      bucket: this.#loc.bucket,
      ...(region !== undefined ? { region } : {}),
      server: this.#settings.endpoint ?? (region !== undefined ? `AWS S3 (${region})` : 'AWS S3'),
    });
  }

  #resolvedRegion: string | undefined;

  async #client(action: string, what: string): Promise<{ sdk: Sdk; client: S3.S3Client; region: string }> {
    if (this.#closed) throw new BackendError('io', `${this.displayUrl}: the backend is closed`);
    this.#ready ??= this.#connect();
    try {
      return await this.#ready;
    } catch (err) {
      this.#ready = null;
      throw this.#error(err, action, what);
    }
  }

  async #connect(): Promise<{ sdk: Sdk; client: S3.S3Client; region: string }> {
    const sdk = await import('@aws-sdk/client-s3');
    const s = this.#settings;
    const region = s.region ?? (await sdkDefaultRegion(sdk)) ?? 'us-east-1';
    this.#resolvedRegion = region;
    const agent = { keepAlive: true, maxSockets: 64 };
    const client = new sdk.S3Client({
      region,
      ...(s.endpoint !== undefined ? { endpoint: s.endpoint, forcePathStyle: true } : {}),
      maxAttempts: s.maxAttempts,
      retryMode: 'standard',
      // we send precomputed CRC-32C values ourselves; the SDK's own CRC32 would be redundant
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_SUPPORTED',
      followRegionRedirects: false,
      requestHandler: { connectionTimeout: s.timeoutMs, socketTimeout: s.timeoutMs, httpAgent: agent, httpsAgent: agent },
      // the SDK's notes (e.g. that a streamed upload is not retried by it: we retry those) go to debug
      logger: sdkLogger(this.#notes),
    });
    const accounting = this.#accounting;
    client.middlewareStack.add(
      ((next: (args: MiddlewareArgs) => Promise<unknown>, context: { commandName?: string }) => async (args: MiddlewareArgs) => {
        const attempt = /attempt=(\d+)/.exec(args.request?.headers?.['amz-sdk-request'] ?? '')?.[1];
        accounting.request(requestTypeOf(context.commandName), attempt !== undefined && Number(attempt) > 1);
        try {
          return await next(args);
        } catch (err) {
          accounting.failure();
          throw err;
        }
      }) as never, // typed loosely: only commandName and the request headers are read
      { step: 'finalizeRequest', priority: 'low', name: 'permafrostRequestAccounting' },
    );
    return { sdk, client, region };
  }

  async #log(record: UploadRecord): Promise<void> {
    const file = this.#settings.uploadLog;
    if (file === undefined) return;
    try {
      await fsp.appendFile(file, `${JSON.stringify(record)}\n`);
    } catch (err) {
      this.#notes.warning(`cannot record the checksum of ${record.name} in ${file}: ${(err as Error).message}`);
    }
  }
}

function sdkLogger(notes: S3Notes) {
  const note = (...args: unknown[]) => notes.debug(`AWS SDK: ${args.map(String).join(' ')}`);
  return { trace: () => {}, debug: () => {}, info: () => {}, warn: note, error: note };
}

interface MiddlewareArgs {
  request?: { headers?: Record<string, string> };
}

/** The region the SDK would pick by itself (AWS_REGION, the profile's region), if any. */
async function sdkDefaultRegion(sdk: Sdk): Promise<string | undefined> {
  const probe = new sdk.S3Client({});
  try {
    const r = await probe.config.region();
    return r || undefined;
  } catch {
    return undefined;
  } finally {
    probe.destroy();
  }
}

/**
 * `x-amz-restore` (docs/glacier-semantics.md §3.2): `ongoing-request="true"`, or `ongoing-request="false",
 * expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"`. Anything else is not a restore state we know.
 */
export function parseRestoreHeader(value: string): RestoreState | undefined {
  const m = /ongoing-request="(true|false)"(?:,\s*expiry-date="([^"]+)")?/.exec(value);
  if (!m) return undefined;
  if (m[1] === 'true') return { ongoing: true };
  const expiry = m[2] !== undefined ? Date.parse(m[2]) : Number.NaN;
  return Number.isFinite(expiry) ? { ongoing: false, expiry: Math.floor(expiry / 1000) } : { ongoing: false };
}

/** 412, or 409 ConditionalRequestConflict (two conditional writes to one key at once): the other writer won. */
function isConditionFailed(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'PreconditionFailed' || e.name === 'ConditionalRequestConflict' || e.$metadata?.httpStatusCode === 412;
}

function isMissing(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || (e.name !== 'NoSuchBucket' && e.$metadata?.httpStatusCode === 404);
}

/** S3 echoes the checksum it verified; a different value means it stored different bytes. */
function checkReturnedChecksum(returned: string | undefined, sent: string, what: string): void {
  if (returned !== undefined && returned !== sent) {
    throw Object.assign(new Error(`${what}: the server computed CRC32C ${returned}, the file has ${sent}`), { name: 'BadDigest' });
  }
}
