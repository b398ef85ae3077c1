/**
 * Wrappers forward the optional capabilities of the backend they wrap by construction: a
 * capability the target has stays reachable through any wrapper (the thaw wrapper once dropped
 * `listLeftovers` and `uploadRecords`), one it lacks stays absent, and a wrapper's own method wins.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import {
  hasLeftovers,
  hasObjectAddressing,
  hasRequestSummary,
  hasRestore,
  hasUploadRecords,
  requestSummaryOf,
  type Backend,
  type PutOptions,
  type UploadedObject,
} from '../../src/backend/backend.ts';
import { BackendWrapper } from '../../src/backend/backend-wrapper.ts';
import { FileBackend } from '../../src/backend/file-backend.ts';
import { MemoryBackend } from '../../src/backend/memory-backend.ts';
import { backendFor } from '../s3/helpers.ts';
import { tmpDir } from '../support/tmp.ts';

/** Counts puts; changes nothing else. */
class CountingPuts extends BackendWrapper {
  puts = 0;
  override putFile(localPath: string, name: string, options: PutOptions): Promise<UploadedObject | void> {
    this.puts++;
    return this.inner.putFile(localPath, name, options);
  }
}

/** Overrides one capability: its own answer, not the target's. */
class NoLeftovers extends BackendWrapper {
  async listLeftovers(): Promise<string[]> {
    return [];
  }
}

function capabilities(b: Backend): string[] {
  const out: string[] = [];
  if (hasLeftovers(b)) out.push('leftovers');
  if (hasRequestSummary(b)) out.push('requestSummary');
  if (hasRestore(b)) out.push('restore');
  if (hasObjectAddressing(b)) out.push('objectAddressing');
  if (hasUploadRecords(b)) out.push('uploadRecords');
  return out;
}

it('a wrapper of a file:// target has its leftovers and nothing an object store has', async (t) => {
  const dir = tmpDir(t, 'wrapper-file');
  const inner = new FileBackend(dir, `file://${dir}`);
  const wrapped = new CountingPuts(new CountingPuts(inner));
  assert.deepEqual(capabilities(inner), ['leftovers']);
  assert.deepEqual(capabilities(wrapped), ['leftovers']);
  writeFileSync(join(dir, '.permafrost-tmp-0123456789ab'), 'half a volume');
  assert.ok(hasLeftovers(wrapped));
  assert.deepEqual(await wrapped.listLeftovers(), ['.permafrost-tmp-0123456789ab']);
  assert.equal(requestSummaryOf(wrapped), undefined);
  const local = join(tmpDir(t, 'wrapper-local'), 'v');
  writeFileSync(local, 'volume');
  await wrapped.putFile(local, 'duplicity-full.20260101T000000Z.vol1.difftar.gz', { role: 'volume' });
  assert.equal(wrapped.puts, 1);
  assert.deepEqual(
    (await inner.list()).map((o) => o.name),
    ['duplicity-full.20260101T000000Z.vol1.difftar.gz'],
  );
  assert.equal(wrapped.conditional, inner.conditional);
});

it("a wrapper's own capability method is used instead of the target's", async () => {
  const inner = new MemoryBackend();
  const wrapped = new NoLeftovers(inner);
  assert.ok(hasLeftovers(wrapped));
  assert.equal(wrapped.listLeftovers, NoLeftovers.prototype.listLeftovers);
});

it('a wrapper of an S3 target has all its capabilities, answered by the target', async () => {
  // nothing here sends a request: the endpoint is never contacted
  const { backend: inner } = backendFor('s3://wrapper-bucket/some/prefix', 'http://127.0.0.1:9');
  const wrapped = new CountingPuts(inner);
  assert.deepEqual(capabilities(inner), ['requestSummary', 'restore', 'objectAddressing', 'uploadRecords']);
  assert.deepEqual(capabilities(wrapped), capabilities(inner));
  assert.ok(hasObjectAddressing(wrapped));
  assert.deepEqual(
    wrapped.objectAddress('duplicity-full.20260101T000000Z.manifest'),
    inner.objectAddress('duplicity-full.20260101T000000Z.manifest'),
  );
  assert.deepEqual(requestSummaryOf(wrapped), inner.requestSummary());
  assert.ok(hasUploadRecords(wrapped));
  assert.deepEqual(await wrapped.uploadRecords(), await inner.uploadRecords());
  await wrapped.close();
});
