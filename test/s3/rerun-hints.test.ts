/**
 * Hints that work as printed (issue 14): with the users' guide's OPTIONS and OPTIONS_EXTRA (file
 * prefixes, --archive-dir) on moto, a restore of archived volumes exits 51 and prints a
 * `permafrost thaw --dry-run ...` command; that command, run by /bin/sh exactly as printed, plans
 * the same volumes as the thaw the user meant. Without the prefixes it carries, the same command
 * finds no backup: the check that the hint is what makes it work. The same for the hint after an
 * archived read (verify --compare-data), and for a path that needs quoting. With the same
 * options: list-current-files before the first backup (exit 12) and a mistyped command (exit 2).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { PERMAFROST_BIN } from '../support/permafrost.ts';
import { assertSameTree } from '../support/compare.ts';
import { createBucket, describe, envCredentials, hermeticEnv, runCli, thawAll, type CliResult } from './helpers.ts';

const hooks = fileCleanup();

const HOST = 'backupname';
const BUCKET = 'hint-bucket';
const URL = `boto3+s3://${BUCKET}/backup-folder`;

let moto: MotoServer;
let work: string;
let src: string;
let binDir: string;

/** The guide's OPTIONS and OPTIONS_EXTRA, as its shell expands them, plus the test server. */
function guideOptions(): string[] {
  const OPTIONS = `--s3-use-deep-archive --no-encryption --archive-dir ${work}/config --s3-use-multiprocessing --volsize 1024 --verbosity i --log-file ${work}/logs/log-20261207-120000.log --full-if-older-than 4W --asynchronous-upload`;
  const OPTIONS_EXTRA = `--s3-european-buckets --s3-multipart-chunk-size 10 --s3-use-new-style --metadata-sync-mode partial --file-prefix-archive archive-${HOST}- --file-prefix-manifest manifest-${HOST}- --file-prefix-signature signature-${HOST}-`;
  return [...OPTIONS.split(' '), ...OPTIONS_EXTRA.split(' '), '--s3-endpoint-url', moto.endpoint];
}

function env(): Record<string, string> {
  const e = hermeticEnv(envCredentials(), work);
  return { ...e, PATH: `${binDir}:${e['PATH']}` };
}

const dup = (args: readonly string[]): Promise<CliResult> => runCli([...guideOptions(), ...args], env(), 300_000);

/** `sh -c LINE` in another directory, with `permafrost` on the PATH as an installed one would be. */
function shell(line: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', line], { cwd: tmpDir(hooks, 'elsewhere'), env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
    );
  });
}

/** The command in a line `... with: permafrost ...`. */
function printedCommand(r: CliResult, lead: RegExp): string {
  const line = `${r.stderr}\n${r.stdout}`.split('\n').find((l) => lead.test(l));
  assert.ok(line, `no hint\n${describe(r)}`);
  const at = line.indexOf('permafrost ');
  assert.ok(at >= 0, line);
  return line.slice(at);
}

/** The plan lines of a thaw's text output (its first line names the target). */
function planOf(r: CliResult): string[] {
  const lines = `${r.stdout}\n${r.stderr}`.split('\n');
  const start = lines.findIndex((l) => l.startsWith('Thaw plan for '));
  assert.ok(start >= 0, describe(r));
  return lines.slice(start, start + 3);
}

before(async () => {
  moto = await startMoto(hooks);
  await createBucket(moto.endpoint, BUCKET);
  work = tmpDir(hooks, 's3-hints');
  src = join(work, 'data');
  mkdirSync(join(work, 'logs'));
  mkdirSync(join(src, 'my files'), { recursive: true });
  writeFileSync(join(src, 'a.txt'), 'alpha\n');
  writeFileSync(join(src, 'my files', "it's.txt"), 'quoted\n');
  binDir = join(work, 'bin');
  mkdirSync(binDir);
  writeFileSync(join(binDir, 'permafrost'), `#!/bin/sh\nexec '${process.execPath}' '${PERMAFROST_BIN}' "$@"\n`);
  chmodSync(join(binDir, 'permafrost'), 0o755);
  const backup = await dup([src, URL]);
  assert.equal(backup.code, 0, describe(backup));
});

