/** `permafrost --version` prints package.json's version, from the built CLI and from the source. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { permafrostVersion } from '../../src/cli/version.ts';
import { PROJECT_ROOT } from '../support/duplicity.ts';
import { runPermafrost } from '../support/permafrost.ts';

const packageVersion = (JSON.parse(readFileSync(`${PROJECT_ROOT}package.json`, 'utf8')) as { version: string }).version;

test('--version prints "permafrost" and package.json\'s version, and exits 0', async () => {
  const r = await runPermafrost(['--version']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, `permafrost ${packageVersion}\n`);
  assert.equal(r.stderr, '');
});

test('the source reads the same package.json as the built CLI', () => {
  assert.match(packageVersion, /^\d+\.\d+\.\d+/);
  assert.equal(permafrostVersion(), packageVersion);
});
