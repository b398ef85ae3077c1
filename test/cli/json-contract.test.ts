/**
 * The stdout contract (docs/output.md) on a file:// target, every verb run as the users' guide
 * runs duplicity: its OPTIONS and OPTIONS_EXTRA strings (S3 options, --progress, --verbosity i,
 * --log-file, file prefixes) plus --json. stdout must parse as ONE JSON document, whole, and match
 * the verb's schema; the notes, the per-file lines, the progress and the errors are on stderr.
 * Failures give the error document with the documented exit code, and the one line on stderr.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from '../support/cli.ts';
import { fileUrl } from '../support/cli.ts';
import { assertMatchesSchema } from '../support/json-schemas.ts';
import { runPermafrost } from '../support/permafrost.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';

const hooks = fileCleanup();
const HOST = 'backupname';

let work: string;
let src: string;
let url: string;
let logs = 0;

/** The guide's OPTIONS and OPTIONS_EXTRA, word for word, with its $(date) and $(hostname -f) expanded. */
function guide(): string[] {
  const archiveDir = join(work, 'config');
  const logFile = join(work, `log-20261207-${String(logs++).padStart(6, '0')}.log`);
  const OPTIONS = `--full-if-older-than 4W --s3-use-deep-archive --no-compression --no-encryption --progress --archive-dir ${archiveDir} --s3-use-multiprocessing --volsize 1024 --verbosity i --log-file ${logFile}`;
  const OPTIONS_EXTRA = `--asynchronous-upload --s3-european-buckets --s3-multipart-chunk-size 10 --s3-use-new-style --metadata-sync-mode partial --file-prefix-archive archive-${HOST}- --file-prefix-manifest manifest-${HOST}- --file-prefix-signature signature-${HOST}-`;
  return [...OPTIONS.split(' '), ...OPTIONS_EXTRA.split(' ')];
}

/** `permafrost $OPTIONS $OPTIONS_EXTRA --json ARGS`, as the guide's docker command line runs duplicity. */
function pf(...args: string[]): Promise<RunResult> {
  return runPermafrost([...guide(), '--json', ...args]);
}

function show(r: RunResult): string {
  return `$ ${r.command}\nexit ${r.code}\n--- stdout ---\n${r.stdout.slice(0, 3000)}\n--- stderr ---\n${r.stderr.slice(-3000)}`;
}

/** stdout is one JSON document and nothing else, matching `schema`; returns it. */
function documentOf(r: RunResult, schema: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(r.stdout);
  } catch (err) {
    assert.fail(`stdout is not one JSON document (${(err as Error).message})\n${show(r)}`);
  }
  assert.ok(r.stdout.endsWith('}\n') && !r.stdout.endsWith('\n\n'), `stdout ends with the document and one newline\n${show(r)}`);
  assertMatchesSchema(schema, doc, r.command);
  return doc as Record<string, unknown>;
}

const S3_NOTE =
  'S3 options have no effect on file:// targets: --s3-use-deep-archive, --s3-use-multiprocessing, --s3-european-buckets, --s3-multipart-chunk-size, --s3-use-new-style';

/** What the guide's options make every run with a target say on stderr (-v info), before anything else. */
function assertNotes(r: RunResult): string[] {
  const lines = r.stderr.split('\n');
  assert.match(lines[0]!, /^Options without effect here: .*--s3-use-multiprocessing/, show(r));
  if (!r.command.includes(' estimate ')) assert.equal(lines[1], S3_NOTE, show(r));
  return lines;
}

/** A successful --json run: exit `code`, the document on stdout, the notes on stderr. */
function ok(r: RunResult, schema: string, code = 0): { doc: Record<string, unknown>; stderr: string[] } {
  assert.equal(r.code, code, show(r));
  return { doc: documentOf(r, schema), stderr: assertNotes(r) };
}

/** A failed --json run: the error document with the code and its name, and the same line on stderr. */
function failed(r: RunResult, code: number, name: string, message: RegExp): void {
  assert.equal(r.code, code, show(r));
  const doc = documentOf(r, 'error') as { error: { code: number; name: string; message: string } };
  assert.equal(doc.error.code, code);
  assert.equal(doc.error.name, name);
  assert.match(doc.error.message, message);
  assert.ok(r.stderr.split('\n').includes(doc.error.message), `the message is on stderr too\n${show(r)}`);
}

before(() => {
  work = tmpDir(hooks, 'json-contract');
  src = join(work, 'data');
  mkdirSync(join(src, 'smallfiles'), { recursive: true });
  for (let i = 0; i < 20; i++) writeFileSync(join(src, 'smallfiles', `f${i}.txt`), `small file ${i}\n`);
  writeFileSync(join(src, 'large.bin'), Buffer.alloc(3 * 1024 * 1024, 7));
  url = fileUrl(join(work, 'target'));
});

