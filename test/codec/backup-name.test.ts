import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { defaultBackupName } from '../../src/codec/backup-name.ts';
import { runPython } from './python-oracle.ts';

test('default cache name: the docs/duplicity-format.md §7.8 VERIFIED examples', () => {
  assert.equal(defaultBackupName('file:///srv/backup'), '018b63a28f536acd92d887ced9519d4d');
  assert.equal(defaultBackupName('file:///srv/backup/'), '9f1201731aae6399ea03b8c1208082ec');
});

test('default cache name agrees with commandline.generate_default_backup_name', () => {
  const urls = fc.sample(
    fc.oneof(
      fc.webUrl(),
      fc.string({ maxLength: 30 }).map((s) => `boto3+s3://bucket/${s.replace(/[\uD800-\uDFFF]/g, '')}`),
    ),
    { numRuns: 300, seed: 29 },
  );
  const py = runPython<string[]>(
    'from duplicity import commandline\nresult = [commandline.generate_default_backup_name(u) for u in data]',
    urls,
  );
  urls.forEach((u, i) => {
    assert.equal(defaultBackupName(u), py[i], u);
  });
});
