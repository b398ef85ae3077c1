import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BackendError } from '../../src/backend/backend.ts';
import { LockedError } from '../../src/archive/metadata-cache.ts';
import { exitReportFor } from '../../src/cli/exit.ts';
import { helpText } from '../../src/cli/help.ts';

test('a held lock exits 23, a write that would replace an object 24, each with its one line', () => {
  const locked = exitReportFor(new LockedError('another permafrost run (pid 7) holds the lock /c/permafrost.lock'));
  assert.deepEqual(
    { code: locked.code, message: locked.message },
    { code: 23, message: 'another permafrost run (pid 7) holds the lock /c/permafrost.lock' },
  );
  const exists = exitReportFor(new BackendError('exists', 'file:///t: vol1 already exists; it is never replaced'));
  assert.deepEqual(
    { code: exists.code, message: exists.message },
    { code: 24, message: 'file:///t: vol1 already exists; it is never replaced' },
  );
  assert.match(helpText(), /^ +24 {2}a write would replace an object at the target/m);
});
