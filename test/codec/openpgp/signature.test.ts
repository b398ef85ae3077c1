/**
 * Signed messages (`--sign-key`) against gpg 2.2 both ways: what permafrost signs, gpg reports as a
 * good signature by the key (GOODSIG/VALIDSIG on its status fd: gpg is the oracle); what gpg signs
 * (`--symmetric --sign`, `--encrypt --sign`), permafrost accepts with that key and refuses with
 * another one, unsigned, or with a forged signature, failing with a one-line OpenPgpError.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import * as openpgp from 'openpgp';
import { OpenPgpEncryptor, passphraseMessageKey } from '../../../src/codec/openpgp/encrypt.ts';
import { verifyMessage, type KeyProvider } from '../../../src/codec/openpgp/decrypt.ts';
import { newIteratedS2K } from '../../../src/codec/openpgp/s2k.ts';
import { AES256, SHA256, Tag } from '../../../src/codec/openpgp/constants.ts';
import { definiteHeader } from '../../../src/codec/openpgp/packet-header.ts';
import type { MessageSigner } from '../../../src/codec/openpgp/signature.ts';
import { messageSigner, signatureVerifier } from '../../../src/crypto/signing.ts';
import { gpgHome, type GpgHome } from '../../support/gpg.ts';
import { tmpDir } from '../../support/tmp.ts';
import { decryptInPieces, failure, split } from './helpers.ts';

const PASS = 'sym pass for signing tests';
const KEY_PASS = 'key pass 4';
const FAST_S2K = 96;

const work = tmpDir({ after }, 'openpgp-sig');
const gpg: GpgHome = gpgHome(work);
after(() => gpg.close());

interface TestKey {
  readonly fpr: string;
  readonly secret: openpgp.PrivateKey;
  readonly public: openpgp.PublicKey;
}
const keys: Record<'rsa' | 'ecc' | 'other', TestKey> = {} as Record<'rsa' | 'ecc' | 'other', TestKey>;

before(async () => {
  for (const [name, algo] of [
    ['rsa', 'rsa'],
    ['ecc', 'ecc'],
    ['other', 'rsa'],
  ] as const) {
    const fpr = gpg.genKey(`Signer ${name} <${name}@example.com>`, algo, KEY_PASS);
    const locked = await openpgp.readPrivateKey({ binaryKey: gpg.run(['--export-secret-keys', fpr], { passphrase: KEY_PASS }) });
    const secret = await openpgp.decryptKey({ privateKey: locked, passphrase: KEY_PASS });
    keys[name] = { fpr, secret, public: secret.toPublic() };
  }
});

async function encryptSigned(
  plain: Buffer,
  signer: MessageSigner,
  compression: 'zip' | 'zlib' | 'none' = 'zip',
  cuts: number[] = [],
): Promise<Buffer> {
  const out: Buffer[] = [];
  const enc = new OpenPgpEncryptor({
    key: passphraseMessageKey(PASS, AES256, newIteratedS2K(SHA256, FAST_S2K)),
    compression,
    signer,
    output: (chunks) => {
      for (const c of chunks) out.push(Buffer.from(c));
    },
  });
  let off = 0;
  for (const cut of cuts) {
    const end = Math.min(plain.length, off + cut);
    await enc.write(plain.subarray(off, end));
    off = end;
  }
  await enc.write(plain.subarray(off));
  await enc.end();
  return Buffer.concat(out);
}

/** gpg --decrypt's status lines (GOODSIG, BADSIG, VALIDSIG, ...) and plaintext. */
function gpgDecrypt(file: string): { plain: Buffer; status: string } {
  const statusFile = `${file}.status`;
  const plain = gpg.run(['--status-file', statusFile, '--decrypt', file], { passphrase: PASS });
  return { plain, status: readFileSync(statusFile, 'utf8') };
}

const provider = (verifyWith: TestKey | null, name?: string): KeyProvider => ({
  passphrase: async () => PASS,
  signatureVerifier: verifyWith === null ? null : signatureVerifier(name ?? verifyWith.fpr.slice(-8), async () => [verifyWith.public]),
});

const decrypt = decryptInPieces;

