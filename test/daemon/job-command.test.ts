/**
 * Job expansion as docker-duplicity does it, checked against that image's own code run in Python:
 * `string.Template(WHAT).safe_substitute(os.environ)` and its `dup`'s
 * `check_output("echo " + OPTIONS, shell=True).split()`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { expandOptions, isPlainWords, jobCommand, safeSubstitute, SHELL_PRELUDE, wantsJsonSummary } from '../../src/daemon/job-command.ts';
import { UsageError } from '../../src/command-line/usage-error.ts';

function python(script: string, input: unknown): unknown {
  try {
    return JSON.parse(execFileSync('python3', ['-c', script], { input: JSON.stringify(input) }).toString());
  } catch (err) {
    throw new Error(`python3 is needed for this test (apt-get install python3): ${(err as Error).message}`);
  }
}

const ENV = {
  SRC: '/mnt/backup/src',
  DST: 'boto3+s3://bucket/backup-path',
  HOME: '/home/x',
  EMPTY: '',
  _U9: 'u',
  PATH: process.env['PATH'] ?? '/usr/bin:/bin',
};

test("safeSubstitute is Python's string.Template.safe_substitute", () => {
  const templates = [
    'dup $SRC $DST',
    'dup $$SRC $$DST',
    'dup ${SRC}/x ${DST}',
    'dup remove-all-but-n-full 7 $DST --force',
    'echo $UNKNOWN ${UNKNOWN} $ $5 $-x ${SRC',
    'a$SRCb $SRC_ $_U9 ${_U9}x $EMPTY. $$$SRC $$$$',
    'price: 5$ and $HOME/$$(date) `hostname -f`',
  ];
  const expected = python(
    'import json,string,sys\nd=json.load(sys.stdin)\nprint(json.dumps([string.Template(t).safe_substitute(d["env"]) for t in d["templates"]]))',
    { env: ENV, templates },
  ) as string[];
  assert.deepEqual(
    templates.map((t) => safeSubstitute(t, ENV)),
    expected,
  );
});

test("expandOptions gives the words of the image's `echo OPTIONS` through sh, split at white space", async () => {
  const options = [
    // the guide's OPTIONS and OPTIONS_EXTRA (as compose hands them over: $$ already made $), with a fixed date
    '--s3-use-deep-archive --no-encryption --archive-dir /mnt/backup/src/config --s3-use-multiprocessing --volsize 1024 --verbosity i --log-file /logfiles/log-$(date -u -d @86400 "+%Y%m%d-%H%M%S").log --full-if-older-than 4W --asynchronous-upload',
    '--s3-european-buckets --s3-multipart-chunk-size 10 --s3-use-new-style --metadata-sync-mode partial --file-prefix-archive archive-$(hostname -f)- --file-prefix-manifest manifest-$(hostname -f)- --file-prefix-signature signature-$(hostname -f)-',
    '--name "two words" --tempdir \'/tmp/a b\' --archive-dir $HOME/cache ${SRC}/x',
    '  --no-encryption\t--volsize  50  ',
    '',
  ];
  const expected = python(
    'import json,os,subprocess,sys\nd=json.load(sys.stdin)\nprint(json.dumps([subprocess.check_output("echo " + o, shell=True, text=True, env=d["env"]).split() for o in d["options"]]))',
    { env: ENV, options },
  ) as string[][];
  for (let i = 0; i < options.length; i++) assert.deepEqual(await expandOptions(options[i]!, ENV), expected[i], options[i]);
});

test('expandOptions leaves glob patterns alone (the image would match them against files)', async () => {
  assert.deepEqual(await expandOptions('--exclude /* --exclude **/*.tmp', ENV), ['--exclude', '/*', '--exclude', '**/*.tmp']);
  await assert.rejects(expandOptions('--name "unterminated', ENV), /cannot expand/);
});

