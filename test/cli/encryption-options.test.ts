import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { encryptionFor, passphraseSource, signPassphraseSource } from '../../src/cli/encryption-options.ts';
import { parseCommandLine } from '../../src/cli/command-line.ts';
import { UsageError } from '../../src/command-line/usage-error.ts';
import { tmpDir } from '../support/tmp.ts';

const work = tmpDir({ after }, 'enc-options');

/** A scripted terminal: answers in order, records the questions. */
function terminal(answers: (string | null)[]): { prompt: (q: string) => Promise<string | null>; asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    prompt: async (q) => {
      asked.push(q);
      return answers.shift() ?? null;
    },
  };
}

describe('passphrase sources', () => {
  it('PASSPHRASE wins over the file and the prompt; asked once', async () => {
    const t = terminal(['typed']);
    const file = join(work, 'p1');
    writeFileSync(file, 'from file\n');
    const src = passphraseSource({ env: { PASSPHRASE: 'from env' }, file, prompt: t.prompt });
    assert.equal(await src('encrypt'), 'from env');
    assert.equal(await src('decrypt'), 'from env');
    assert.deepEqual(t.asked, []);
  });

  it('--passphrase-file: the first line without its line end', async () => {
    const file = join(work, 'p2');
    writeFileSync(file, 'line one \r\nline two\n');
    assert.equal(await passphraseSource({ env: {}, file })(), 'line one ');
    await assert.rejects(
      passphraseSource({ env: {}, file: join(work, 'missing') })(),
      (e: Error) => e instanceof UsageError && /--passphrase-file .*missing: ENOENT/.test(e.message),
    );
  });

  it('the prompt confirms when encrypting, refuses an empty passphrase, and retries on a mismatch', async () => {
    const t = terminal(['', 'one', 'two', 'good', 'good']);
    assert.equal(await passphraseSource({ env: {}, prompt: t.prompt })('encrypt'), 'good');
    assert.equal(t.asked.length, 5);
    const once = terminal(['just once']);
    assert.equal(await passphraseSource({ env: {}, prompt: once.prompt })('decrypt'), 'just once');
    assert.equal(once.asked.length, 1);
  });

  it('no source at all gives null (the caller reports it)', async () => {
    assert.equal(await passphraseSource({ env: {}, prompt: async () => null })('encrypt'), null);
  });
});

describe('options', () => {
  const parse = (args: string[]) => parseCommandLine(['full', ...args, '/src', 'file:///t']).options;
  it('--no-encryption: no Encryption; default symmetric; --encrypt-key / --hidden-encrypt-key: public key', () => {
    assert.equal(encryptionFor(parse(['--no-encryption']), { env: {} }), null);
    assert.equal(encryptionFor(parse([]), { env: {} })!.mode, 'symmetric');
    assert.equal(encryptionFor(parse(['--encrypt-key', 'AABBCCDD']), { env: {} })!.mode, 'public-key');
    assert.equal(encryptionFor(parse(['--hidden-encrypt-key', 'AABBCCDD']), { env: {} })!.mode, 'public-key');
  });

  it('--key-file and --encrypt-secret-keyring collect key files; --passphrase-file is read; --passphrase is refused', () => {
    const o = parse(['--key-file', '/k/a.asc', '--encrypt-secret-keyring', '/k/b.gpg', '--passphrase-file', '/k/pass']);
    assert.deepEqual(o.keyFiles, ['/k/a.asc', '/k/b.gpg']);
    assert.equal(o.passphraseFile, '/k/pass');
    assert.throws(
      () => parse(['--passphrase', 'hunter22']),
      (e: Error) => e instanceof UsageError && /--passphrase-file/.test(e.message) && !e.message.includes('hunter22'),
    );
  });

  it('--sign-key / --encrypt-sign-key: the sign key is kept (0x dropped); --encrypt-sign-key also encrypts to it', () => {
    const signed = encryptionFor(parse(['--sign-key', '0xAABBCCDD']), { env: {} })!;
    assert.equal(signed.signKey, 'AABBCCDD');
    assert.equal(signed.mode, 'symmetric');
    assert.ok(signed.keyProvider.signatureVerifier, 'reads require a signature');
    const both = encryptionFor(parse(['--encrypt-sign-key', 'AABBCCDD']), { env: {} })!;
    assert.equal(both.mode, 'public-key');
    assert.equal(both.signKey, 'AABBCCDD');
    assert.equal(encryptionFor(parse([]), { env: {} })!.keyProvider.signatureVerifier, null);
  });

  it('PASSPHRASE and SIGN_PASSPHRASE stand in for each other only when the sign key is a recipient (duplicity get_passphrase)', async () => {
    const shared = (env: NodeJS.ProcessEnv) => encryptionFor(parse(['--encrypt-sign-key', 'AABBCCDD']), { env })!.keyProvider.passphrase!();
    assert.equal(await shared({ SIGN_PASSPHRASE: 'sign' }), 'sign');
    assert.equal(await shared({ PASSPHRASE: 'main', SIGN_PASSPHRASE: 'sign' }), 'main');
    const separate = encryptionFor(parse(['--sign-key', 'AABBCCDD', '--encrypt-key', '11223344']), {
      env: { SIGN_PASSPHRASE: 'sign' },
      prompt: async () => null,
    })!;
    assert.equal(await separate.keyProvider.passphrase!(), null);
    const main = passphraseSource({ env: { PASSPHRASE: 'main' } });
    assert.equal(await signPassphraseSource({ env: { SIGN_PASSPHRASE: 'sign', PASSPHRASE: 'main' } }, main)(), 'sign');
    assert.equal(await signPassphraseSource({ env: { PASSPHRASE: 'main' } }, main)(), 'main');
    assert.equal(await signPassphraseSource({ env: { PASSPHRASE: 'main' }, prompt: async () => null }, null)(), null);
    const asked: string[] = [];
    assert.equal(
      await signPassphraseSource(
        {
          env: {},
          prompt: async (q) => {
            asked.push(q);
            return 'typed';
          },
        },
        null,
      )(),
      'typed',
    );
    assert.deepEqual(asked, ['GnuPG passphrase for signing key: ']);
  });
});
