/**
 * The upload log reader: the newest record per bucket and key wins, lines that are not records
 * (a run killed mid-append, garbage, another algorithm) are skipped and counted, a missing log is
 * empty. The records are written here by hand in the S3 backend's documented line format.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readUploadLog } from '../../src/backend/upload-log.ts';
import { tmpDir } from '../support/tmp.ts';

const line = (key: string, size: number, checksum: string, extra: object = {}) =>
  JSON.stringify({
    name: key.split('/').pop(),
    bucket: 'b',
    key,
    size,
    storageClass: 'DEEP_ARCHIVE',
    checksumAlgorithm: 'CRC32C',
    checksumType: 'FULL_OBJECT',
    checksum,
    parts: 1,
    uploadedAt: '2026-11-27T00:00:00.000Z',
    ...extra,
  });

describe('readUploadLog', () => {
  it('keeps the newest record per key and skips what is not a record', async (t) => {
    const file = join(tmpDir(t, 'upload-log'), 'permafrost-uploads.jsonl');
    writeFileSync(
      file,
      [
        line('p/a.difftar', 10, 'AAAAAA=='),
        line('p/b.difftar', 20, 'BBBBBB=='),
        '',
        'not json',
        JSON.stringify({ bucket: 'b', key: 'p/c', size: -1, storageClass: 'STANDARD', checksumAlgorithm: 'CRC32C', checksum: 'x' }),
        line('p/d.difftar', 5, 'DDDDDD==', { checksumAlgorithm: 'SHA256' }),
        line('p/a.difftar', 11, 'AAAAAB=='),
        '{"bucket":"b","key":"p/e.difftar","si', // cut short by a kill
      ].join('\n'),
    );
    const { records, skipped } = await readUploadLog(file);
    assert.equal(skipped, 4);
    assert.deepEqual([...records.keys()].sort(), ['b/p/a.difftar', 'b/p/b.difftar']);
    assert.deepEqual(records.get('b/p/a.difftar'), {
      bucket: 'b',
      key: 'p/a.difftar',
      size: 11,
      storageClass: 'DEEP_ARCHIVE',
      crc32c: 'AAAAAB==',
    });
  });

  it('a missing log is empty', async (t) => {
    const { records, skipped } = await readUploadLog(join(tmpDir(t, 'upload-log'), 'none.jsonl'));
    assert.deepEqual([records.size, skipped], [0, 0]);
  });
});
