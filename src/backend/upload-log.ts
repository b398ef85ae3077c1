import { createReadStream } from 'node:fs';
import type { UploadedObject } from './backend.ts';

/** The parts of an upload log line that a check needs; other fields are ignored. */
export interface LoggedUpload extends UploadedObject {
  readonly bucket: string;
  readonly key: string;
}

/**
 * Reads the upload log (one JSON object per line, appended by the S3 backend) and keeps, per
 * bucket and key, the newest record: a name uploaded again replaces the earlier object. Lines that
 * are not well-formed records (a run killed mid-append, a hand edit) are skipped, and counted. A
 * missing log is empty: a lost cache loses the records, not the backup.
 */
export async function readUploadLog(file: string): Promise<{ records: Map<string, LoggedUpload>; skipped: number }> {
  const records = new Map<string, LoggedUpload>();
  let skipped = 0;
  const input = createReadStream(file, { encoding: 'utf8' });
  const opened = new Promise<boolean>((resolve, reject) => {
    input.once('open', () => resolve(true));
    input.once('error', (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? resolve(false) : reject(err)));
  });
  if (!(await opened)) return { records, skipped };
  // imported here: file:// runs, which never read this log, do not load node:readline
  const { createInterface } = await import('node:readline');
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    if (line.trim() === '') continue;
    const record = parseLine(line);
    if (record) records.set(`${record.bucket}/${record.key}`, record);
    else skipped++;
  }
  return { records, skipped };
}

function parseLine(line: string): LoggedUpload | null {
  // a log line is a few hundred bytes; anything far larger is not ours
  if (line.length > 64 * 1024) return null;
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const r = v as Record<string, unknown>;
  const { bucket, key, size, storageClass, checksum, checksumAlgorithm } = r;
  if (typeof bucket !== 'string' || typeof key !== 'string' || typeof storageClass !== 'string' || typeof checksum !== 'string')
    return null;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return null;
  if (checksumAlgorithm !== 'CRC32C') return null;
  return { bucket, key, size, storageClass, crc32c: checksum };
}
