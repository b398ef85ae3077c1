/**
 * Encrypted backups across tools (issue 5): permafrost and real duplicity (0.8.22 and 3.x) read each
 * other's `.gpg` chains, symmetric (PASSPHRASE) and public-key (--encrypt-key, a key generated in a
 * throw-away GNUPGHOME), over a full and its incrementals; gpg itself decrypts every file permafrost
 * writes; wrong passphrases, missing keys and tampering fail with their exit codes, naming the file
 * and writing nothing; and the passphrase shows up in no output, log or process list.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { backupStep, newChain, remoteFiles, restoreAndCompare, type Chain } from '../support/chain.ts';
import { duplicities, requireDuplicity, dup08 } from '../support/duplicity.ts';
import { permafrost, PERMAFROST_BIN } from '../support/permafrost.ts';
import { runCommand, fileUrl } from '../support/cli.ts';
import { gpgHome } from '../support/gpg.ts';
import { tmpDir } from '../support/tmp.ts';
import { buildTree, hostileTreeSpec } from '../support/tree.ts';
import { ExitCode } from '../../src/core/errors.ts';

const PASS = 'interop pass phrase 7';
const KEY_PASS = 'secret key pass 9';
const root = tmpDir({ after }, 'enc-interop');
const gpg = gpgHome(root);
// every tool here (duplicity's gpg, permafrost's key export, the gpg oracle) uses this keyring
process.env['GNUPGHOME'] = gpg.dir;
after(() => gpg.close());
let keyFpr = '';
let keyId = '';
let secretKeyFile = '';

before(() => {
  requireDuplicity();
  keyFpr = gpg.genKey('Interop Key <interop@example.com>', 'rsa', KEY_PASS);
  keyId = keyFpr.slice(-8);
  secretKeyFile = join(root, 'secret-key.gpg');
  writeFileSync(secretKeyFile, gpg.run(['--export-secret-keys', keyFpr], { passphrase: KEY_PASS }));
});

/** gpg --decrypt of every permafrost file of a chain: volumes are tars padded to 10240 bytes. */
function assertGpgDecryptsAll(chain: Chain, passphrase: string): void {
  const files = remoteFiles(chain);
  assert.ok(files.length > 0 && files.every((f) => f.endsWith('.gpg')), `all remote files are .gpg: ${files.join(', ')}`);
  for (const f of files) {
    const plain = gpg.run(['--decrypt', join(chain.remote, f)], { passphrase });
    if (f.includes('.difftar.')) assert.equal(plain.length % 10240, 0, `${f}: tar plus duplicity's zero footer`);
    if (f.includes('.manifest.')) assert.match(plain.toString('latin1'), /^Hostname /);
    if (f.includes('.sigtar.')) assert.equal(plain.length % 10240, 0, `${f}: a whole tar`);
  }
}

describe('symmetric (PASSPHRASE)', () => {
  const sym = { passphrase: PASS };

  it('permafrost full + 2 incrementals: gpg decrypts every file; duplicity 0.8.22 and 3.x restore every point', async (t) => {
    const chain = newChain(tmpDir(t, 'pf-sym'), { seed: 51, compression: true, volsize: 1 });
    await backupStep(chain, permafrost, 'full', sym);
    await backupStep(chain, permafrost, 'incremental', sym);
    await backupStep(chain, permafrost, 'incremental', sym);
    assert.ok(remoteFiles(chain).filter((f) => /^duplicity-full\..*\.vol\d+\.difftar\.gpg$/.test(f)).length >= 2, 'volumes rotate');
    assertGpgDecryptsAll(chain, PASS);
    for (const dup of duplicities) {
      for (const point of chain.points) {
        await t.test(`${dup.label} restores step ${point.step}`, () => restoreAndCompare(chain, dup, point, { restore: sym }));
      }
    }
    await t.test('permafrost restores the last point', () => restoreAndCompare(chain, permafrost, chain.points[2]!, { restore: sym }));
  });

  for (const dup of duplicities) {
    it(`${dup.label} full + incremental: permafrost restores each point, continues the chain from the remote alone, ${dup.label} restores that`, async (t) => {
      const chain = newChain(tmpDir(t, 'dup-sym'), { seed: 52, compression: true, volsize: 1 });
      await backupStep(chain, dup, 'full', sym);
      await backupStep(chain, dup, 'incremental', sym);
      for (const point of chain.points) {
        await t.test(`permafrost restores step ${point.step}`, () => restoreAndCompare(chain, permafrost, point, { restore: sym }));
      }
      // permafrost's archive dir is empty: it decrypts the chain's .sigtar.gpg files from the remote
      const next = await backupStep(chain, permafrost, 'incremental', sym);
      await t.test(`${dup.label} restores permafrost's incremental`, () => restoreAndCompare(chain, dup, next, { restore: sym }));
      await t.test('permafrost restores it too', () => restoreAndCompare(chain, permafrost, next, { restore: sym }));
    });
  }
});

