/** The file:// backend, on a temporary directory, against the rules every backend keeps. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { FileBackend } from '../../src/backend/file-backend.ts';
import { tmpDir } from '../support/tmp.ts';
import { runBackendConformance } from './conformance.ts';

runBackendConformance('file://', async (t) => {
  const dir = tmpDir(t, 'conformance-file');
  return new FileBackend(dir, `file://${dir}`);
});

it('file://: a temporary file an interrupted run left is hidden from list, shown by listLeftovers, removed by delete', async (t) => {
  const dir = tmpDir(t, 'conformance-file');
  const backend = new FileBackend(dir, `file://${dir}`);
  writeFileSync(join(dir, '.permafrost-tmp-0123456789ab'), 'half a volume');
  writeFileSync(join(dir, 'duplicity-full.20260101T000000Z.manifest'), 'whole');
  assert.deepEqual(
    (await backend.list()).map((o) => o.name),
    ['duplicity-full.20260101T000000Z.manifest'],
  );
  assert.deepEqual(await backend.listLeftovers(), ['.permafrost-tmp-0123456789ab']);
  await backend.delete(['.permafrost-tmp-0123456789ab']);
  assert.deepEqual(await backend.listLeftovers(), []);
});
