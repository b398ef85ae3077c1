import assert from 'node:assert/strict';
import { test } from 'node:test';
import { knownLongOptions } from '../../src/cli/command-line.ts';
import { helpText } from '../../src/cli/help.ts';
import { ExitCode } from '../../src/core/errors.ts';

test('the help text lists every exit code and the commands', () => {
  const text = helpText();
  for (const [name, code] of Object.entries(ExitCode)) {
    assert.match(text, new RegExp(`^ +${code}  \\S`, 'm'), `exit code ${name}`);
  }
  for (const verb of [
    'restore',
    'verify',
    'collection-status',
    'list-current-files',
    'remove-older-than',
    'remove-all-but-n-full',
    'cleanup',
    'thaw',
  ]) {
    assert.match(text, new RegExp(`permafrost ${verb} `), verb);
  }
  assert.match(text, /README/);
  // every option the help mentions is one the parser accepts
  const known = new Set(knownLongOptions());
  const mentioned = text.match(/--[a-z0-9][a-z0-9-]*/g) ?? [];
  assert.ok(mentioned.length > 20);
  for (const opt of mentioned) assert.ok(known.has(opt), opt);
});
