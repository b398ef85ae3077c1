/**
 * Where an S3 target lives, from its URL as duplicity reads it (docs/duplicity-format.md §8.1):
 *
 * - `boto3+s3://bucket/a/b` and `s3+http://bucket/a/b`: bucket `bucket`, key prefix `a/b/`.
 * - `s3://bucket/a/b`: the same (duplicity 2.x and later read `s3://` so).
 * - `s3://host[:port]/bucket/a/b`: duplicity 0.8.22's boto form, with the server's host first.
 *   The first component is taken as a host when it has a port, contains a dot or is `localhost`
 *   (bucket names rarely contain dots; a dotted bucket is written `boto3+s3://my.bucket/...`).
 *
 * Empty components are dropped (`//b//x/` is `b` with prefix `x/`), and the path after the first
 * component is percent-decoded before it is split, as duplicity does.
 */
export interface S3Location {
  readonly bucket: string;
  /** '' or a prefix ending in '/': keys are prefix + remote file name */
  readonly prefix: string;
  /** A server named in the URL (the `s3://host/bucket` form), else undefined. */
  readonly host?: S3Host;
}

export interface S3Host {
  readonly hostname: string;
  readonly port?: number;
  /** Set when the host is one of AWS's own S3 endpoints (the SDK then resolves the endpoint). */
  readonly aws: boolean;
  /** The region an AWS host names (`s3.eu-west-1.amazonaws.com`, `s3-eu-west-1.amazonaws.com`). */
  readonly awsRegion?: string;
}

export class S3UrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'S3UrlError';
  }
}

const SCHEMES = new Set(['s3', 'boto3+s3', 's3+http']);

export function isS3Scheme(scheme: string): boolean {
  return SCHEMES.has(scheme.toLowerCase());
}

export function parseS3Url(raw: string): S3Location {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^?#]*)([?#].*)?$/s.exec(raw);
  if (!m || !isS3Scheme(m[1]!)) throw new S3UrlError(`not an S3 URL: ${JSON.stringify(raw)} (expected boto3+s3://bucket/prefix)`);
  if (m[3] !== undefined) throw new S3UrlError(`S3 URLs take no query or fragment: ${JSON.stringify(raw)}`);
  const scheme = m[1]!.toLowerCase();
  const rest = m[2]!;
  const authority = rest.split('/', 1)[0]!;
  if (authority.includes('@')) {
    throw new S3UrlError(
      `credentials in S3 URLs are not supported (${scheme}://…@…): use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or a role`,
    );
  }
  // as duplicity: the part after `//` up to the first `/` is kept as typed, the rest is percent-decoded
  const slash = rest.indexOf('/');
  let path: string;
  try {
    path = slash < 0 ? '' : decodeURIComponent(rest.slice(slash));
  } catch {
    throw new S3UrlError(`bad percent-escape in ${JSON.stringify(raw)}`);
  }
  const parts = [authority, ...path.split('/')].filter((p) => p !== '');
  let host: S3Host | undefined;
  if (scheme === 's3' && authority !== '' && looksLikeHost(authority)) {
    host = parseHost(authority, raw);
    parts.shift();
  }
  const bucket = parts.shift();
  if (bucket === undefined)
    throw new S3UrlError(`no bucket in ${JSON.stringify(raw)} (expected ${scheme}://${host ? `${authority}/` : ''}bucket/prefix)`);
  const prefix = parts.length > 0 ? `${parts.join('/')}/` : '';
  return host ? { bucket, prefix, host } : { bucket, prefix };
}

function looksLikeHost(authority: string): boolean {
  return /:\d*$/.test(authority) || authority.includes('.') || authority.toLowerCase() === 'localhost' || authority.startsWith('[');
}

function parseHost(authority: string, raw: string): S3Host {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+)(?::(\d+))?$/.exec(authority);
  if (!m) throw new S3UrlError(`cannot read the host in ${JSON.stringify(raw)}`);
  const hostname = m[1]!.toLowerCase();
  const port = m[2] !== undefined ? Number(m[2]) : undefined;
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535))
    throw new S3UrlError(`bad port in ${JSON.stringify(raw)}`);
  const aws = /(^|\.)amazonaws\.com(\.cn)?$/.test(hostname);
  const region = aws ? /^s3[.-](?:dualstack\.)?([a-z]{2}(?:-gov)?-[a-z]+-\d)\.amazonaws\.com(?:\.cn)?$/.exec(hostname)?.[1] : undefined;
  return { hostname, ...(port !== undefined ? { port } : {}), aws, ...(region !== undefined ? { awsRegion: region } : {}) };
}

/** `s3://bucket/prefix/` for messages (the server is named separately). */
export function objectUrl(loc: S3Location, name = ''): string {
  return `s3://${loc.bucket}/${loc.prefix}${name}`;
}
