/**
 * Keys checked before anything is written (issue 13): with the metadata cache present (so that
 * nothing else would decrypt), an incremental, a verb-less backup and a cleanup --force with the
 * wrong key exit 31 on one line and leave the target and the cache as they were; the chain then
 * still restores with the right key. Mixed modes (--no-encryption on an encrypted chain and the
 * reverse) and public-key chains extended with other recipients are refused the same way.
 * Real processes, file:// targets, real gpg for the keys.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileUrl } from '../support/cli.ts';
import { gpgHome, type GpgHome } from '../support/gpg.ts';
import { runPermafrost } from '../support/permafrost.ts';
import { assertFails, assertOk, describeRun, HOUR, T0 } from '../support/pf-target.ts';
import { tmpDir } from '../support/tmp.ts';

const RIGHT = 'correct horse battery';

/** Every file under `dir` with its bytes, for "unchanged" checks. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name === 'lockfile.lock') continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p, `${rel}${e.name}/`);
      else out.set(`${rel}${e.name}`, readFileSync(p).toString('base64'));
    }
  };
  walk(dir, '');
  return out;
}

interface Chain {
  readonly work: string;
  readonly src: string;
  readonly remote: string;
  readonly url: string;
  readonly archive: string;
  run(args: readonly string[], env?: Record<string, string>): ReturnType<typeof runPermafrost>;
}

function chainDir(label: string, extra: readonly string[] = []): Chain {
  const work = tmpDir({ after }, label);
  const src = join(work, 'src');
  mkdirSync(src);
  const remote = join(work, 'remote');
  const archive = join(work, 'archive');
  return {
    work,
    src,
    remote,
    url: fileUrl(remote),
    archive,
    run: (args, env = {}) => runPermafrost(['--archive-dir', archive, '--name', 'k', ...extra, ...args], env),
  };
}

describe('a symmetric chain, the cache present', () => {
  const c = chainDir('keys-sym');
  let lastGood: string;

  before(async () => {
    writeFileSync(join(c.src, 'a.txt'), 'first\n');
    assertOk(await c.run(['full', '--current-time', String(T0), c.src, c.url], { PASSPHRASE: RIGHT }));
    writeFileSync(join(c.src, 'b.txt'), 'second\n');
    assertOk(await c.run(['incremental', '--current-time', String(T0 + HOUR), c.src, c.url], { PASSPHRASE: RIGHT }));
    lastGood = 'second\n';
    writeFileSync(join(c.src, 'b.txt'), 'changed after the last good backup\n');
  });

  for (const verb of ['incremental', null] as const) {
    it(`${verb ?? 'a verb-less backup'} with the wrong passphrase: exit 31, nothing uploaded, cache unchanged`, async () => {
      const target = snapshot(c.remote);
      const cache = snapshot(c.archive);
      const r = await c.run([...(verb ? [verb] : []), '--current-time', String(T0 + 2 * HOUR), c.src, c.url], { PASSPHRASE: 'wrong' });
      assertFails(
        r,
        31,
        /^cannot open the backup chain at file:\/\/.* with the keys given: its newest manifest duplicity-inc\.\S+\.manifest\.gpg: wrong passphrase; nothing was uploaded$/,
      );
      assert.deepEqual(snapshot(c.remote), target);
      assert.deepEqual(snapshot(c.archive), cache);
    });
  }

  it('an incremental without any passphrase fails first, too (exit 31)', async () => {
    const target = snapshot(c.remote);
    const r = await c.run(['incremental', '--current-time', String(T0 + 2 * HOUR), c.src, c.url]);
    assertFails(r, 31, /passphrase/);
    assert.deepEqual(snapshot(c.remote), target);
  });

  it('--no-encryption on the encrypted chain: exit 31, nothing uploaded', async () => {
    const target = snapshot(c.remote);
    const r = await c.run(['incremental', '--no-encryption', '--current-time', String(T0 + 2 * HOUR), c.src, c.url]);
    assertFails(
      r,
      31,
      /is encrypted, and --no-encryption is given \(the increment would be stored in plain text\): drop --no-encryption, or start a new chain with "full"; nothing was uploaded$/,
    );
    assert.deepEqual(snapshot(c.remote), target);
  });

  it('cleanup --force with the wrong passphrase: exit 31, the leftover not deleted', async () => {
    // what an interrupted incremental leaves: a volume without its manifest
    const leftover = join(c.remote, 'duplicity-inc.20270115T090000Z.to.20270115T100000Z.vol1.difftar.gpg');
    writeFileSync(leftover, 'partial');
    const target = snapshot(c.remote);
    const cache = snapshot(c.archive);
    const r = await c.run(['cleanup', '--force', c.url], { PASSPHRASE: 'wrong' });
    assertFails(r, 31, /manifest\.gpg: wrong passphrase; nothing was deleted$/);
    assert.deepEqual(snapshot(c.remote), target);
    assert.deepEqual(snapshot(c.archive), cache);
    // the right passphrase deletes it: the check is what stopped it
    assertOk(await c.run(['cleanup', '--force', c.url], { PASSPHRASE: RIGHT }));
    assert.ok(!readdirSync(c.remote).includes('duplicity-inc.20270115T090000Z.to.20270115T100000Z.vol1.difftar.gpg'));
  });

  it('the right passphrase still restores the last good state, and extends the chain', async () => {
    const dest = join(c.work, 'restored');
    const r = await c.run(['restore', c.url, dest], { PASSPHRASE: RIGHT });
    assertOk(r);
    assert.equal(readFileSync(join(dest, 'b.txt'), 'utf8'), lastGood);
    assertOk(await c.run(['incremental', '--current-time', String(T0 + 2 * HOUR), c.src, c.url], { PASSPHRASE: RIGHT }));
  });
});

describe('a chain without encryption', () => {
  it('extended with encryption: exit 31, nothing uploaded; with --no-encryption it goes on', async () => {
    const c = chainDir('keys-plain');
    writeFileSync(join(c.src, 'a.txt'), 'plain\n');
    assertOk(await c.run(['full', '--no-encryption', '--current-time', String(T0), c.src, c.url]));
    const target = snapshot(c.remote);
    const r = await c.run(['incremental', '--current-time', String(T0 + HOUR), c.src, c.url], { PASSPHRASE: RIGHT });
    assertFails(
      r,
      31,
      /is not encrypted, and this run would encrypt its increment .*: add --no-encryption, or start a new chain with "full"; nothing was uploaded$/,
    );
    assert.deepEqual(snapshot(c.remote), target);
    assertOk(await c.run(['incremental', '--no-encryption', '--current-time', String(T0 + HOUR), c.src, c.url]));
  });
});

describe('a public-key chain', () => {
  let gpg: GpgHome;
  let alice: string;
  let bob: string;
  let aliceSub: string;
  const KEY_PASS = 'key passphrase';
  /** a keyring with only the public keys: what a backup host needs */
  let publicOnly: string;

  const work = tmpDir({ after }, 'keys-gpg');

  before(() => {
    gpg = gpgHome(work);
    alice = gpg.genKey('Alice <alice@example.com>', 'rsa', KEY_PASS);
    bob = gpg.genKey('Bob <bob@example.com>', 'rsa', KEY_PASS);
    aliceSub = gpg.encryptionSubkeyId(alice);
    const pub = gpgHome(join(work, 'public-only'));
    pub.run(['--import'], { input: gpg.run(['--export', alice, bob]) });
    publicOnly = pub.dir;
    after(() => {
      pub.close();
      gpg.close();
    });
  });

  it("an incremental to another --encrypt-key: exit 31 naming the chain's key, nothing uploaded; the same key (public key only) goes on", async () => {
    const c = chainDir('keys-pk');
    writeFileSync(join(c.src, 'a.txt'), 'for alice\n');
    assertOk(await c.run(['full', '--encrypt-key', alice, '--current-time', String(T0), c.src, c.url], { GNUPGHOME: gpg.dir }));
    writeFileSync(join(c.src, 'b.txt'), 'more\n');
    const target = snapshot(c.remote);
    const other = await c.run(['incremental', '--encrypt-key', bob, '--current-time', String(T0 + HOUR), c.src, c.url], {
      GNUPGHOME: publicOnly,
    });
    assertFails(
      other,
      31,
      new RegExp(
        `is encrypted to public key ${aliceSub}, and this run to ${bob}: give the chain's keys with --encrypt-key, or start a new chain with "full"; nothing was uploaded$`,
      ),
    );
    const added = await c.run(
      ['incremental', '--encrypt-key', alice, '--encrypt-key', bob, '--current-time', String(T0 + HOUR), c.src, c.url],
      { GNUPGHOME: publicOnly },
    );
    assertFails(added, 31, new RegExp(`is encrypted to public key ${aliceSub}, and this run to ${alice}, ${bob}:`));
    const symmetric = await c.run(['incremental', '--current-time', String(T0 + HOUR), c.src, c.url], {
      GNUPGHOME: publicOnly,
      PASSPHRASE: RIGHT,
    });
    assertFails(
      symmetric,
      31,
      new RegExp(`is encrypted to public key ${aliceSub}, and this run encrypts with a passphrase: give --encrypt-key for each of them`),
    );
    assert.deepEqual(snapshot(c.remote), target);
    const same = await c.run(['incremental', '--encrypt-key', 'alice@example.com', '--current-time', String(T0 + HOUR), c.src, c.url], {
      GNUPGHOME: publicOnly,
    });
    assertOk(same, describeRun(same));
    const dest = join(c.work, 'restored');
    assertOk(await c.run(['restore', c.url, dest], { GNUPGHOME: gpg.dir, PASSPHRASE: KEY_PASS }));
    assert.equal(readFileSync(join(dest, 'b.txt'), 'utf8'), 'more\n');
  });

  it('a passphrase chain extended with --encrypt-key: exit 31, nothing uploaded', async () => {
    const c = chainDir('keys-sym-pk');
    writeFileSync(join(c.src, 'a.txt'), 'x\n');
    assertOk(await c.run(['full', '--current-time', String(T0), c.src, c.url], { PASSPHRASE: RIGHT }));
    const target = snapshot(c.remote);
    const r = await c.run(['incremental', '--encrypt-key', alice, '--current-time', String(T0 + HOUR), c.src, c.url], {
      GNUPGHOME: publicOnly,
    });
    assertFails(
      r,
      31,
      /is encrypted with a passphrase, and this run encrypts to public key .*: drop --encrypt-key, or start a new chain with "full"; nothing was uploaded$/,
    );
    assert.deepEqual(snapshot(c.remote), target);
  });
});

