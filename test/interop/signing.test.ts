/**
 * Signed backups across tools (`--sign-key`, `--encrypt-sign-key`, SIGN_PASSPHRASE): gpg reports a
 * good signature by the test key on every file permafrost writes (symmetric and public-key);
 * duplicity 0.8.22 restores permafrost's signed chains with its own signature check (gpg's GOODSIG
 * must match --sign-key); permafrost restores duplicity's signed chains with --sign-key and
 * refuses files signed by another key, or not signed, with exit 32, one line naming the file,
 * nothing restored.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { backupStep, newChain, remoteFiles, restoreAndCompare, type Chain } from '../support/chain.ts';
import { dup08, DUP08_PATH, requireDuplicity } from '../support/duplicity.ts';
import { permafrost, PERMAFROST_BIN } from '../support/permafrost.ts';
import { fileUrl, runCommand } from '../support/cli.ts';
import { gpgHome } from '../support/gpg.ts';
import { tmpDir } from '../support/tmp.ts';
import { buildTree, hostileTreeSpec } from '../support/tree.ts';
import { ExitCode } from '../../src/core/errors.ts';

const PASS = 'symmetric pass 3';
const KEY_PASS = 'signing key pass 8';
const root = tmpDir({ after }, 'sign-interop');
const gpg = gpgHome(root);
// every tool here (duplicity's gpg, permafrost's key export, the gpg oracle) uses this keyring, and
// every signing run finds the key's passphrase in SIGN_PASSPHRASE (runCommand passes it on)
process.env['GNUPGHOME'] = gpg.dir;
process.env['SIGN_PASSPHRASE'] = KEY_PASS;
after(() => gpg.close());
let keyFpr = '';
let keyId = '';
let otherFpr = '';
let otherId = '';

before(() => {
  requireDuplicity();
  keyFpr = gpg.genKey('Signing Key <sign@example.com>', 'rsa', KEY_PASS);
  keyId = keyFpr.slice(-8);
  // same passphrase: gpg takes one --passphrase-fd for --symmetric --sign, as duplicity requires
  otherFpr = gpg.genKey('Other Key <other@example.com>', 'ecc', KEY_PASS);
  otherId = otherFpr.slice(-16);
});

/** gpg --decrypt of every permafrost file reports GOODSIG and VALIDSIG by the key. */
function assertGpgGoodSignatures(chain: Chain, passphrase: string): void {
  const files = remoteFiles(chain);
  assert.ok(files.length >= 3 && files.every((f) => f.endsWith('.gpg')), `all remote files are .gpg: ${files.join(', ')}`);
  for (const f of files) {
    const status = join(chain.work, 'gpg-status');
    gpg.run(['--status-file', status, '--decrypt', join(chain.remote, f)], { passphrase });
    const text = readFileSync(status, 'utf8');
    assert.match(text, new RegExp(`^\\[GNUPG:\\] GOODSIG ${keyFpr.slice(-16)} `, 'm'), `${f}: ${text}`);
    assert.match(text, new RegExp(`^\\[GNUPG:\\] VALIDSIG ${keyFpr} `, 'm'), `${f}: ${text}`);
  }
}

