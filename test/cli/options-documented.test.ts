/**
 * The option table, docs/options.md and `--help` agree: what its table names exists,
 * and every option of permafrost's own (duplicity's are documented by duplicity) is described in
 * both places, so a new option cannot ship undocumented.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { knownLongOptions, ownLongOptions } from '../../src/cli/command-line.ts';
import { helpText } from '../../src/cli/help.ts';

const OPTIONS_CHAPTER = readFileSync(new URL('../../docs/options.md', import.meta.url), 'utf8');
/** The whole user documentation: README.md and the docs/ chapters. */
const ALL_DOCS = [
  'README.md',
  ...readdirSync(new URL('../../docs/', import.meta.url))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
]
  .map((f) => readFileSync(new URL(`../../${f}`, import.meta.url), 'utf8'))
  .join('\n');
const LONG_OPTION = /--[a-z0-9][a-z0-9-]*[a-z0-9](?![a-z0-9*-])/g;

/** The option names in the rows of docs/options.md table; `--s3-*` stands for a family and is left out. */
function readmeOptionsTable(): Set<string> {
  const start = OPTIONS_CHAPTER.indexOf('# Options\n');
  const next = OPTIONS_CHAPTER.indexOf('\n## ', start + 1);
  const end = next < 0 ? OPTIONS_CHAPTER.length : next;
  assert.ok(start >= 0 && end > start, 'docs/options.md has its "# Options" chapter');
  const rows = OPTIONS_CHAPTER.slice(start, end)
    .split('\n')
    .filter((line) => line.startsWith('| `'));
  assert.ok(rows.length > 20, 'docs/options.md has its table');
  return new Set(rows.join('\n').match(LONG_OPTION));
}

/** Own options that are documented elsewhere on purpose, with the reason. */
const NOT_IN_OPTIONS_TABLE: Record<string, string> = {
  '--passphrase': 'exists only to refuse a passphrase on the command line (docs/encryption.md)',
  '--s3-storage-class': 'duplicity 2.x\'s option, one of the `--s3-*` row (docs/s3-and-glacier.md "Storage classes")',
};
const NOT_IN_HELP: Record<string, string> = {
  '--passphrase': 'exists only to refuse a passphrase on the command line',
};

test('every option docs/options.md names is one the parser accepts', () => {
  const known = new Set(knownLongOptions());
  const unknown = [...readmeOptionsTable()].filter((o) => !known.has(o));
  assert.deepEqual(unknown, []);
});

test("every option of permafrost's own is in docs/options.md and in --help", () => {
  const own = ownLongOptions();
  assert.ok(own.includes('--thaw') && own.includes('--compress-level'), own.join(' '));
  const table = readmeOptionsTable();
  const help = new Set(helpText().match(LONG_OPTION));
  assert.deepEqual(
    own.filter((o) => !table.has(o) && !(o in NOT_IN_OPTIONS_TABLE)),
    [],
    'missing from docs/options.md',
  );
  assert.deepEqual(
    own.filter((o) => !help.has(o) && !(o in NOT_IN_HELP)),
    [],
    'missing from --help',
  );
  for (const o of [...Object.keys(NOT_IN_OPTIONS_TABLE), ...Object.keys(NOT_IN_HELP)]) {
    assert.ok(own.includes(o), `${o} is exempted but is not an own option`);
    assert.ok(ALL_DOCS.includes(`\`${o}`), `${o} is described somewhere in README.md or docs/`);
  }
});