/** The key id gpg names in GOODSIG: the signing (sub)key's, as gpg lists it. */
function signingKeyId(fpr: string): string {
  const lines = gpg.run(['--with-colons', '--list-keys', fpr]).toString().split('\n');
  const signer = lines.filter((l) => /^(pub|sub):/.test(l)).find((l) => l.split(':')[11]!.includes('s'));
  return signer!.split(':')[4]!;
}

describe('permafrost signs, gpg 2.2 verifies', () => {
  for (const name of ['rsa', 'ecc'] as const) {
    for (const compression of ['zip', 'zlib', 'none'] as const) {
      it(`${name} key, ${compression}: GOODSIG and VALIDSIG by the key, across partial-length boundaries`, async () => {
        const signer = await messageSigner(keys[name].secret, name);
        for (const size of [0, 1, 5000, (1 << 20) + 3]) {
          const plain = randomBytes(size);
          const file = join(work, `signed-${name}-${compression}-${size}.gpg`);
          writeFileSync(file, await encryptSigned(plain, signer, compression, [1, 4096, 1 << 20]));
          const { plain: out, status } = gpgDecrypt(file);
          assert.ok(out.equals(plain), `${file}: plaintext`);
          assert.match(status, new RegExp(`^\\[GNUPG:\\] GOODSIG ${signingKeyId(keys[name].fpr)} `, 'm'), status);
          assert.match(status, new RegExp(`^\\[GNUPG:\\] VALIDSIG [0-9A-F]{40} .* ${keys[name].fpr}$`, 'm'), status);
          assert.match(status, /^\[GNUPG:\] DECRYPTION_OKAY/m);
          // and permafrost reads its own
          assert.ok((await decrypt(readFileSync(file), provider(keys[name]))).equals(plain));
        }
      });
    }
  }

  it('the packets are what `gpg --symmetric --sign` writes: one-pass signature, literal, signature (v4, binary) inside the compressed packet', async () => {
    const file = join(work, 'listing.gpg');
    writeFileSync(file, await encryptSigned(Buffer.from('some data\n'), await messageSigner(keys.rsa.secret, 'rsa')));
    const listing = gpg.run(['--list-packets', file], { passphrase: PASS }).toString();
    const order = [...listing.matchAll(/^:(\w[\w ]*?) packet:/gm)].map((m) => m[1]);
    assert.deepEqual(order, ['symkey enc', 'encrypted data', 'compressed', 'onepass_sig', 'literal data', 'signature'], listing);
    assert.match(
      listing,
      /:signature packet: algo 1, keyid [0-9A-F]{16}\n\tversion 4, created \d+, md5len 0, sigclass 0x00\n\tdigest algo 8/,
    );
  });

  it("a forged signature (the digest signed is not the data's): gpg says BADSIG, permafrost fails with integrity", async () => {
    const real = await messageSigner(keys.rsa.secret, 'rsa');
    const forged: MessageSigner = {
      ...real,
      sign: (digest) => {
        const d = Buffer.from(digest);
        d[5]! ^= 1;
        return real.sign(d);
      },
    };
    const file = join(work, 'forged.gpg');
    const ct = await encryptSigned(Buffer.from('payload'), forged);
    writeFileSync(file, ct);
    const statusFile = `${file}.status`;
    assert.throws(() => gpg.run(['--status-file', statusFile, '--decrypt', file], { passphrase: PASS }));
    assert.match(readFileSync(statusFile, 'utf8'), /^\[GNUPG:\] BADSIG /m);
    const err = await failure(decrypt(ct, provider(keys.rsa)));
    assert.equal(err.kind, 'integrity');
    assert.match(err.message, /bad signature/);
    assert.equal((await failure(verifyMessage(split(ct, 1000), provider(keys.rsa)))).kind, 'integrity');
  });

  it('round trip: any data and chunking, signed and verified', async () => {
    const signer = await messageSigner(keys.ecc.secret, 'ecc');
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 20000 }),
        fc.array(fc.integer({ min: 1, max: 9000 }), { maxLength: 4 }),
        fc.constantFrom('zip', 'zlib', 'none'),
        fc.integer({ min: 1, max: 5000 }),
        async (data, cuts, compression, pieces) => {
          const plain = Buffer.from(data);
          const ct = await encryptSigned(plain, signer, compression as 'zip' | 'zlib' | 'none', cuts);
          assert.ok((await decrypt(ct, provider(keys.ecc), pieces)).equals(plain));
          assert.deepEqual(await verifyMessage(split(ct, pieces), provider(keys.ecc)), { protected: true });
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('gpg 2.2 signs, permafrost verifies', () => {
  const src = () => {
    const f = join(work, 'gpg-src');
    writeFileSync(f, randomBytes(300_000));
    return f;
  };

  it('gpg --symmetric --sign: accepted with the key (verifyMessage too); refused with another key, naming the signer', async () => {
    const input = src();
    for (const name of ['rsa', 'ecc'] as const) {
      const file = join(work, `gpg-sym-signed-${name}.gpg`);
      // the symmetric passphrase and the key's are both PASS-like here: gpg takes one --passphrase-fd
      gpg.run(
        [
          '--yes',
          '--pinentry-mode',
          'loopback',
          '--local-user',
          keys[name].fpr,
          '--sign',
          '--symmetric',
          '--passphrase-fd',
          '0',
          '-o',
          file,
          input,
        ],
        { input: KEY_PASS },
      );
      const ct = readFileSync(file);
      const symKeys = (k: TestKey | null): KeyProvider => ({ ...provider(k), passphrase: async () => KEY_PASS });
      assert.ok((await decrypt(ct, symKeys(keys[name]))).equals(readFileSync(input)));
      assert.deepEqual(await verifyMessage(split(ct, 8192), symKeys(keys[name])), { protected: true });
      const err = await failure(
        decrypt(ct, { ...symKeys(keys.other), signatureVerifier: signatureVerifier('OTHERKEY', async () => [keys.other.public]) }),
      );
      assert.equal(err.kind, 'integrity');
      assert.match(err.message, new RegExp(`signed by key ${signingKeyId(keys[name].fpr)}, not by --sign-key OTHERKEY`));
      // without a verifier the signature is skipped, as before
      assert.ok((await decrypt(ct, symKeys(null))).equals(readFileSync(input)));
    }
  });

  it("gpg --encrypt --sign to a recipient: accepted with the signer's public key", async () => {
    const input = src();
    const file = join(work, 'gpg-pub-signed.gpg');
    gpg.run(
      [
        '--yes',
        '--pinentry-mode',
        'loopback',
        '--local-user',
        keys.ecc.fpr,
        '--recipient',
        keys.rsa.fpr,
        '--sign',
        '--encrypt',
        '--passphrase-fd',
        '0',
        '-o',
        file,
        input,
      ],
      { input: KEY_PASS },
    );
    const rsaSecret = keys.rsa.secret;
    const k: KeyProvider = {
      publicKeySessionKeys: async (bodies) => {
        const msg = await openpgp.readMessage({
          binaryMessage: Buffer.concat(bodies.flatMap((b) => [definiteHeader(Tag.pkesk, b.length), b])),
        });
        const found = await openpgp.decryptSessionKeys({ message: msg, decryptionKeys: rsaSecret });
        return found.map((f) => ({
          cipher: (openpgp.enums.symmetric as unknown as Record<string, number>)[f.algorithm!]!,
          key: Buffer.from(f.data),
        }));
      },
      signatureVerifier: signatureVerifier('ecc', async () => [keys.ecc.public]),
    };
    assert.ok((await decrypt(readFileSync(file), k)).equals(readFileSync(input)));
  });

  it('an unsigned message is refused when a signature is required', async () => {
    const input = src();
    const file = join(work, 'gpg-unsigned.gpg');
    gpg.run(['--yes', '--symmetric', '-o', file, input], { passphrase: PASS });
    const err = await failure(decrypt(readFileSync(file), provider(keys.rsa)));
    assert.equal(err.kind, 'integrity');
    assert.match(err.message, /not signed/);
    assert.equal((await failure(verifyMessage(split(readFileSync(file), 4096), provider(keys.rsa)))).kind, 'integrity');
  });
});
