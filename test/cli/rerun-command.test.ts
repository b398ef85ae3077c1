/**
 * The commands the CLI prints for the user to run: every option that names the target, nothing
 * that does not, no secret, and words quoted so that /bin/sh reads them back unchanged.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseCommandLine } from '../../src/command-line/parse-command-line.ts';
import { quoteShellWord, splitShellWords } from '../../src/command-line/shell-words.ts';
import { rerunCommand, restoreScopeWords, targetOptionWords } from '../../src/cli/rerun-command.ts';

const ENV = { HOME: '/home/u' };
const parse = (argv: string[]) => parseCommandLine(argv, { env: ENV, isDirectory: () => false });

test('quoted words read back unchanged by the parser and by /bin/sh', () => {
  fc.assert(
    fc.property(fc.array(fc.string({ unit: 'grapheme', maxLength: 12 }), { maxLength: 6 }), (words) => {
      const clean = words.map((w) => w.replaceAll('\0', ''));
      const line = clean.map(quoteShellWord).join(' ');
      assert.deepEqual(splitShellWords(line), clean);
    }),
  );
  const tricky = [
    "it's",
    'a b',
    '$HOME',
    '`id`',
    '"q"',
    'back\\slash',
    '*',
    '',
    '-',
    'new\nline',
    '~user',
    'x;y',
    'plain-word_1.2/3:4@5,6%+=',
  ];
  const r = spawnSync('/bin/sh', ['-c', `printf '%s\\0' ${tricky.map(quoteShellWord).join(' ')}`], { encoding: 'utf8' });
  assert.deepEqual(r.stdout.split('\0').slice(0, -1), tricky);
  assert.equal(quoteShellWord('plain-word_1.2/3:4@5,6%+='), 'plain-word_1.2/3:4@5,6%+=', 'safe words stay bare');
});

test('the words that name the target, and only those', () => {
  const cmd = parse([
    'restore',
    '--archive-dir',
    '/mnt/config',
    '--name',
    'job 1',
    '--file-prefix-archive',
    'archive-host-',
    '--file-prefix-manifest',
    'manifest-host-',
    '--file-prefix-signature',
    'signature-host-',
    '--file-prefix',
    'p-',
    '--s3-endpoint-url',
    'http://127.0.0.1:9000',
    '--s3-region-name',
    'eu-west-1',
    '--encrypt-key',
    'ops@example.com',
    '--sign-key',
    'ABCDEF12',
    '--passphrase-file',
    '/run/secrets/pass',
    '--gpg-options',
    '--passphrase hunter2',
    '--volsize',
    '50',
    '--verbosity',
    'info',
    '--log-file',
    '/var/log/x.log',
    '--s3-use-deep-archive',
    '--progress',
    '--file-to-restore',
    'dir/it',
    '--time',
    '2D',
    '--tier',
    'bulk',
    'boto3+s3://bucket/prefix',
    '/restore/here',
  ]);
  assert.deepEqual(targetOptionWords(cmd.options, ENV), [
    '--archive-dir',
    '/mnt/config',
    '--name',
    'job 1',
    '--file-prefix',
    'p-',
    '--file-prefix-archive',
    'archive-host-',
    '--file-prefix-manifest',
    'manifest-host-',
    '--file-prefix-signature',
    'signature-host-',
    '--s3-endpoint-url',
    'http://127.0.0.1:9000',
    '--s3-region-name',
    'eu-west-1',
    '--encrypt-key',
    'ops@example.com',
    '--sign-key',
    'ABCDEF12',
    '--passphrase-file',
    '/run/secrets/pass',
  ]);
  assert.deepEqual(restoreScopeWords(cmd.options), ['--file-to-restore', 'dir/it', '--time', '2D', '--tier', 'Bulk']);
  const line = rerunCommand(['thaw', '--dry-run', ...restoreScopeWords(cmd.options)], cmd.options, cmd.url!, [], ENV);
  assert.doesNotMatch(line, /hunter2|gpg-options/);
  assert.equal(line.split(' ')[0], 'permafrost');
  // the printed line parses back to the same target
  const again = parse(splitShellWords(line).slice(1));
  assert.equal(again.verb, 'thaw');
  assert.equal(again.url, 'boto3+s3://bucket/prefix');
  for (const key of [
    'archiveDir',
    'name',
    'filePrefix',
    'filePrefixArchive',
    'filePrefixManifest',
    'filePrefixSignature',
    's3EndpointUrl',
    's3RegionName',
    'signKey',
    'passphraseFile',
    'fileToRestore',
    'time',
    'tier',
  ] as const)
    assert.deepEqual(again.options[key], cmd.options[key], key);
  assert.deepEqual(again.options.encryptKeys, ['ops@example.com']);
});

test('local paths are printed absolute, so the command works from any directory', () => {
  const cmd = parse(['restore', '--archive-dir', 'cache', '--passphrase-file', 'secrets/pass', '--key-file', 'k.asc', 'file:///b/x', '/d']);
  assert.deepEqual(targetOptionWords(cmd.options, ENV), [
    '--archive-dir',
    join(process.cwd(), 'cache'),
    '--key-file',
    join(process.cwd(), 'k.asc'),
    '--passphrase-file',
    join(process.cwd(), 'secrets/pass'),
  ]);
});

test('defaults are left out; a password in the URL is masked', () => {
  const cmd = parse(['collection-status', 'file:///backups/x']);
  assert.equal(rerunCommand(['thaw', '--dry-run'], cmd.options, cmd.url!, [], ENV), 'permafrost thaw --dry-run file:///backups/x');
  assert.equal(
    rerunCommand(['thaw'], cmd.options, 's3://user:secret@host:9000/bucket/p', [], ENV),
    "permafrost thaw 's3://user:***@host:9000/bucket/p'",
  );
});
