/**
 * The OpenPGP codec against gpg 2.2 both ways (gpg is the oracle: what it decrypts is right), round
 * trips with random data and chunking, and hostile input (wrong keys, tampering, truncation,
 * garbage), which must fail with a classified OpenPgpError and never hang.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { OpenPgpEncryptor, passphraseMessageKey } from '../../../src/codec/openpgp/encrypt.ts';
import { decryptMessage, verifyMessage, type KeyProvider } from '../../../src/codec/openpgp/decrypt.ts';
import { newIteratedS2K } from '../../../src/codec/openpgp/s2k.ts';
import { AES256, SHA1, SHA256 } from '../../../src/codec/openpgp/constants.ts';
import { gpgHome, type GpgHome } from '../../support/gpg.ts';
import { tmpDir } from '../../support/tmp.ts';
import { decryptInPieces, failure, split } from './helpers.ts';

const PASS = 'correct horse battery staple';
const keys = (p: string | null = PASS): KeyProvider => ({ passphrase: async () => p });
// a low S2K count keeps the many small cases fast; the default (255) is exercised once below
const FAST_S2K = 96;

async function encrypt(
  plain: Buffer,
  opts: { compression?: 'zip' | 'zlib' | 'none'; cuts?: number[]; countOctet?: number; hash?: number } = {},
): Promise<Buffer> {
  const out: Buffer[] = [];
  const enc = new OpenPgpEncryptor({
    key: passphraseMessageKey(PASS, AES256, newIteratedS2K(opts.hash ?? SHA256, opts.countOctet ?? FAST_S2K)),
    compression: opts.compression ?? 'zip',
    output: (chunks) => {
      for (const c of chunks) out.push(Buffer.from(c));
    },
  });
  let off = 0;
  for (const cut of opts.cuts ?? []) {
    const end = Math.min(plain.length, off + cut);
    await enc.write(plain.subarray(off, end));
    off = end;
  }
  await enc.write(plain.subarray(off));
  await enc.end();
  return Buffer.concat(out);
}

async function decrypt(ct: Buffer, k: KeyProvider = keys(), pieces = 1 << 16): Promise<Buffer> {
  return decryptInPieces(ct, k, pieces);
}

function patterned(n: number): Buffer {
  const b = randomBytes(n);
  for (let i = 0; i < n; i += 97) b.fill(i & 0xff, i, Math.min(n, i + 40)); // partly compressible
  return b;
}

const work = tmpDir({ after }, 'openpgp');
const gpg: GpgHome = gpgHome(work);
after(() => gpg.close());

describe('permafrost writes, gpg 2.2 decrypts', () => {
  const sizes = [0, 1, 600, (1 << 20) - 6, (1 << 20) - 5, (1 << 20) + 1, 3 * (1 << 20) + 17];
  for (const compression of ['zip', 'zlib', 'none'] as const) {
    it(`${compression}: sizes ${sizes.join(', ')} across the 1 MiB partial-length boundaries`, async () => {
      for (const size of sizes) {
        const plain = patterned(size);
        const ct = await encrypt(plain, { compression, cuts: [1, 700, 65536, 1 << 20] });
        const file = join(work, `pf-${compression}-${size}.gpg`);
        writeFileSync(file, ct);
        const out = gpg.run(['--decrypt', file], { passphrase: PASS });
        assert.ok(out.equals(plain), `gpg decrypts ${size} bytes (${compression})`);
      }
    });
  }

  it('the packets are what gpg 2.2 writes for duplicity: SKESK v4, AES256, iterated S2K, SEIPD with MDC, compressed', async () => {
    const file = join(work, 'packets.gpg');
    writeFileSync(file, await encrypt(patterned(3 << 20), { countOctet: 255 }));
    const listing = gpg.run(['--list-packets', file], { passphrase: PASS }).toString();
    assert.match(listing, /symkey enc packet: version 4, cipher 9, aead 0, ?s2k 3, hash 8/);
    assert.match(listing, /count 65011712/);
    assert.match(listing, /encrypted data packet:\n\tlength: unknown\n\tmdc_method: 2/);
    assert.match(listing, /compressed packet: algo=1/);
    assert.match(listing, /literal data packet:\n\tmode b \(62\), created \d+, name="",/);
    const small = join(work, 'small.gpg');
    writeFileSync(small, await encrypt(Buffer.from('manifest\n')));
    // a small file gets a definite length, as gpg writes the manifest
    assert.match(
      gpg.run(['--list-packets', small], { passphrase: PASS }).toString(),
      /encrypted data packet:\n\tlength: \d+\n\tmdc_method: 2/,
    );
  });
});

describe('gpg 2.2 writes, permafrost decrypts', () => {
  const plain = patterned(2_500_000);
  const variants: string[][] = [
    [],
    ['--compress-algo', 'zlib'],
    ['--compress-algo', 'none'],
    ['--compress-level', '0'],
    ['--cipher-algo', 'AES128'],
    ['--cipher-algo', 'AES192'],
    ['--cipher-algo', 'CAMELLIA256'],
    ['--cipher-algo', '3DES'],
    ['--s2k-digest-algo', 'SHA512'],
    ['--s2k-digest-algo', 'SHA1', '--s2k-count', '1024'],
    ['--s2k-mode', '1'],
    ['--s2k-mode', '0'],
  ];
  for (const v of variants) {
    it(`gpg --symmetric ${v.join(' ') || '(defaults: AES256, ZIP, SHA1 S2K)'}`, async () => {
      const src = join(work, 'gpg-plain');
      writeFileSync(src, plain);
      const file = join(work, `gpg-${v.join('_') || 'default'}.gpg`);
      gpg.run(['--yes', ...v, '--symmetric', '-o', file, src], { passphrase: PASS });
      const ct = readFileSync(file);
      assert.ok((await decrypt(ct)).equals(plain));
      assert.deepEqual(await verifyMessage(split(ct, 8191), keys()), { protected: true });
    });
  }

  it('--rfc2440 data without MDC (SED, tag 9) decrypts, reported as unprotected', async () => {
    const src = join(work, 'gpg-plain-sed');
    writeFileSync(src, plain.subarray(0, 100_000));
    const file = join(work, 'sed.gpg');
    gpg.run(['--yes', '--rfc2440', '--symmetric', '-o', file, src], { passphrase: PASS });
    let warned = 0;
    const parts: Buffer[] = [];
    for await (const c of decryptMessage(split(readFileSync(file), 4096), keys(), { onUnprotected: () => warned++ }))
      parts.push(Buffer.from(c));
    assert.ok(Buffer.concat(parts).equals(plain.subarray(0, 100_000)));
    assert.equal(warned, 1);
    assert.deepEqual(await verifyMessage(split(readFileSync(file), 4096), keys()), { protected: false });
  });

  it('a signed and encrypted message: the signature packets are skipped', async () => {
    const fpr = gpg.genKey('Signer <signer@example.com>', 'ecc', '');
    const src = join(work, 'signed-plain');
    writeFileSync(src, plain.subarray(0, 50_000));
    const file = join(work, 'signed.gpg');
    gpg.run(
      [
        '--yes',
        '--pinentry-mode',
        'loopback',
        '--passphrase',
        '',
        '--local-user',
        fpr,
        '--sign',
        '--symmetric',
        '--passphrase-fd',
        '0',
        '-o',
        file,
        src,
      ],
      { input: PASS },
    );
    assert.ok((await decrypt(readFileSync(file))).equals(plain.subarray(0, 50_000)));
  });
});

describe('round trips', () => {
  it('any data, any write chunking, any read chunking, any compression', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 70_000 }),
        fc.array(fc.integer({ min: 1, max: 30_000 }), { maxLength: 5 }),
        fc.integer({ min: 1, max: 20_000 }),
        fc.constantFrom('zip', 'zlib', 'none'),
        async (data, cuts, readPiece, compression) => {
          const plain = Buffer.from(data);
          const ct = await encrypt(plain, { compression: compression as 'zip' | 'zlib' | 'none', cuts });
          assert.ok((await decrypt(ct, keys(), readPiece)).equals(plain));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a 40 MiB message streams through with bounded pieces', async () => {
    const plain = patterned(40 << 20);
    const ct = await encrypt(plain, { cuts: [3, 1 << 20, 5 << 20] });
    let n = 0;
    let largest = 0;
    let off = 0;
    for await (const c of decryptMessage(split(ct, 1 << 20), keys())) {
      assert.ok(c.equals(plain.subarray(off, off + c.length)));
      off += c.length;
      n++;
      largest = Math.max(largest, c.length);
    }
    assert.equal(off, plain.length);
    assert.ok(largest <= 4 << 20, `pieces stay small (largest ${largest})`);
    assert.ok(n > 10);
  });
});

describe('failures are classified, one line, and never hang', () => {
  let ct: Buffer;
  before(async () => {
    ct = await encrypt(patterned(300_000), { compression: 'zip' });
  });

  it('wrong passphrase → bad-key; no passphrase → no-key', async () => {
    assert.equal((await failure(decrypt(ct, keys('not it')))).kind, 'bad-key');
    assert.equal((await failure(verifyMessage(split(ct, 1 << 16), keys('not it')))).kind, 'bad-key');
    const none = await failure(decrypt(ct, keys(null)));
    assert.equal(none.kind, 'no-key');
    assert.match(none.message, /passphrase/);
  });

  it('a flipped byte anywhere after the prefix → integrity failure (MDC), found by verifyMessage', async () => {
    for (const pos of [40, 1000, 150_000, ct.length - 30, ct.length - 1]) {
      const bad = Buffer.from(ct);
      bad[pos]! ^= 0x10;
      const err = await failure(verifyMessage(split(bad, 1 << 16), keys()));
      assert.ok(err.kind === 'integrity' || err.kind === 'format', `byte ${pos}: ${err.kind} ${err.message}`);
      await failure(decrypt(bad));
    }
  });

  it('truncation at any point is an error', async () => {
    for (let cut = 0; cut < ct.length; cut += Math.max(1, Math.floor(ct.length / 97))) {
      const err = await failure(decrypt(ct.subarray(0, cut)));
      assert.ok(['format', 'integrity'].includes(err.kind), `cut ${cut}: ${err.kind} ${err.message}`);
    }
  });

  it('random bytes and random packet headers are rejected', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), async (data) => {
        const err = await failure(decrypt(Buffer.from(data)));
        assert.ok(['format', 'unsupported', 'bad-key', 'no-key', 'integrity'].includes(err.kind));
      }),
      { numRuns: 300 },
    );
    // a valid key packet followed by garbage
    const head = ct.subarray(0, 20);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), async (data) => {
        await failure(decrypt(Buffer.concat([head, Buffer.from(data)])));
      }),
      { numRuns: 100 },
    );
  });

  it('an S2K with the default count (65 MB hashed, as gpg calibrates) and SHA-1 still opens', async () => {
    const plain = patterned(1000);
    const c = await encrypt(plain, { countOctet: 255, hash: SHA1 });
    assert.ok((await decrypt(c)).equals(plain));
  });
});