describe('a manifest larger than what the check reads', () => {
  it('is judged by its first 64 KiB: the wrong passphrase exits 31, the right one goes on', async () => {
    const c = chainDir('keys-big');
    // random names compress badly: the manifest's file list makes it a few hundred KiB
    for (let i = 0; i < 6000; i++) writeFileSync(join(c.src, randomBytes(30).toString('hex')), '');
    assertOk(await c.run(['full', '--current-time', String(T0), c.src, c.url], { PASSPHRASE: RIGHT }));
    const manifest = readdirSync(c.remote).find((n) => n.endsWith('.manifest.gpg'))!;
    assert.ok(statSync(join(c.remote, manifest)).size > 128 * 1024, `${statSync(join(c.remote, manifest)).size} bytes`);
    writeFileSync(join(c.src, 'new.txt'), 'new\n');
    const target = snapshot(c.remote);
    assertFails(
      await c.run(['incremental', '--current-time', String(T0 + HOUR), c.src, c.url], { PASSPHRASE: 'wrong' }),
      31,
      /manifest\.gpg: wrong passphrase; nothing was uploaded$/,
    );
    assert.deepEqual(snapshot(c.remote), target);
    assertOk(await c.run(['incremental', '--current-time', String(T0 + HOUR), c.src, c.url], { PASSPHRASE: RIGHT }));
  });
});
