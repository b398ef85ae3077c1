import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { JOURNAL_NAME, loadJournal, saveJournal } from '../../src/ops/thaw/thaw-journal.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';

const hooks = fileCleanup();
const TARGET = 'boto3+s3://bucket/host/';

test('a journal written is read back, for its own target only', async () => {
  const dir = tmpDir(hooks, 'journal');
  const warnings: string[] = [];
  const j = await loadJournal(dir, TARGET, (m) => warnings.push(m));
  assert.equal(j.volumes.size, 0);
  j.volumes.set('duplicity-full.20260101T000000Z.vol1.difftar.gz', {
    requestedAt: 1000,
    tier: 'Bulk',
    days: 3,
    requests: 1,
    state: 'requested',
  });
  j.volumes.set('duplicity-full.20260101T000000Z.vol2.difftar.gz', {
    requestedAt: 1001,
    tier: 'Standard',
    days: 3,
    requests: 2,
    state: 'restored',
    expiry: 5000,
  });
  await saveJournal(dir, j, 2000);
  assert.deepEqual(readdirSync(dir), [JOURNAL_NAME], 'no temp file left');
  const back = await loadJournal(dir, TARGET, (m) => warnings.push(m));
  assert.deepEqual([...back.volumes], [...j.volumes]);
  assert.equal(back.updatedAt, 2000);
  assert.equal((await loadJournal(dir, 'boto3+s3://other/', () => {})).volumes.size, 0, "another target's journal is not used");
  assert.deepEqual(warnings, []);
});

test('a journal that does not parse starts empty, with a warning; bad entries are dropped', async () => {
  const dir = tmpDir(hooks, 'journal-bad');
  writeFileSync(join(dir, JOURNAL_NAME), '{"version":1,"target":');
  const warnings: string[] = [];
  assert.equal((await loadJournal(dir, TARGET, (m) => warnings.push(m))).volumes.size, 0);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /does not parse/);

  writeFileSync(
    join(dir, JOURNAL_NAME),
    JSON.stringify({
      version: 1,
      target: TARGET,
      volumes: {
        good: { requestedAt: 1, tier: 'Bulk', days: 1, requests: 1, state: 'in-progress' },
        badTier: { requestedAt: 1, tier: 'Fast', days: 1, requests: 1, state: 'requested' },
        badState: { requestedAt: 1, tier: 'Bulk', days: 1, requests: 1, state: 'done' },
        notObject: 7,
      },
    }),
  );
  assert.deepEqual([...(await loadJournal(dir, TARGET, () => {})).volumes.keys()], ['good']);
  assert.match(readFileSync(join(dir, JOURNAL_NAME), 'utf8'), /badTier/, 'reading never rewrites the file');
});

test('hostile journal files never throw', async () => {
  const dir = tmpDir(hooks, 'journal-fuzz');
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.string({ maxLength: 200 }),
        fc.json({ maxDepth: 4 }).map((s) => s.replace(/^\{/, `{"version":1,"target":${JSON.stringify(TARGET)},"volumes":`)),
      ),
      async (text) => {
        writeFileSync(join(dir, JOURNAL_NAME), text);
        const j = await loadJournal(dir, TARGET, () => {});
        for (const v of j.volumes.values()) assert.ok(['requested', 'in-progress', 'restored', 'batch'].includes(v.state));
      },
    ),
    { numRuns: 300 },
  );
});
