/**
 * Without --json, permafrost splits its output between stdout and stderr as duplicity 0.8.22's
 * log.py does (docs/output.md "What duplicity prints where"): everything up to WARNING on stdout
 * (the statistics block, the --progress lines, -v info's file lines, collection-status, the file
 * list, verify's summary), errors on stderr. Both tools run the same commands on the same tree
 * here, and each stream is checked for both, so that scripts parsing duplicity's output keep working.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileUrl, runCommand, type RunResult } from '../support/cli.ts';
import { DUP08_PATH, requireDuplicity } from '../support/duplicity.ts';
import { PERMAFROST_BIN } from '../support/permafrost.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';

const hooks = fileCleanup();

interface Tool {
  readonly name: string;
  run(args: readonly string[]): Promise<RunResult>;
}

const TOOLS: readonly Tool[] = [
  { name: 'duplicity 0.8.22', run: (args) => runCommand(DUP08_PATH, args, { expectCode: 'any' }) },
  { name: 'permafrost', run: (args) => runCommand(process.execPath, [PERMAFROST_BIN, ...args], { expectCode: 'any' }) },
];

let work: string;
let src: string;

function show(r: RunResult): string {
  return `$ ${r.command}\nexit ${r.code}\n--- stdout ---\n${r.stdout.slice(0, 3000)}\n--- stderr ---\n${r.stderr.slice(-3000)}`;
}

/** Exit 0, nothing on stderr, and stdout holding each of `lines` (a string: that whole line). */
function onStdout(r: RunResult, lines: readonly (string | RegExp)[]): void {
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stderr, '', `nothing on stderr\n${show(r)}`);
  const out = r.stdout.split('\n');
  for (const l of lines)
    assert.ok(
      out.some((o) => (typeof l === 'string' ? o === l : l.test(o))),
      `stdout lacks ${String(l)}\n${show(r)}`,
    );
}

before(() => {
  requireDuplicity();
  work = tmpDir(hooks, 'text-streams');
  src = join(work, 'src');
  mkdirSync(join(src, 'dir'), { recursive: true });
  writeFileSync(join(src, 'a.txt'), 'alpha\n');
  writeFileSync(join(src, 'dir', 'b.txt'), 'bravo\n');
});

for (const tool of TOOLS) {
  describe(`${tool.name}: the text output's streams`, { concurrency: false }, () => {
    const slug = tool.name.split(' ')[0]!;
    const url = () => fileUrl(join(work, `target-${slug}`));
    const common = () => ['--no-encryption', '--archive-dir', join(work, `cache-${slug}`), '--name', 'n'];

    it('a backup with --progress -v info: the file lines, the progress and the statistics on stdout', async () => {
      const r = await tool.run(['full', ...common(), '--progress', '-v', 'info', src, url()]);
      onStdout(r, [
        /^A dir\/b\.txt$/,
        /100%/,
        '--------------[ Backup Statistics ]--------------',
        /^StartTime \d+\.\d\d \(/,
        'Errors 0',
        '-------------------------------------------------',
      ]);
    });

    it('collection-status, list-current-files and verify --compare-data: their text on stdout', async () => {
      onStdout(await tool.run(['collection-status', ...common(), url()]), ['Collection Status', /^Last full backup date: /]);
      onStdout(await tool.run(['list-current-files', ...common(), url()]), [/ a\.txt$/, / dir\/b\.txt$/]);
      onStdout(await tool.run(['verify', '--compare-data', ...common(), url(), src]), [
        /^Verify complete: \d+ files compared, 0 differences found\.$/,
      ]);
    });

    it('errors (a restore into a directory that is not empty, a bad --time): on stderr, nothing on stdout', async () => {
      const r = await tool.run(['restore', ...common(), url(), src]);
      assert.equal(r.code, 11, show(r));
      assert.equal(r.stdout, '', show(r));
      assert.match(r.stderr, /\S/, show(r));
      const usage = await tool.run(['restore', '--time', 'garbage', ...common(), url(), join(work, 'nowhere')]);
      assert.equal(usage.code, 2, show(usage));
      assert.equal(usage.stdout, '', show(usage));
      assert.match(usage.stderr, /garbage/, show(usage));
    });
  });
}