describe('public key (--encrypt-key)', () => {
  const backupOpts = () => ({ passphrase: '', extraArgs: ['--encrypt-key', keyId] });
  const restoreOpts = () => ({ passphrase: KEY_PASS, extraArgs: ['--encrypt-key', keyId] });

  it('permafrost full + incremental with only the public key; duplicity 0.8.22 and 3.x restore with the secret key', async (t) => {
    const chain = newChain(tmpDir(t, 'pf-pub'), { seed: 53, compression: true, volsize: 1 });
    await backupStep(chain, permafrost, 'full', backupOpts());
    await backupStep(chain, permafrost, 'incremental', backupOpts());
    for (const f of remoteFiles(chain)) {
      assert.match(
        gpg.run(['--list-packets', join(chain.remote, f)], { passphrase: KEY_PASS }).toString(),
        new RegExp(`pubkey enc packet: version 3, algo 1, keyid ${gpg.encryptionSubkeyId(keyFpr)}`),
      );
    }
    assertGpgDecryptsAll(chain, KEY_PASS);
    for (const dup of duplicities) {
      for (const point of chain.points) {
        await t.test(`${dup.label} restores step ${point.step}`, () => restoreAndCompare(chain, dup, point, { restore: restoreOpts() }));
      }
    }
    await t.test('permafrost restores with the secret key from --key-file (no gpg keyring involved)', () =>
      restoreAndCompare(chain, permafrost, chain.points[1]!, {
        restore: {
          passphrase: KEY_PASS,
          extraArgs: ['--encrypt-key', keyId, '--key-file', secretKeyFile, '--gpg-binary', '/nonexistent/gpg'],
        },
      }),
    );
  });

  it('duplicity 0.8.22 full + incremental to the key: permafrost restores (key from the gpg keyring) and continues the chain', async (t) => {
    const chain = newChain(tmpDir(t, 'dup-pub'), { seed: 54, compression: true, volsize: 1 });
    await backupStep(chain, dup08, 'full', backupOpts());
    await backupStep(chain, dup08, 'incremental', backupOpts());
    for (const point of chain.points) {
      await t.test(`permafrost restores step ${point.step}`, () => restoreAndCompare(chain, permafrost, point, { restore: restoreOpts() }));
    }
    // a fresh cache: the signatures must be decrypted, which needs the secret key and its passphrase
    const next = await backupStep(chain, permafrost, 'incremental', restoreOpts());
    await t.test('duplicity restores it', () => restoreAndCompare(chain, dup08, next, { restore: restoreOpts() }));
  });
});

