/**
 * The option table, README "Options" and `--help` agree: what the README's table names exists,
 * and every option of permafrost's own (duplicity's are documented by duplicity) is described in
 * both places, so a new option cannot ship undocumented.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { knownLongOptions, ownLongOptions } from '../../src/cli/command-line.ts';
import { helpText } from '../../src/cli/help.ts';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const LONG_OPTION = /--[a-z0-9][a-z0-9-]*[a-z0-9](?![a-z0-9*-])/g;

/** The option names in the rows of README's "## Options" table; `--s3-*` stands for a family and is left out. */
function readmeOptionsTable(): Set<string> {
  const start = README.indexOf('\n## Options\n');
  const end = README.indexOf('\n## ', start + 1);
  assert.ok(start >= 0 && end > start, 'README has an "## Options" section');
  const rows = README.slice(start, end).split('\n').filter((line) => line.startsWith('| `'));
  assert.ok(rows.length > 20, 'README "## Options" has its table');
  return new Set(rows.join('\n').match(LONG_OPTION));
}

/** Own options that are documented elsewhere on purpose, with the reason. */
const NOT_IN_OPTIONS_TABLE: Record<string, string> = {
  '--passphrase': 'exists only to refuse a passphrase on the command line (README "Encryption")',
  '--s3-storage-class': 'duplicity 2.x\'s option, one of the `--s3-*` row (README "Storage classes")',
};
const NOT_IN_HELP: Record<string, string> = {
  '--passphrase': 'exists only to refuse a passphrase on the command line',
};

test('every option README "Options" names is one the parser accepts', () => {
  const known = new Set(knownLongOptions());
  const unknown = [...readmeOptionsTable()].filter((o) => !known.has(o));
  assert.deepEqual(unknown, []);
});

test("every option of permafrost's own is in README \"Options\" and in --help", () => {
  const own = ownLongOptions();
  assert.ok(own.includes('--thaw') && own.includes('--compress-level'), own.join(' '));
  const table = readmeOptionsTable();
  const help = new Set(helpText().match(LONG_OPTION));
  assert.deepEqual(own.filter((o) => !table.has(o) && !(o in NOT_IN_OPTIONS_TABLE)), [], 'missing from README "Options"');
  assert.deepEqual(own.filter((o) => !help.has(o) && !(o in NOT_IN_HELP)), [], 'missing from --help');
  for (const o of [...Object.keys(NOT_IN_OPTIONS_TABLE), ...Object.keys(NOT_IN_HELP)]) {
    assert.ok(own.includes(o), `${o} is exempted but is not an own option`);
    assert.ok(README.includes(`\`${o}`), `${o} is described somewhere in README`);
  }
});
