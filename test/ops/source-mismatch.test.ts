/**
 * duplicity's check_dirinfo, kept: an incremental from another source directory than the chain's
 * is refused (exit 42) unless --allow-source-mismatch, and nothing is written to the target.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { assertFails, assertOk, HOUR, newTarget, T0 } from '../support/pf-target.ts';

describe('an incremental from another source directory', () => {
  const pf = newTarget({ after }, 'mismatch');
  const first = join(pf.work, 'first');
  const second = join(pf.work, 'second');
  mkdirSync(first);
  mkdirSync(second);
  writeFileSync(join(first, 'a.txt'), 'one\n');
  writeFileSync(join(second, 'b.txt'), 'two\n');

  it('is refused with exit 42, naming both directories, and writes nothing', async () => {
    assertOk(await pf.run('full', '--current-time', String(T0), first, pf.url));
    const before = pf.files();
    const r = await pf.run('incremental', '--current-time', String(T0 + HOUR), second, pf.url);
    assertFails(r, 42, /backs up ".*first", not ".*second".*--allow-source-mismatch/);
    assert.deepEqual(pf.files(), before);
  });

  it('is made with --allow-source-mismatch', async () => {
    const r = await pf.run('incremental', '--allow-source-mismatch', '--current-time', String(T0 + 2 * HOUR), second, pf.url);
    assertOk(r);
    assert.ok(
      pf.files().some((n) => n.startsWith('duplicity-inc.')),
      pf.files().join('\n'),
    );
  });

  it('the same directory, written with a trailing slash, is the same source', async () => {
    assertOk(await pf.run('incremental', '--allow-source-mismatch', '--current-time', String(T0 + 3 * HOUR), first, pf.url));
    assertOk(await pf.run('incremental', '--current-time', String(T0 + 4 * HOUR), `${first}/`, pf.url));
  });
});