describe('--json --progress -v info with the guide options, file://', { concurrency: false }, () => {
  it('the verb-less backup (a full, then an incremental): the statistics document; notes, file lines, progress on stderr', async () => {
    const full = ok(await pf(src, url), 'backup');
    assert.equal(full.doc['type'], 'full');
    assert.ok(
      full.stderr.some((l) => /^Starting full backup at \d{8}T\d{6}Z$/.test(l)),
      full.stderr.join('\n'),
    );
    assert.ok(full.stderr.includes('A smallfiles/f0.txt'), '-v info lists the files on stderr');
    assert.ok(
      full.stderr.some((l) => /100(\.0)?%/.test(l)),
      `the last progress line on stderr\n${full.stderr.join('\n')}`,
    );
    writeFileSync(join(src, 'smallfiles', 'f0.txt'), 'changed\n');
    const inc = ok(await pf(src, url), 'backup');
    assert.equal(inc.doc['type'], 'inc');
    assert.ok(inc.stderr.some((l) => l.startsWith('Starting incremental backup')));
  });

  it('full and incremental by name', async () => {
    writeFileSync(join(src, 'smallfiles', 'f1.txt'), 'changed too\n');
    assert.equal(ok(await pf('incremental', src, url), 'incremental').doc['type'], 'inc');
    assert.equal(ok(await pf('full', src, url), 'full').doc['type'], 'full');
  });

  it('collection-status and list-current-files', async () => {
    const st = ok(await pf('collection-status', url), 'collection-status').doc;
    assert.equal((st['chains'] as unknown[]).length, 2);
    const costs = ok(await pf('collection-status', '--costs', url), 'collection-status').doc as { costs: { assumedStandard: number } };
    assert.ok(costs.costs.assumedStandard > 0, 'file:// objects have no class: priced as STANDARD');
    const list = ok(await pf('list-current-files', url), 'list-current-files').doc as { files: { path: string }[] };
    assert.deepEqual(
      list.files.map((f) => f.path).filter((p) => p.startsWith('smallfiles/f1')),
      ['smallfiles/f1.txt', ...Array.from({ length: 10 }, (_, i) => `smallfiles/f1${i}.txt`)],
    );
  });

  it('verify in place, verify --compare-data (exit 1 with differences: still the document)', async () => {
    const v = ok(await pf('verify', url, src), 'verify').doc;
    assert.deepEqual(v['differences'], []);
    assert.deepEqual(ok(await pf('verify', '--compare-data', url, src), 'verify').doc['differences'], []);
    writeFileSync(join(src, 'smallfiles', 'f2.txt'), 'differs now\n');
    const diff = ok(await pf('verify', '--compare-data', url, src), 'verify', 1).doc;
    assert.ok(
      (diff['differences'] as string[]).some((d) => d.includes('smallfiles/f2.txt')),
      JSON.stringify(diff),
    );
  });

  it('restore, thaw (nothing archived on file://), estimate, --version', async () => {
    const dest = join(work, 'restored');
    assert.ok((ok(await pf('restore', url, dest), 'restore').doc['files'] as number) >= 22);
    const thaw = ok(await pf('thaw', url), 'thaw').doc as { counts: { total: number; ready: number } };
    assert.equal(thaw.counts.ready, thaw.counts.total);
    const est = ok(await pf('estimate', src), 'estimate').doc;
    assert.equal(est['storageClass'], 'DEEP_ARCHIVE');
    const v = await runPermafrost(['--json', '--version']);
    assert.equal(v.code, 0);
    assert.equal(v.stderr, '');
    assert.equal(documentOf(v, 'version')['name'], 'permafrost');
  });

  it('cleanup and the three remove-* verbs (listing only, then with --force)', async () => {
    assert.deepEqual(ok(await pf('cleanup', url), 'cleanup').doc, { extraneous: [], deleted: false });
    const keepOne = ok(await pf('remove-all-but-n-full', '1', url), 'remove-all-but-n-full').doc as {
      plan: { chains: unknown[] };
      deleted: boolean;
    };
    assert.equal(keepOne.plan.chains.length, 1);
    assert.equal(keepOne.deleted, false);
    ok(await pf('remove-all-inc-of-but-n-full', '1', url), 'remove-all-inc-of-but-n-full');
    const older = ok(await pf('remove-older-than', '1s', '--force', url), 'remove-older-than').doc as { deleted: boolean };
    assert.equal(older.deleted, true);
  });

  it('failures: the error document and the documented exit code', async () => {
    // a command line that does not parse: 2, and the usage line on stderr
    const usage = await runPermafrost([...guide(), '--json', '--no-such-option', 'collection-status', url]);
    failed(usage, 2, 'usage', /no-such-option/);
    assert.match(usage.stderr, /Enter 'permafrost --help' for help\./);
    // the mistyped verb: a source directory that does not exist
    failed(await pf('colection-status', url), 10, 'badSource', /colection-status/);
    const empty = fileUrl(join(work, 'empty-target'));
    failed(await pf('list-current-files', empty), 12, 'noChain', /no backup chain found/);
    failed(await pf('incremental', src, empty), 17, 'noSignatures', /run a full backup first/);
    failed(await pf('restore', url, src), 11, 'restoreDestExists', /not empty|exists/);
    // -v debug after the guide's -v i: the stack of a failure goes to stderr too, never into the document
    const debug = await pf('-v', 'debug', 'restore', '--time', 'garbage', url, join(work, 'nowhere'));
    failed(debug, 2, 'usage', /bad time string "garbage"/);
    assert.match(debug.stderr, /^\s+at /m, 'the stack, at debug');
  });

  it('-v debug: the debug lines on stderr, the document alone on stdout', async () => {
    const r = await pf('-v', 'debug', 'collection-status', url);
    ok(r, 'collection-status');
  });
});
