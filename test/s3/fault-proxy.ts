/**
 * A small HTTP proxy between the client and moto that
 * - records every request (operation, headers, body size, whether its CRC-32C header matches the
 *   bytes that arrived, computed with the SDK's own CRC-32C as an independent implementation);
 * - injects faults for the first N matching requests: S3 error answers (500 InternalError,
 *   503 SlowDown), connection resets, or a flipped byte in the body;
 * - optionally does what S3 does and moto does not: refuses a body whose CRC-32C header does not
 *   match (400 BadDigest), and answers a request signed for the wrong region like AWS.
 * Loopback only; it stops with the test.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Crc32c } from '@aws-sdk/checksums/crc';
import type { AfterHook } from '../support/tmp.ts';

export type Operation =
  | 'PutObject'
  | 'CopyObject'
  | 'UploadPart'
  | 'CreateMultipartUpload'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'ListMultipartUploads'
  | 'ListObjectsV2'
  | 'GetObject'
  | 'HeadObject'
  | 'HeadBucket'
  | 'DeleteObject'
  | 'DeleteObjects'
  | 'RestoreObject'
  | 'CreateBucket'
  | 'Other';

export interface SeenRequest {
  readonly operation: Operation;
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  readonly bodyLength: number;
  /** CRC-32C of the body as received, base64 (what S3 would compare with the header). */
  readonly bodyCrc32c: string;
  /** Whether an injected fault answered it instead of moto. */
  readonly faulted: boolean;
  /** The HTTP status the client got (set when the answer starts). */
  status?: number;
  /** Small request bodies (< 4 KiB, e.g. RestoreObject's XML) as text. */
  readonly bodyText?: string;
}

export type Fault =
  | { readonly kind: 'status'; readonly status: number; readonly code: string; readonly message?: string }
  | { readonly kind: 'reset' }
  | { readonly kind: 'corrupt' }
  /** moto's answer, cut off after half of its body: the connection breaks mid-download */
  | { readonly kind: 'truncate' };