describe('permafrost signs, duplicity 0.8.22 and gpg check', () => {
  it('symmetric + --sign-key (SIGN_PASSPHRASE differs from PASSPHRASE): full + incremental, GOODSIG on every file; duplicity --sign-key restores each point; permafrost too', async (t) => {
    const chain = newChain(tmpDir(t, 'pf-sym-sign'), { seed: 61, compression: true, volsize: 1 });
    const opts = { passphrase: PASS, extraArgs: ['--sign-key', keyId] };
    await backupStep(chain, permafrost, 'full', opts);
    await backupStep(chain, permafrost, 'incremental', opts);
    assert.ok(remoteFiles(chain).filter((f) => /\.vol\d+\.difftar\.gpg$/.test(f)).length >= 3, 'several volumes');
    assertGpgGoodSignatures(chain, PASS);
    for (const point of chain.points) {
      await t.test(`duplicity 0.8.22 --sign-key restores step ${point.step}`, () =>
        restoreAndCompare(chain, dup08, point, { restore: opts }),
      );
    }
    await t.test('permafrost --sign-key restores the last point', () =>
      restoreAndCompare(chain, permafrost, chain.points[1]!, { restore: opts }),
    );
    await t.test('duplicity 0.8.22 with --sign-key of another key refuses it (its code 22)', async () => {
      const r = await dup08.restore(chain.url, join(chain.work, 'dup-other'), {
        archiveDir: join(chain.work, 'dup-other-cache'),
        name: chain.name,
        passphrase: PASS,
        extraArgs: ['--sign-key', otherId],
        expectCode: 'any',
      });
      assert.equal(r.code, 22, r.stderr);
      assert.match(r.stdout + r.stderr, new RegExp(`Volume was signed by key ${keyFpr.slice(-16)}, not ${otherId}`));
    });
  });

  it('--encrypt-sign-key (public key + sign, only SIGN_PASSPHRASE): GOODSIG on every file; duplicity 0.8.22 restores, reusing SIGN_PASSPHRASE for decryption', async (t) => {
    const chain = newChain(tmpDir(t, 'pf-pub-sign'), { seed: 62, compression: true, volsize: 1 });
    await backupStep(chain, permafrost, 'full', { passphrase: '', extraArgs: ['--encrypt-sign-key', keyId] });
    await backupStep(chain, permafrost, 'incremental', { passphrase: '', extraArgs: ['--encrypt-sign-key', keyId] });
    assertGpgGoodSignatures(chain, KEY_PASS);
    // no PASSPHRASE at all: both read it from SIGN_PASSPHRASE since the sign key is the recipient
    const restoreOnlySign = async (tool: 'permafrost' | 'duplicity') => {
      const dest = join(chain.work, `restore-${tool}-only-sign`);
      const args = [
        'restore',
        '--archive-dir',
        join(chain.work, `cache-${tool}-only-sign`),
        '--name',
        chain.name,
        '--encrypt-sign-key',
        keyId,
        chain.url,
        dest,
      ];
      if (tool === 'permafrost') await runCommand(process.execPath, [PERMAFROST_BIN, ...args], { label: tool });
      else await runCommand(DUP08_PATH, args, { label: tool });
      return dest;
    };
    for (const point of chain.points) {
      await t.test(`duplicity 0.8.22 --encrypt-sign-key restores step ${point.step}`, () =>
        restoreAndCompare(chain, dup08, point, { restore: { passphrase: KEY_PASS, extraArgs: ['--encrypt-sign-key', keyId] } }),
      );
    }
    await t.test('permafrost and duplicity restore with SIGN_PASSPHRASE alone', async () => {
      for (const tool of ['permafrost', 'duplicity'] as const) {
        const dest = await restoreOnlySign(tool);
        assert.ok(readdirSync(dest).length > 0, `${tool} restored something`);
      }
    });
  });
});

describe('duplicity 0.8.22 signs, permafrost checks', () => {
  it('symmetric + --sign-key full + incremental: permafrost --sign-key restores each point, continues the chain signed, duplicity restores that', async (t) => {
    const chain = newChain(tmpDir(t, 'dup-sym-sign'), { seed: 63, compression: true, volsize: 1 });
    // duplicity refuses a symmetric passphrase different from the signing one (gpg reads one)
    const opts = { passphrase: KEY_PASS, extraArgs: ['--sign-key', keyId] };
    await backupStep(chain, dup08, 'full', opts);
    await backupStep(chain, dup08, 'incremental', opts);
    for (const point of chain.points) {
      await t.test(`permafrost restores step ${point.step}`, () => restoreAndCompare(chain, permafrost, point, { restore: opts }));
    }
    const next = await backupStep(chain, permafrost, 'incremental', opts);
    await t.test("duplicity restores permafrost's signed incremental", () => restoreAndCompare(chain, dup08, next, { restore: opts }));
  });

  it('--encrypt-sign-key full: permafrost restores with --encrypt-sign-key', async (t) => {
    const chain = newChain(tmpDir(t, 'dup-pub-sign'), { seed: 64, compression: true, volsize: 1 });
    await backupStep(chain, dup08, 'full', { passphrase: KEY_PASS, extraArgs: ['--encrypt-sign-key', keyId] });
    await restoreAndCompare(chain, permafrost, chain.points[0]!, {
      restore: { passphrase: KEY_PASS, extraArgs: ['--encrypt-sign-key', keyId] },
    });
  });
});