test('the exit-51 hint of a restore, run as printed, plans the volumes the restore needs', async () => {
  const restore = await dup(['restore', URL, join(work, 'restored')]);
  assert.equal(restore.code, 51, describe(restore));
  const hint = printedCommand(restore, /^1 of the 1 volumes this restore reads are archived/);
  for (const word of [
    `--file-prefix-archive archive-${HOST}-`,
    `--file-prefix-manifest manifest-${HOST}-`,
    `--s3-endpoint-url ${moto.endpoint}`,
  ])
    assert.ok(hint.includes(word), `${word} missing in ${hint}`);
  assert.doesNotMatch(hint, /--log-file|--verbosity|SECRET|permafrost-test-secret/);

  const run = await shell(hint);
  assert.equal(run.code, 0, `${hint}\n${describe(run)}`);
  const reference = await dup(['thaw', '--dry-run', URL]);
  assert.equal(reference.code, 0, describe(reference));
  assert.deepEqual(planOf(run), planOf(reference));
  assert.match(planOf(run)[1]!, /reads 1 of 1 volumes/);
  assert.match(planOf(run)[2]!, /archived: 1 \(1 in DEEP_ARCHIVE; /);

  // what the hint printed before: the same command without the prefixes finds no backup
  const bare = await shell(hint.replace(/ --file-prefix-\w+ \S+/g, ''));
  assert.equal(bare.code, 12, describe(bare));
  assert.match(bare.stderr, /no backup chain found/);
});

test('a path that needs quoting reaches the shell intact', async () => {
  const restore = await dup(['restore', '--file-to-restore', "my files/it's.txt", URL, join(work, 'one')]);
  assert.equal(restore.code, 51, describe(restore));
  const hint = printedCommand(restore, /volumes this restore reads are archived/);
  assert.ok(hint.includes(`--file-to-restore 'my files/it'\\''s.txt'`), hint);
  const run = await shell(hint);
  assert.equal(run.code, 0, `${hint}\n${describe(run)}`);
  assert.match(planOf(run)[0]!, /^Thaw plan for my files\/it's\.txt as of /);
});

test('an archived read ends with a thaw command for the same target', async () => {
  const verify = await dup(['verify', '--compare-data', URL, src]);
  assert.equal(verify.code, 51, describe(verify));
  assert.match(verify.stderr, /it is in DEEP_ARCHIVE and not restored: thaw it first/);
  const hint = printedCommand(verify, /^See what a thaw needs and costs with: /);
  const run = await shell(hint);
  assert.equal(run.code, 0, `${hint}\n${describe(run)}`);
  assert.match(planOf(run)[2]!, /archived: 1 \(1 in DEEP_ARCHIVE; /);
});

test('the restore a Batch Operations manifest leads to, run as printed with a destination, restores', async () => {
  const csv = join(work, 'batch.csv');
  const batch = await dup(['thaw', '--batch-manifest', csv, URL]);
  assert.equal(batch.code, 0, describe(batch));
  const hint = printedCommand(batch, /^Then `permafrost restore --thaw --wait /).replace(/` waits for the copies.*$/, '');
  assert.match(hint, / DEST_DIR$/);
  // the Batch Operations job restores the listed volumes (moto completes restores at once)
  assert.equal((await thawAll(moto.endpoint, BUCKET, 'backup-folder/')).length, 1);
  const dest = join(work, 'from-batch');
  const run = await shell(hint.replace(/ DEST_DIR$/, ` '${dest}'`));
  assert.equal(run.code, 0, `${hint}\n${describe(run)}`);
  assertSameTree(src, dest, { owner: false });
});

test("with the guide's options: list-current-files before the first backup exits 12, a mistyped command 2", async () => {
  const early = await dup(['list-current-files', '--time', '2020-01-01', URL]);
  assert.equal(early.code, 12, describe(early));
  assert.match(early.stderr, /^--time 20200101T000000Z is before the first backup \(\d{8}T\d{6}Z\)\n$/);
  assert.doesNotMatch(early.stdout, /a\.txt/);
  const typo = await dup(['colection-status', URL]);
  assert.equal(typo.code, 2, describe(typo));
  assert.equal(
    typo.stderr,
    `Command line error: unknown command "colection-status": did you mean "collection-status"?\nEnter 'permafrost --help' for help.\n`,
  );
  assert.equal(typo.stdout, '');
});