export const INTERNAL_ERROR: Fault = {
  kind: 'status',
  status: 500,
  code: 'InternalError',
  message: 'We encountered an internal error. Please try again.',
};
export const SLOW_DOWN: Fault = { kind: 'status', status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' };
export const RESET: Fault = { kind: 'reset' };
export const CORRUPT: Fault = { kind: 'corrupt' };
export const TRUNCATE: Fault = { kind: 'truncate' };

/** What a fault rule sees of a request; `body` is the text of small bodies (RestoreObject's XML). */
export interface RequestView {
  readonly operation: Operation;
  readonly query: URLSearchParams;
  readonly path: string;
  readonly body?: string;
}

interface Rule {
  readonly match: (r: RequestView) => boolean;
  readonly fault: Fault;
  remaining: number;
}

export class FaultProxy {
  readonly endpoint: string;
  readonly requests: SeenRequest[] = [];
  /** Refuse bodies whose x-amz-checksum-crc32c does not match them, as S3 does. */
  validateChecksums = false;
  /** When set, requests signed for another region get AWS's wrong-region answer. */
  bucketRegion: { readonly region: string; readonly answer: 'AuthorizationHeaderMalformed' | 'PermanentRedirect' } | null = null;
  readonly #rules: Rule[] = [];
  readonly #close: () => Promise<void>;

  private constructor(endpoint: string, close: () => Promise<void>) {
    this.endpoint = endpoint;
    this.#close = close;
  }

  static async start(t: AfterHook, target: string): Promise<FaultProxy> {
    const upstream = new URL(target);
    let proxy: FaultProxy | null = null;
    const server = createServer((req, res) => {
      proxy!.#handle(req, res, upstream).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(502);
        res.end(String(err));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    proxy = new FaultProxy(
      `http://127.0.0.1:${port}`,
      () =>
        new Promise((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    t.after(() => proxy!.stop());
    return proxy;
  }

  /** The next `times` requests that `match` get `fault` instead of moto's answer. */
  inject(match: Operation | ((r: RequestView) => boolean), fault: Fault, times: number): void {
    const m = typeof match === 'string' ? (r: { operation: Operation }) => r.operation === match : match;
    this.#rules.push({ match: m, fault, remaining: times });
  }

  clearFaults(): void {
    this.#rules.length = 0;
  }

  /** Requests of one operation seen so far. */
  seen(operation: Operation): SeenRequest[] {
    return this.requests.filter((r) => r.operation === operation);
  }

  stop(): Promise<void> {
    return this.#close();
  }

  async #handle(req: IncomingMessage, res: ServerResponse, upstream: URL): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://proxy');
    const operation = classify(req.method ?? 'GET', url, req.headers);
    const view: RequestView = {
      operation,
      query: url.searchParams,
      path: url.pathname,
      ...(body.length > 0 && body.length < 4096 ? { body: body.toString('utf8') } : {}),
    };
    const rule = this.#rules.find((r) => r.remaining > 0 && r.match(view));
    if (rule) rule.remaining--;
    const fault = rule?.fault;
    if (fault?.kind === 'corrupt' && body.length > 0) {
      body = Buffer.from(body);
      const at = body.length >> 1;
      body[at] = body[at]! ^ 0xff;
    }
    const crc = await crc32cOf(body);
    const seen: SeenRequest = {
      operation,
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      bodyLength: body.length,
      bodyCrc32c: crc,
      faulted: fault !== undefined && fault.kind !== 'corrupt' && fault.kind !== 'truncate',
      ...(body.length > 0 && body.length < 4096 ? { bodyText: body.toString('utf8') } : {}),
    };
    this.requests.push(seen);

    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'status') {
      seen.status = fault.status;
      return sendError(res, fault.status, fault.code, fault.message ?? fault.code);
    }
    if (this.bucketRegion) {
      const signed = /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(String(req.headers['authorization'] ?? ''))?.[1];
      if (signed !== undefined && signed !== this.bucketRegion.region) {
        const { region, answer } = this.bucketRegion;
        if (answer === 'PermanentRedirect') {
          return sendError(
            res,
            301,
            'PermanentRedirect',
            'The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.',
            { 'x-amz-bucket-region': region },
          );
        }
        return sendError(
          res,
          400,
          'AuthorizationHeaderMalformed',
          `The authorization header is malformed; the region '${signed}' is wrong; expecting '${region}'`,
          { 'x-amz-bucket-region': region },
          `<Region>${region}</Region>`,
        );
      }
    }
    const sent = req.headers['x-amz-checksum-crc32c'];
    // only bodies that are object data carry their own checksum (Complete's header is the whole object's)
    const carriesData = operation === 'PutObject' || operation === 'UploadPart';
    if (this.validateChecksums && carriesData && typeof sent === 'string' && sent !== crc) {
      return sendError(res, 400, 'BadDigest', 'The CRC32C you specified did not match the calculated checksum.');
    }

    const headers = { ...req.headers, 'content-length': String(body.length) };
    await new Promise<void>((resolve, reject) => {
      const up = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (upRes) => {
        seen.status = upRes.statusCode ?? 502;
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        if (fault?.kind === 'truncate') {
          const parts: Buffer[] = [];
          upRes.on('data', (c: Buffer) => parts.push(c));
          upRes.on('end', () => {
            const all = Buffer.concat(parts);
            res.write(all.subarray(0, all.length >> 1), () => {
              req.socket.destroy();
              resolve();
            });
          });
          upRes.on('error', reject);
          return;
        }
        upRes.pipe(res);
        upRes.on('end', resolve);
        upRes.on('error', reject);
      });
      up.on('error', reject);
      up.end(body);
    });
  }
}

function classify(method: string, url: URL, headers: IncomingMessage['headers']): Operation {
  const q = url.searchParams;
  const segments = url.pathname.split('/').filter((s) => s !== '');
  const hasKey = segments.length > 1;
  switch (method) {
    case 'PUT':
      if (!hasKey) return 'CreateBucket';
      if (q.has('uploadId') && q.has('partNumber')) return 'UploadPart';
      return headers['x-amz-copy-source'] ? 'CopyObject' : 'PutObject';
    case 'POST':
      if (q.has('uploads')) return 'CreateMultipartUpload';
      if (q.has('uploadId')) return 'CompleteMultipartUpload';
      if (q.has('delete')) return 'DeleteObjects';
      if (q.has('restore')) return 'RestoreObject';
      return 'Other';
    case 'DELETE':
      if (q.has('uploadId')) return 'AbortMultipartUpload';
      return hasKey ? 'DeleteObject' : 'Other';
    case 'GET':
      if (!hasKey && q.has('uploads')) return 'ListMultipartUploads';
      if (!hasKey) return 'ListObjectsV2';
      return 'GetObject';
    case 'HEAD':
      return hasKey ? 'HeadObject' : 'HeadBucket';
    default:
      return 'Other';
  }
}

async function crc32cOf(body: Buffer): Promise<string> {
  const h = new Crc32c();
  h.update(body);
  return Buffer.from(await h.digest()).toString('base64');
}

function sendError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
  extra = '',
): void {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>${extra}<RequestId>FAULTPROXY</RequestId><HostId>fault-proxy</HostId></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml), ...headers });
  res.end(xml);
}
