/**
 * Redaction through the CLI (issue 13): a passphrase that is also a word of our messages
 * ("wrong", "passphrase", "a") leaves every message whole, on the console and in --log-file; a
 * passphrase that another program prints (a gpg stand-in that echoes what it read on stdin into
 * its error) is still removed from both. Real processes, file:// targets.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileUrl } from '../support/cli.ts';
import { gpgHome } from '../support/gpg.ts';
import { runPermafrost } from '../support/permafrost.ts';
import { describeRun, HOUR, T0 } from '../support/pf-target.ts';
import { tmpDir } from '../support/tmp.ts';

describe('a passphrase that is a word of our messages', () => {
  const work = tmpDir({ after }, 'redact-words');
  const src = join(work, 'src');
  const url = fileUrl(join(work, 'remote'));
  const run = (args: readonly string[], env: Record<string, string>) =>
    runPermafrost(['--archive-dir', join(work, 'archive'), '--name', 'r', ...args], env);

  before(async () => {
    mkdirSync(src);
    writeFileSync(join(src, 'a.txt'), 'x\n');
    const r = await run(['full', '--current-time', String(T0), src, url], { PASSPHRASE: 'the right one' });
    assert.equal(r.code, 0, describeRun(r));
  });

  for (const secret of ['wrong', 'passphrase', 'a']) {
    it(`PASSPHRASE=${secret}: the error reads "wrong passphrase" on the console and in --log-file`, async () => {
      const log = join(work, `log-${secret}`);
      const r = await run(['incremental', '--log-file', log, '--current-time', String(T0 + HOUR), src, url], { PASSPHRASE: secret });
      assert.equal(r.code, 31, describeRun(r));
      const line =
        /^cannot open the backup chain at file:\/\/\S+ with the keys given: its newest manifest duplicity-full\.\S+\.manifest\.gpg: wrong passphrase; nothing was uploaded$/;
      assert.match(r.stderr.trim(), line);
      assert.match(readFileSync(log, 'utf8'), /^ERROR 31\n\. cannot open the backup chain .*: wrong passphrase; nothing was uploaded\n/m);
      assert.doesNotMatch(r.stderr + readFileSync(log, 'utf8'), /\*\*\*/);
    });
  }
});

describe("a passphrase in another program's error", () => {
  const SECRET = 'Tr0ub4dor&3 staple';
  const work = tmpDir({ after }, 'redact-gpg');
  const src = join(work, 'src');
  const url = fileUrl(join(work, 'remote'));
  /** gpg as a misbehaving build might be: it fails, and says what it read on stdin (the passphrase) */
  const leaky = join(work, 'leaky-gpg');
  let publicKeyFile: string;

  before(async () => {
    mkdirSync(src);
    writeFileSync(join(src, 'a.txt'), 'x\n');
    writeFileSync(
      leaky,
      '#!/bin/sh\nread -r pass\necho "gpg: decryption of secret key failed with passphrase \'$pass\': Bad passphrase" >&2\nexit 2\n',
    );
    chmodSync(leaky, 0o755);
    const gpg = gpgHome(join(work, 'keys'));
    after(() => gpg.close());
    const fpr = gpg.genKey('Leak <leak@example.com>', 'rsa', 'unused');
    publicKeyFile = join(work, 'public.key');
    writeFileSync(publicKeyFile, gpg.run(['--export', fpr]));
    const r = await runPermafrost([
      'full',
      '--archive-dir',
      join(work, 'archive'),
      '--encrypt-key',
      fpr,
      '--key-file',
      publicKeyFile,
      '--gpg-binary',
      leaky,
      '--current-time',
      String(T0),
      src,
      url,
    ]);
    assert.equal(r.code, 0, describeRun(r));
  });

  it('is replaced on the console and in --log-file; the rest of the message stays', async () => {
    const log = join(work, 'log');
    const dest = join(work, 'restored');
    // no cache: the restore reads the manifest from the target and needs the secret key, which only "gpg" could give
    const r = await runPermafrost(
      [
        'restore',
        '--archive-dir',
        join(work, 'other-archive'),
        '--key-file',
        publicKeyFile,
        '--gpg-binary',
        leaky,
        '--log-file',
        log,
        '--verbosity',
        '9',
        url,
        dest,
      ],
      { PASSPHRASE: SECRET },
    );
    assert.equal(r.code, 31, describeRun(r));
    const all = r.stdout + r.stderr + readFileSync(log, 'utf8');
    assert.ok(!all.includes(SECRET), 'the passphrase shows');
    assert.ok(!all.includes('Tr0ub4dor'), 'part of the passphrase shows');
    assert.match(r.stderr, /--export-secret-keys failed: gpg: decryption of secret key failed with passphrase '\*\*\*': Bad passphrase/);
  });
});
