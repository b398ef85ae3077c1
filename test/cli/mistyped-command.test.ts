/**
 * Through the CLI: `colection-status URL` ends with exit 2 and one error line naming the command
 * (then the usual pointer to --help), and writes nothing; a real directory called
 * `colection-status` is backed up as duplicity would.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PERMAFROST_BIN } from '../support/permafrost.ts';
import { tmpDir } from '../support/tmp.ts';

function permafrostIn(cwd: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [PERMAFROST_BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('a mistyped command: exit 2, did you mean, nothing written', (t) => {
  const work = tmpDir(t, 'mistyped');
  const target = join(work, 'target');
  const args = ['--no-encryption', '--archive-dir', join(work, 'cache')];
  const r = permafrostIn(work, ['colection-status', ...args, `file://${target}`]);
  assert.equal(r.code, 2, r.stderr);
  assert.deepEqual(r.stderr.split('\n'), [
    'Command line error: unknown command "colection-status": did you mean "collection-status"?',
    "Enter 'permafrost --help' for help.",
    '',
  ]);
  assert.equal(r.stdout, '');
  assert.ok(!existsSync(target) && !existsSync(join(work, 'cache')));
});

test('a directory named like a mistyped command is still a backup source', (t) => {
  const work = tmpDir(t, 'verb-like-source');
  mkdirSync(join(work, 'colection-status'));
  writeFileSync(join(work, 'colection-status', 'a.txt'), 'alpha\n');
  const target = join(work, 'target');
  const args = ['--no-encryption', '--archive-dir', join(work, 'cache')];
  const r = permafrostIn(work, ['colection-status', ...args, `file://${target}`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout + r.stderr, /Starting full backup/);
  assert.ok(readdirSync(target).some((n) => n.endsWith('.manifest')));
  const list = permafrostIn(work, ['list-current-files', ...args, `file://${target}`]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, / a\.txt$/m);
});