test('jobCommand: dup, backup and restore run permafrost directly with OPTIONS and OPTIONS_EXTRA first', async () => {
  const env = { ...ENV, OPTIONS: '--no-encryption --volsize 50', OPTIONS_EXTRA: '--metadata-sync-mode partial' };
  const dup = await jobCommand('dup $SRC $DST', env);
  assert.equal(dup.kind, 'permafrost');
  assert.deepEqual(dup.kind === 'permafrost' && dup.args, [
    '--no-encryption',
    '--volsize',
    '50',
    '--metadata-sync-mode',
    'partial',
    '/mnt/backup/src',
    'boto3+s3://bucket/backup-path',
  ]);
  assert.equal(wantsJsonSummary(dup), true);
  assert.equal(dup.display, 'dup /mnt/backup/src boto3+s3://bucket/backup-path');

  const backup = await jobCommand('backup --dry-run', env);
  assert.deepEqual(backup.kind === 'permafrost' && backup.args.slice(5), ['/mnt/backup/src', 'boto3+s3://bucket/backup-path', '--dry-run']);
  const restore = await jobCommand('restore --force', env);
  assert.deepEqual(restore.kind === 'permafrost' && restore.args.slice(5), [
    'restore',
    'boto3+s3://bucket/backup-path',
    '/mnt/backup/src',
    '--force',
  ]);
  assert.equal(wantsJsonSummary(restore), false);

  const prune = await jobCommand('dup remove-all-but-n-full 7 $DST --force', env);
  assert.equal(prune.kind === 'permafrost' && prune.verb, 'remove-all-but-n-full');
  assert.equal(wantsJsonSummary(prune), false);
  const quoted = await jobCommand(`dup full '/mnt/my data' $DST`, env);
  assert.deepEqual(quoted.kind === 'permafrost' && quoted.args.slice(5), ['full', '/mnt/my data', 'boto3+s3://bucket/backup-path']);
});

test('jobCommand: anything else, or a dup inside shell syntax, goes to /bin/sh', async () => {
  for (const what of [
    'pg_dump -f $SRC/db.sql',
    'dup $SRC $DST > /tmp/log',
    'dup $SRC $DST && echo done',
    'docker stop app; dup $SRC $DST',
  ]) {
    const c = await jobCommand(what, ENV);
    assert.equal(c.kind, 'shell', what);
  }
  assert.equal(
    (await jobCommand('dup $UNSET_VAR $DST', ENV)).kind,
    'shell',
    'an unexpanded variable is left to the shell, as in the image',
  );
});

test('jobCommand: an option permafrost does not know is an error at once (exit 2)', async () => {
  await assert.rejects(
    jobCommand('dup $SRC $DST', { ...ENV, OPTIONS: '--no-such-option' }),
    (err: unknown) => err instanceof UsageError && /no-such-option/.test(err.message),
  );
});

test('isPlainWords', () => {
  assert.equal(isPlainWords(`dup 'a b' "c d" e\\ f`), true);
  for (const s of ['a | b', 'a && b', 'a; b', 'a > f', 'echo $(x)', 'echo `x`', 'echo "$X"', 'ls *.txt', 'echo ~', "echo 'open"])
    assert.equal(isPlainWords(s), false, s);
});

test('the shell prelude: dup passes each option as one word (spaces kept) and the arguments unchanged', () => {
  // PERMAFROST_NODE=printf and PERMAFROST_BIN='<%s>\n' print each argument dup passes on.
  const out = execFileSync('/bin/sh', ['-c', `${SHELL_PRELUDE}\ndup "a b" '*' && backup x`], {
    env: {
      PATH: ENV.PATH,
      PERMAFROST_NODE: 'printf',
      PERMAFROST_BIN: '<%s>\\n',
      PERMAFROST_DUP_OPTIONS: '--name\nmy name\n--exclude\n*.tmp',
      SRC: '/s',
      DST: 'file:///d',
    },
  }).toString();
  assert.equal(
    out,
    ['--name', 'my name', '--exclude', '*.tmp', 'a b', '*', '--name', 'my name', '--exclude', '*.tmp', '/s', 'file:///d', 'x']
      .map((a) => `<${a}>\n`)
      .join(''),
  );
});
