/**
 * A command substitution in OPTIONS or OPTIONS_EXTRA that fails stops the job (and `dup`) with
 * its name and stderr, instead of leaving an empty word: `archive-$(hostname -f)-` must never
 * become `archive--`. The expansion runs in the real /bin/sh.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandOptions, jobCommand } from '../../src/daemon/job-command.ts';
import { markSubstitutions } from '../../src/daemon/substitutions.ts';

const ENV = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: '/home/x' };
/** What `hostname -f` says and does without a resolvable name. */
const NO_NAME = `$(echo 'hostname: Name or service not known' >&2; exit 1)`;

test('markSubstitutions finds the top-level $(...) and backquotes, not those in single quotes nor arithmetic', () => {
  assert.deepEqual(markSubstitutions(`a-$(hostname -f)- "x $(date "+%Y") y" '$(no)' $((1+2)) \`id -u\` $(echo $(inner))`).found, [
    '$(hostname -f)',
    '$(date "+%Y")',
    '`id -u`',
    '$(echo $(inner))',
  ]);
  assert.deepEqual(markSubstitutions('$(echo ")" \')\' \\)) tail').found, ['$(echo ")" \')\' \\))']);
  assert.deepEqual(markSubstitutions('no $(end').found, [], 'unbalanced: left to the shell');
});

test('a failing substitution is refused, named with its exit status and stderr', async () => {
  await assert.rejects(
    expandOptions(`--file-prefix-archive archive-${NO_NAME}-`, ENV, 'OPTIONS_EXTRA'),
    new Error(`OPTIONS_EXTRA: ${NO_NAME} failed (exit 1): hostname: Name or service not known; not run with an empty word in its place`),
  );
  await assert.rejects(expandOptions('--name "a-`false`"', ENV), /^Error: OPTIONS: `false` failed \(exit 1\);/);
  // an `exit` inside the substitution still reaches the check
  await assert.rejects(expandOptions('--name $(exit 7)', ENV), /\$\(exit 7\) failed \(exit 7\)/);
});

test('substitutions that succeed expand as before, output split at white space', async () => {
  assert.deepEqual(await expandOptions('--a archive-$(echo host)- "x $(echo y z)" `echo q` \'$(false)\' $((1+2))', ENV), [
    '--a',
    'archive-host-',
    'x',
    'y',
    'z',
    'q',
    '$(false)',
    '3',
  ]);
  // a command that succeeds with no output is not a failure
  assert.deepEqual(await expandOptions('--a x$(true)y', ENV), ['--a', 'xy']);
});

test('a job whose OPTIONS_EXTRA cannot be expanded fails with that message', async () => {
  await assert.rejects(
    jobCommand('dup $SRC $DST', {
      ...ENV,
      SRC: '/src',
      DST: 'file:///dst',
      OPTIONS: '--no-encryption',
      OPTIONS_EXTRA: `--file-prefix-archive archive-${NO_NAME}-`,
    }),
    /^Error: OPTIONS_EXTRA: \$\(echo 'hostname: Name or service not known' >&2; exit 1\) failed \(exit 1\): hostname: Name or service not known/,
  );
});
