/**
 * A mistyped command gets "did you mean ...?" (exit 2) when the word is close to a command and is
 * not an existing directory; a directory of that name stays a backup source, as in duplicity.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ParseContext } from '../../src/command-line/cli-options.ts';
import { parseCommandLine } from '../../src/command-line/parse-command-line.ts';
import { UsageError } from '../../src/command-line/usage-error.ts';
import { editDistance, suggestVerb } from '../../src/command-line/verb-suggestion.ts';
import { tmpDir } from '../support/tmp.ts';

const URL = 'file:///backups/x';
const noDirectories = { env: { HOME: '/home/u' }, isDirectory: () => false };

function refusal(argv: string[], context: ParseContext = noDirectories): string {
  try {
    parseCommandLine(argv, context);
  } catch (err) {
    assert.ok(err instanceof UsageError, String(err));
    assert.equal(err.exitCode, 2);
    return err.message;
  }
  return assert.fail(`${argv.join(' ')} was accepted`);
}

test('edit distance counts a swap of neighbours as one edit', () => {
  assert.equal(editDistance('restroe', 'restore'), 1);
  assert.equal(editDistance('colection-status', 'collection-status'), 1);
  assert.equal(editDistance('', 'full'), 4);
  assert.equal(editDistance('verify', 'verify'), 0);
});

test('typos of a command, of a full name or of an abbreviation, name the command', () => {
  const cases: [string[], string][] = [
    [['colection-status', URL], 'collection-status'],
    [['colection', URL], 'collection-status'],
    [['verfy', URL, '/src'], 'verify'],
    [['restroe', URL, '/dst'], 'restore'],
    [['fulll', '/src', URL], 'full'],
    [['icnremental', '/src', URL], 'incremental'],
    [['list-curent-files', URL], 'list-current-files'],
    [['cleanupp', URL], 'cleanup'],
    [['thaww', URL], 'thaw'],
    [['estimat', '/src'], 'estimate'],
  ];
  for (const [argv, meant] of cases) {
    assert.equal(refusal(argv), `Command line error: unknown command "${argv[0]}": did you mean "${meant}"?`, argv.join(' '));
  }
});

test('words far from every command, paths and URLs stay positionals', () => {
  for (const word of ['data', 'src', 'backup', 'srv', 'home', 'photos', 'mnt'])
    assert.equal(suggestVerb(word, ['full', 'verify', 'restore', 'thaw', 'collection-status', 'cleanup']), undefined, word);
  assert.equal(parseCommandLine(['data', URL], noDirectories).localPath, 'data');
  assert.equal(parseCommandLine(['./fulll', URL], noDirectories).localPath, './fulll');
  assert.equal(parseCommandLine(['/srv/verfy', URL], noDirectories).localPath, '/srv/verfy');
  assert.equal(parseCommandLine([URL, 'restroe'], noDirectories).verb, 'restore');
});

test('an existing directory with a command-like name is the backup source', (t) => {
  const cwd = process.cwd();
  const dir = tmpDir(t, 'verb-like-dir');
  mkdirSync(join(dir, 'colection-status'));
  process.chdir(dir);
  t.after(() => process.chdir(cwd));
  const cmd = parseCommandLine(['colection-status', URL], { env: { HOME: '/home/u' } });
  assert.equal(cmd.verb, 'backup');
  assert.equal(cmd.localPath, 'colection-status');
  // without the directory the same words are a typo
  assert.match(refusal(['verfy', URL, 'x'], { env: { HOME: '/home/u' } }), /did you mean "verify"\?$/);
});
