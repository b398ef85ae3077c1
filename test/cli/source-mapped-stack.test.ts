/**
 * The CLI runs as a bundle (dist/bundle/), yet the stack a failed run shows at debug verbosity
 * points at src/: src/cli/source-mapped-stack.ts maps each position through the bundle's source
 * maps when the stack is shown (docs/performance.md, "Start-up").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../support/duplicity.ts';
import { runPermafrost } from '../support/permafrost.ts';
import { tmpDir } from '../support/tmp.ts';

test('a stack shown at debug verbosity points at the src/ line that threw, not at the bundle', async (t) => {
  const home = tmpDir(t, 'source-stack');
  const r = await runPermafrost(
    [
      'full',
      '--verbosity',
      'debug',
      '--no-encryption',
      '--archive-dir',
      join(home, 'cache'),
      join(home, 'missing'),
      `file://${join(home, 'target')}`,
    ],
    { HOME: home },
  );
  assert.equal(r.code, 10, r.stderr);
  const shown = r.stdout + r.stderr; // the stack is a debug line, on stdout as duplicity's are
  const thrower = join(PROJECT_ROOT, 'src/ops/source-dir.ts');
  const line =
    readFileSync(thrower, 'utf8')
      .split('\n')
      .findIndex((l) => l.includes('does not exist')) + 1;
  assert.ok(line > 0);
  assert.match(shown, /^PermafrostError: source directory .* does not exist$/m);
  assert.ok(shown.includes(`at checkSourceDir (${pathToFileURL(thrower).href}:${line}:`), shown);
  assert.ok(shown.includes(`${pathToFileURL(join(PROJECT_ROOT, 'src/cli/main.ts')).href}:`), shown);
  assert.doesNotMatch(shown, /dist\/bundle|chunk-/);
});