describe('failures: exit code, one line naming the file, nothing restored', () => {
  async function pfBackup(
    work: string,
    args: string[],
    env: Record<string, string>,
  ): Promise<{ src: string; url: string; remote: string }> {
    const src = join(work, 'src');
    buildTree(src, hostileTreeSpec(55, {}));
    const remote = join(work, 'remote');
    await runCommand(
      process.execPath,
      [
        PERMAFROST_BIN,
        'full',
        '--archive-dir',
        join(work, 'cache'),
        '--name',
        'n',
        '--current-time',
        '1800000000',
        ...args,
        src,
        fileUrl(remote),
      ],
      { env },
    );
    return { src, url: fileUrl(remote), remote };
  }
  async function pfRestore(work: string, url: string, args: string[], env: Record<string, string>, label: string) {
    const dest = join(work, `dest-${label}`);
    const r = await runCommand(
      process.execPath,
      [PERMAFROST_BIN, 'restore', '--archive-dir', join(work, `cache-${label}`), '--name', 'n', ...args, url, dest],
      { env, expectCode: 'any' },
    );
    return { r, dest };
  }
  const errorLine = (stderr: string) =>
    stderr
      .trim()
      .split('\n')
      .filter((l) => l.length > 0);
  const nothingRestored = (dest: string) => assert.ok(!existsSync(dest) || readdirSync(dest).length === 0, `nothing restored into ${dest}`);

  it('wrong passphrase → exit 31 naming the manifest; no passphrase at all → exit 31', async (t) => {
    const work = tmpDir(t, 'fail-pass');
    const { url } = await pfBackup(work, [], { PASSPHRASE: PASS });
    const { r, dest } = await pfRestore(work, url, [], { PASSPHRASE: 'not the passphrase' }, 'wrong');
    assert.equal(r.code, ExitCode.decryptFailed, r.stderr);
    assert.deepEqual(errorLine(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /duplicity-full\.20270115T080000Z\.manifest\.gpg: wrong passphrase/);
    nothingRestored(dest);
    const none = await pfRestore(work, url, [], {}, 'none');
    assert.equal(none.r.code, ExitCode.decryptFailed, none.r.stderr);
    assert.match(none.r.stderr, /manifest\.gpg: encrypted with a passphrase; none given/);
    nothingRestored(none.dest);
  });

  it('missing secret key → exit 31 naming the file and the key', async (t) => {
    const work = tmpDir(t, 'fail-key');
    const { url } = await pfBackup(work, ['--encrypt-key', keyId], {});
    const emptyHome = join(work, 'empty-gnupg');
    mkdirSync(emptyHome, { mode: 0o700 });
    const { r, dest } = await pfRestore(work, url, [], { GNUPGHOME: emptyHome, PASSPHRASE: KEY_PASS }, 'nokey');
    assert.equal(r.code, ExitCode.decryptFailed, r.stderr);
    assert.match(r.stderr, new RegExp(`manifest\\.gpg: encrypted to public key ${gpg.encryptionSubkeyId(keyFpr)}; no matching secret key`));
    nothingRestored(dest);
  });

  it('tampered volume (manifest hash made to match) → exit 32 naming the volume, nothing restored', async (t) => {
    const work = tmpDir(t, 'fail-mdc');
    const { url, remote } = await pfBackup(work, ['--volsize', '50'], { PASSPHRASE: PASS });
    const vol = readdirSync(remote).find((f) => f.endsWith('.vol1.difftar.gpg'))!;
    const manifestName = readdirSync(remote).find((f) => f.endsWith('.manifest.gpg'))!;
    const bytes = readFileSync(join(remote, vol));
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    writeFileSync(join(remote, vol), bytes);
    // re-encrypt the manifest (with gpg) with the tampered volume's SHA1, so that only the MDC can tell
    const manifest = gpg.run(['--decrypt', join(remote, manifestName)], { passphrase: PASS }).toString('latin1');
    const sha1 = (await import('node:crypto')).createHash('sha1').update(bytes).digest('hex');
    const plainManifest = join(work, 'manifest.plain');
    writeFileSync(plainManifest, manifest.replace(/Hash SHA1 [0-9a-f]{40}/, `Hash SHA1 ${sha1}`), 'latin1');
    gpg.run(['--yes', '--symmetric', '-o', join(remote, manifestName), plainManifest], { passphrase: PASS });
    const { r, dest } = await pfRestore(work, url, [], { PASSPHRASE: PASS }, 'mdc');
    assert.equal(r.code, ExitCode.integrityFailed, r.stderr);
    assert.match(r.stderr, new RegExp(`${vol.replaceAll('.', '\\.')}: integrity check failed`));
    nothingRestored(dest);
  });

  it('tampered signature file → list-current-files exits 32 naming it', async (t) => {
    const work = tmpDir(t, 'fail-sig');
    const { url, remote } = await pfBackup(work, [], { PASSPHRASE: PASS });
    const sig = readdirSync(remote).find((f) => f.includes('.sigtar.gpg'))!;
    const bytes = readFileSync(join(remote, sig));
    bytes[bytes.length - 40]! ^= 0x80;
    writeFileSync(join(remote, sig), bytes);
    const r = await runCommand(
      process.execPath,
      [PERMAFROST_BIN, 'list-current-files', '--archive-dir', join(work, 'cache-list'), '--name', 'n', url],
      { env: { PASSPHRASE: PASS }, expectCode: 'any' },
    );
    assert.equal(r.code, ExitCode.integrityFailed, r.stderr);
    assert.match(r.stderr, new RegExp(`${sig.replaceAll('.', '\\.')}: integrity check failed`));
  });
});

describe('the passphrase never shows', () => {
  it('not in output, --log-file, error messages, nor any process command line while a backup runs', async (t) => {
    const work = tmpDir(t, 'secret');
    const src = join(work, 'src');
    buildTree(src, hostileTreeSpec(56, {}));
    const log = join(work, 'log');
    const url = fileUrl(join(work, 'remote'));
    const seen: string[] = [];
    let running = true;
    const poll = (async () => {
      while (running) {
        for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
          try {
            seen.push(readFileSync(`/proc/${pid}/cmdline`, 'latin1'));
          } catch {
            // gone
          }
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const backup = await runCommand(
      process.execPath,
      [PERMAFROST_BIN, 'full', '-v9', '--log-file', log, '--archive-dir', join(work, 'c'), '--name', 'n', '--volsize', '1', src, url],
      { env: { PASSPHRASE: PASS } },
    );
    const passFile = join(work, 'passfile');
    writeFileSync(passFile, `${PASS}\n`);
    const restore = await runCommand(process.execPath, [
      PERMAFROST_BIN,
      'restore',
      '-v9',
      '--log-file',
      log,
      '--archive-dir',
      join(work, 'c2'),
      '--name',
      'n',
      '--passphrase-file',
      passFile,
      url,
      join(work, 'r'),
    ]);
    const wrong = 'a wrong pass phrase';
    const failed = await runCommand(
      process.execPath,
      [PERMAFROST_BIN, 'restore', '-v9', '--log-file', log, '--archive-dir', join(work, 'c3'), '--name', 'n', url, join(work, 'r3')],
      { env: { PASSPHRASE: wrong }, expectCode: ExitCode.decryptFailed },
    );
    const onArgv = await runCommand(process.execPath, [PERMAFROST_BIN, 'restore', '--passphrase', PASS, url, join(work, 'r4')], {
      expectCode: ExitCode.usage,
    });
    running = false;
    await poll;
    assert.ok(seen.length > 50, `the process list was sampled (${seen.length} command lines)`);
    assert.ok(
      seen.some((c) => c.includes(PERMAFROST_BIN)),
      'the sampling saw permafrost running',
    );
    for (const c of seen)
      assert.ok(!c.includes(PASS) || c.includes('--passphrase\0'), `passphrase in a command line: ${c.replaceAll('\0', ' ')}`);
    const texts = {
      backupOut: backup.stdout + backup.stderr,
      restoreOut: restore.stdout + restore.stderr,
      failedOut: failed.stdout + failed.stderr,
      argvOut: onArgv.stdout + onArgv.stderr,
      log: readFileSync(log, 'utf8'),
    };
    for (const [where, text] of Object.entries(texts)) {
      assert.ok(!text.includes(PASS), `passphrase in ${where}`);
      assert.ok(!text.includes(wrong), `wrong passphrase in ${where}`);
    }
    assert.match(texts.failedOut, /wrong passphrase/);
    assert.match(texts.argvOut, /--passphrase-file/);
    assert.ok(readdirSync(join(work, 'r')).length > 0, 'the --passphrase-file restore worked');
  });
});
