/**
 * Public-key mode against gpg 2.2: keys from key files and from the gpg keyring (exported by gpg),
 * RSA and ECC (cv25519) recipients, hidden recipients; gpg decrypts what permafrost encrypts and
 * the other way round; missing and locked secret keys fail with the right kind.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Encryption } from '../../src/crypto/encryption.ts';
import { OpenPgpEncryptor } from '../../src/codec/openpgp/encrypt.ts';
import { decryptMessage } from '../../src/codec/openpgp/decrypt.ts';
import { OpenPgpError } from '../../src/codec/openpgp/errors.ts';
import { gpgHome } from '../support/gpg.ts';
import { tmpDir } from '../support/tmp.ts';

const work = tmpDir({ after }, 'crypto');
const gpg = gpgHome(work);
after(() => gpg.close());
const KEY_PASS = 'key passphrase';
const rsa = gpg.genKey('RSA Tester <rsa@example.com>', 'rsa', KEY_PASS);
const ecc = gpg.genKey('ECC Tester <ecc@example.com>', 'ecc', '');
const pubFile = join(work, 'pub.asc');
writeFileSync(pubFile, gpg.run(['--armor', '--export']));
const secFile = join(work, 'sec.gpg');
writeFileSync(secFile, gpg.run(['--export-secret-keys'], { passphrase: KEY_PASS }));
process.env['GNUPGHOME'] = gpg.dir; // the keyring source runs gpg with the caller's environment

const plain = Buffer.concat([Buffer.alloc(200_000, 'a'), readFileSync(secFile)]);

async function encryptWith(enc: Encryption, data: Buffer): Promise<Buffer> {
  const out: Buffer[] = [];
  const e = new OpenPgpEncryptor({
    key: await enc.messageKey(),
    compression: enc.compression,
    output: (c) => {
      for (const b of c) out.push(Buffer.from(b));
    },
  });
  await e.write(data);
  await e.end();
  return Buffer.concat(out);
}

async function decryptWith(enc: Encryption, ct: Buffer): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of decryptMessage(
    (async function* () {
      yield ct;
    })(),
    enc.keyProvider,
  ))
    parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

function encryption(opts: {
  recipients?: string[];
  hidden?: string[];
  keyFiles?: readonly string[];
  gpg?: boolean;
  passphrase?: string | null;
}): Encryption {
  return new Encryption({
    recipients: opts.recipients ?? [],
    hiddenRecipients: opts.hidden ?? [],
    passphrase: async () => (opts.passphrase === undefined ? KEY_PASS : opts.passphrase),
    keys: { keyFiles: opts.keyFiles ?? [], gpg: opts.gpg === false ? null : { binary: 'gpg' } },
  });
}

async function kindOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof OpenPgpError, String(err));
    return err.kind;
  }
  return 'none';
}

describe('permafrost encrypts to public keys, gpg decrypts', () => {
  for (const [label, source] of [
    ['key file', { keyFiles: [pubFile], gpg: false }],
    ['gpg keyring', {}],
  ] as const) {
    it(`recipients RSA + ECC from the ${label}; PKESK per recipient; ZLIB inside`, async () => {
      const enc = encryption({ recipients: [rsa.slice(-16), 'ecc@example.com'], ...source });
      const file = join(work, `to-both-${label.replace(' ', '-')}.gpg`);
      writeFileSync(file, await encryptWith(enc, plain));
      assert.ok(gpg.run(['--decrypt', file], { passphrase: KEY_PASS }).equals(plain));
      const packets = gpg.run(['--list-packets', file], { passphrase: KEY_PASS }).toString();
      assert.match(packets, new RegExp(`pubkey enc packet: version 3, algo 1, keyid ${gpg.encryptionSubkeyId(rsa)}`));
      assert.match(packets, new RegExp(`pubkey enc packet: version 3, algo 18, keyid ${gpg.encryptionSubkeyId(ecc)}`));
      assert.match(packets, /compressed packet: algo=2/);
      assert.match(packets, /mdc_method: 2/);
    });
  }

  it('a hidden recipient gets a wildcard key id, and gpg still finds its key', async () => {
    const enc = encryption({ hidden: [ecc] });
    const file = join(work, 'hidden.gpg');
    writeFileSync(file, await encryptWith(enc, plain));
    assert.match(gpg.run(['--list-packets', file]).toString(), /keyid 0000000000000000/);
    assert.ok(gpg.run(['--try-all-secrets', '--decrypt', file], { passphrase: KEY_PASS }).equals(plain));
    assert.ok((await decryptWith(encryption({ gpg: false, keyFiles: [secFile] }), readFileSync(file))).equals(plain));
  });

  it('an unknown recipient is a no-key error naming it', async () => {
    const enc = encryption({ recipients: ['DEADBEEFDEADBEEF'] });
    await assert.rejects(
      enc.checkWritable(),
      (e: Error) => e instanceof OpenPgpError && e.kind === 'no-key' && /DEADBEEFDEADBEEF/.test(e.message),
    );
  });
});

describe('gpg encrypts to public keys, permafrost decrypts', () => {
  const src = join(work, 'plain');
  writeFileSync(src, plain);
  const toRsa = join(work, 'gpg-to-rsa.gpg');
  gpg.run(['--yes', '--trust-model', 'always', '--recipient', rsa, '--encrypt', '-o', toRsa, src]);
  const toEcc = join(work, 'gpg-to-ecc.gpg');
  gpg.run(['--yes', '--trust-model', 'always', '--recipient', ecc, '--encrypt', '-o', toEcc, src]);

  it('with secret keys from a key file (protected RSA key opened with the passphrase)', async () => {
    const enc = encryption({ keyFiles: [secFile], gpg: false });
    assert.ok((await decryptWith(enc, readFileSync(toRsa))).equals(plain));
    assert.ok((await decryptWith(enc, readFileSync(toEcc))).equals(plain));
  });

  it('with secret keys exported from the gpg keyring', async () => {
    const enc = encryption({});
    assert.ok((await decryptWith(enc, readFileSync(toRsa))).equals(plain));
    assert.ok((await decryptWith(encryption({}), readFileSync(toEcc))).equals(plain));
  });

  it('no secret key → no-key; the wrong passphrase for the key → bad-key', async () => {
    assert.equal(await kindOf(decryptWith(encryption({ keyFiles: [pubFile], gpg: false }), readFileSync(toRsa))), 'no-key');
    assert.equal(
      await kindOf(decryptWith(encryption({ keyFiles: [secFile], gpg: false, passphrase: 'wrong' }), readFileSync(toRsa))),
      'bad-key',
    );
    assert.equal(
      await kindOf(decryptWith(encryption({ keyFiles: [secFile], gpg: false, passphrase: null }), readFileSync(toRsa))),
      'no-key',
    );
  });
});