describe('permafrost refuses what the --sign-key did not sign: exit 32, one line naming the file, nothing restored', () => {
  async function signedBackup(work: string, signKey: string | null): Promise<{ url: string; remote: string }> {
    const src = join(work, 'src');
    buildTree(src, hostileTreeSpec(65, {}));
    const remote = join(work, 'remote');
    const sign = signKey === null ? [] : ['--sign-key', signKey];
    await runCommand(
      process.execPath,
      [
        PERMAFROST_BIN,
        'full',
        '--archive-dir',
        join(work, 'cache'),
        '--name',
        'n',
        '--volsize',
        '50',
        '--current-time',
        '1800000000',
        ...sign,
        src,
        fileUrl(remote),
      ],
      { env: { PASSPHRASE: KEY_PASS } },
    );
    return { url: fileUrl(remote), remote };
  }
  async function pfRestore(work: string, url: string, signKey: string, label: string) {
    const dest = join(work, `dest-${label}`);
    const r = await runCommand(
      process.execPath,
      [PERMAFROST_BIN, 'restore', '--archive-dir', join(work, `cache-${label}`), '--name', 'n', '--sign-key', signKey, url, dest],
      { env: { PASSPHRASE: KEY_PASS }, expectCode: 'any' },
    );
    return { r, dest };
  }
  const errorLines = (stderr: string) =>
    stderr
      .trim()
      .split('\n')
      .filter((l) => l.length > 0);
  const nothingRestored = (dest: string) => assert.ok(!existsSync(dest) || readdirSync(dest).length === 0, `nothing restored into ${dest}`);

  it('signed by another key → exit 32 naming the manifest, its signer and the --sign-key', async (t) => {
    const work = tmpDir(t, 'sig-other');
    const { url } = await signedBackup(work, keyId);
    const { r, dest } = await pfRestore(work, url, otherId, 'other');
    assert.equal(r.code, ExitCode.integrityFailed, r.stderr);
    assert.equal(errorLines(r.stderr).length, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`duplicity-full\\.20270115T080000Z\\.manifest\\.gpg: signed by key ${keyFpr.slice(-16)}, not by --sign-key ${otherId}`),
    );
    nothingRestored(dest);
  });

  it('not signed at all → exit 32', async (t) => {
    const work = tmpDir(t, 'sig-none');
    const { url } = await signedBackup(work, null);
    const { r, dest } = await pfRestore(work, url, keyId, 'none');
    assert.equal(r.code, ExitCode.integrityFailed, r.stderr);
    assert.match(r.stderr, /manifest\.gpg: not signed/);
    nothingRestored(dest);
  });

  it('one volume re-signed by another key with gpg (manifest re-signed to match its SHA1) → exit 32 naming the volume, nothing restored', async (t) => {
    const work = tmpDir(t, 'sig-vol');
    const { url, remote } = await signedBackup(work, keyId);
    const vol = readdirSync(remote).find((f) => f.endsWith('.vol1.difftar.gpg'))!;
    const manifestName = readdirSync(remote).find((f) => f.endsWith('.manifest.gpg'))!;
    const plainVol = join(work, 'vol.plain');
    writeFileSync(plainVol, gpg.run(['--decrypt', join(remote, vol)], { passphrase: KEY_PASS }));
    const signAs = (fpr: string, input: string, output: string) =>
      gpg.run(
        ['--yes', '--pinentry-mode', 'loopback', '--local-user', fpr, '--sign', '--symmetric', '--passphrase-fd', '0', '-o', output, input],
        { input: KEY_PASS },
      );
    signAs(otherFpr, plainVol, join(remote, vol));
    const sha1 = createHash('sha1')
      .update(readFileSync(join(remote, vol)))
      .digest('hex');
    const manifest = gpg.run(['--decrypt', join(remote, manifestName)], { passphrase: KEY_PASS }).toString('latin1');
    const plainManifest = join(work, 'manifest.plain');
    writeFileSync(plainManifest, manifest.replace(/Hash SHA1 [0-9a-f]{40}/, `Hash SHA1 ${sha1}`), 'latin1');
    signAs(keyFpr, plainManifest, join(remote, manifestName));
    const { r, dest } = await pfRestore(work, url, keyId, 'vol');
    assert.equal(r.code, ExitCode.integrityFailed, r.stderr);
    assert.equal(errorLines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`${vol.replaceAll('.', '\\.')}: signed by key ${otherId}, not by --sign-key ${keyId}`));
    nothingRestored(dest);
  });

  it('a wrong SIGN_PASSPHRASE fails the backup with exit 31 before anything is uploaded, and shows nowhere', async (t) => {
    const work = tmpDir(t, 'sig-pass');
    const src = join(work, 'src');
    buildTree(src, hostileTreeSpec(66, {}));
    const wrong = 'not the signing pass';
    const log = join(work, 'log');
    const r = await runCommand(
      process.execPath,
      [
        PERMAFROST_BIN,
        'full',
        '-v9',
        '--log-file',
        log,
        '--archive-dir',
        join(work, 'c'),
        '--name',
        'n',
        '--sign-key',
        keyId,
        src,
        fileUrl(join(work, 'remote')),
      ],
      { env: { PASSPHRASE: PASS, SIGN_PASSPHRASE: wrong }, expectCode: 'any' },
    );
    assert.equal(r.code, ExitCode.decryptFailed, r.stderr);
    assert.match(r.stderr, /passphrase/i);
    for (const text of [r.stdout, r.stderr, readFileSync(log, 'utf8')])
      assert.ok(!text.includes(wrong) && !text.includes(PASS), 'no passphrase in output or log');
    assert.ok(!existsSync(join(work, 'remote')) || readdirSync(join(work, 'remote')).length === 0, 'nothing uploaded');
  });
});
