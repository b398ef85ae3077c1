import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Backend } from './backend.ts';
import { FileBackend } from './file-backend.ts';
import { S3Backend, type S3Notes } from './s3-backend.ts';
import type { S3Settings } from './s3-settings.ts';
import { parseS3Url, S3UrlError, type S3Location } from './s3-url.ts';

export type TargetUrl =
  | { readonly scheme: 'file'; readonly path: string; readonly raw: string }
  | { readonly scheme: 's3'; readonly location: S3Location; readonly raw: string };

export class TargetUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetUrlError';
  }
}

/** True when an argument looks like a URL rather than a local path (duplicity's rule for verb-less commands). */
export function looksLikeUrl(arg: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(arg);
}

/**
 * Parses a target URL as typed. `file://relative/path` is relative to the working directory, as in
 * duplicity; `file:///abs` is absolute. Percent-escapes are decoded for absolute file URLs.
 */
export function parseTargetUrl(raw: string): TargetUrl {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s.exec(raw);
  if (!m) throw new TargetUrlError(`not a URL: ${JSON.stringify(raw)} (expected e.g. file:///path or boto3+s3://bucket/prefix)`);
  const scheme = m[1]!.toLowerCase();
  const rest = m[2]!;
  if (scheme === 'file') {
    if (rest.length === 0) throw new TargetUrlError(`file URL without a path: ${JSON.stringify(raw)}`);
    let p: string;
    if (rest.startsWith('/')) {
      try {
        p = fileURLToPath(`file://${rest.replace(/[?#]/g, encodeURIComponent)}`);
      } catch {
        throw new TargetUrlError(`cannot parse file URL ${JSON.stringify(raw)}`);
      }
    } else {
      p = path.resolve(rest);
    }
    return { scheme: 'file', path: p, raw };
  }
  if (scheme === 's3' || scheme === 'boto3+s3' || scheme === 's3+http') {
    try {
      return { scheme: 's3', location: parseS3Url(raw), raw };
    } catch (err) {
      if (err instanceof S3UrlError) throw new TargetUrlError(err.message);
      throw err;
    }
  }
  throw new TargetUrlError(`unsupported URL scheme "${scheme}://" in ${JSON.stringify(raw)} (supported: file://, boto3+s3://, s3://)`);
}

/** What an S3 target needs besides its URL; file:// targets need nothing. */
export interface S3Options {
  readonly settings: S3Settings;
  readonly notes: S3Notes;
}

export function openBackend(url: TargetUrl, s3?: S3Options): Backend {
  if (url.scheme === 'file') return new FileBackend(url.path, url.raw);
  if (!s3) throw new TargetUrlError(`no S3 settings given for ${url.raw}`);
  return new S3Backend(url.location, s3.settings, url.raw, s3.notes);
}
