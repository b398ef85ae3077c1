import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import fc from 'fast-check';
import { splitShellWords } from '../../src/command-line/shell-words.ts';
import { UsageError } from '../../src/command-line/usage-error.ts';

/** How /bin/sh splits `s` into arguments, or undefined when it reports a syntax error. */
function shWords(s: string): string[] | undefined {
  // The X keeps printf from printing one empty word when s yields none.
  const r = spawnSync('/bin/sh', ['-c', `printf '%s\\0' X ${s}`], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  return r.stdout.split('\0').slice(1, -1);
}

test('docker-duplicity style OPTIONS strings', () => {
  assert.deepEqual(splitShellWords('--volsize 1024  --verbosity\ti\n--log-file /l/x.log'), [
    '--volsize',
    '1024',
    '--verbosity',
    'i',
    '--log-file',
    '/l/x.log',
  ]);
  assert.deepEqual(splitShellWords(`--exclude '**/My Files' --include "/a b/\\"q\\"" x\\ y`), [
    '--exclude',
    '**/My Files',
    '--include',
    '/a b/"q"',
    'x y',
  ]);
  assert.deepEqual(splitShellWords(`'' "" a''b`), ['', '', 'ab']);
  assert.deepEqual(splitShellWords('  '), []);
  assert.deepEqual(splitShellWords('$HOME "$(date)" ~'), ['$HOME', '$(date)', '~'], 'no expansion');
  assert.deepEqual(splitShellWords('a\\\nb "c\\\nd" \'e\\\nf\''), ['ab', 'cd', 'e\\\nf'], 'backslash-newline');
  assert.deepEqual(splitShellWords('a\\'), ['a\\'], 'a final backslash stays, as in sh');
  assert.throws(() => splitShellWords(`--exclude 'open`), UsageError);
  assert.throws(() => splitShellWords('--exclude "open'), UsageError);
});

test('splits like /bin/sh for strings without expansions', () => {
  // No $, `, glob characters or leading ~: for those the shell would expand, we do not. No
  // newline either: sh would start a new command there, where we see a separator.
  const chars = fc.constantFrom('a', 'b', '-', '=', '/', ' ', ' ', '\t', "'", '"', '\\');
  fc.assert(
    fc.property(
      fc.array(chars, { maxLength: 14 }).map((a) => a.join('')),
      (s) => {
        const expected = shWords(s);
        if (expected === undefined) {
          assert.throws(() => splitShellWords(s), UsageError, JSON.stringify(s));
        } else {
          assert.deepEqual(splitShellWords(s), expected, JSON.stringify(s));
        }
      },
    ),
    { numRuns: 150 },
  );
});
