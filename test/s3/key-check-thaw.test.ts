/**
 * A thaw proves it can decrypt before it asks for (and pays) anything (issue 13): against moto's
 * S3 through the recording proxy, encrypted chains with their volumes in DEEP_ARCHIVE and the
 * metadata cache present (so the plan itself decrypts nothing); `thaw`, `restore --thaw` and
 * `thaw --batch-manifest` without the passphrase, with the wrong one, or without the secret key
 * of a public-key chain exit 31 having sent zero restore requests. With the key, the same thaw
 * sends them, after one GET of a manifest.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { gpgHome, type GpgHome } from '../support/gpg.ts';
import { createBucket, describe as describeRun, envCredentials, hermeticEnv, runCli, type CliResult } from './helpers.ts';
import { FaultProxy, type SeenRequest } from './fault-proxy.ts';

const hooks = fileCleanup();

let moto: MotoServer;
let proxy: FaultProxy;
let work: string;
let src: string;
const BUCKET = 'keys-thaw';
const T1 = 1_790_000_000;
const PASS = 'the right passphrase';

function permafrost(args: readonly string[], cache: string, env: Record<string, string> = {}): Promise<CliResult> {
  const full = [...args, '--archive-dir', join(work, cache), '--name', 'host1', '--s3-endpoint-url', proxy.endpoint];
  return runCli(full, hermeticEnv({ ...envCredentials(), ...env }, work), 300_000);
}

const keyOf = (r: SeenRequest) => decodeURIComponent(r.path.slice(`/${BUCKET}/`.length));
const restoreRequests = (from: number) => proxy.requests.slice(from).filter((r) => r.operation === 'RestoreObject');
const gets = (from: number) =>
  proxy.requests
    .slice(from)
    .filter((r) => r.operation === 'GetObject')
    .map(keyOf);

/** Exit 31 on one line matching `message`, and not one restore request since `from`. */
function refusedWithoutRequests(r: CliResult, from: number, message: RegExp): void {
  assert.equal(r.code, 31, describeRun(r));
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, describeRun(r));
  assert.match(lines[0]!, message, describeRun(r));
  assert.equal(restoreRequests(from).length, 0, 'restore requests were sent');
}

before(async () => {
  moto = await startMoto(hooks);
  proxy = await FaultProxy.start(hooks, moto.endpoint);
  work = tmpDir(hooks, 's3-keys-thaw');
  src = join(work, 'src');
  mkdirSync(src);
  for (let i = 0; i < 3; i++) writeFileSync(join(src, `file${i}.bin`), randomBytes(1 << 20));
  await createBucket(moto.endpoint, BUCKET);
});

describe('a passphrase chain in DEEP_ARCHIVE', () => {
  const url = `boto3+s3://${BUCKET}/sym/`;
  const cache = 'cache-sym';

  before(async () => {
    const r = await permafrost(['full', '--s3-use-deep-archive', '--volsize', '1', '--current-time', String(T1), src, url], cache, {
      PASSPHRASE: PASS,
    });
    assert.equal(r.code, 0, describeRun(r));
  });

  for (const [what, env, message] of [
    ['no passphrase', {}, /manifest\.gpg: encrypted with a passphrase; none given; no restore request was sent$/],
    ['the wrong passphrase', { PASSPHRASE: 'wrong' }, /manifest\.gpg: wrong passphrase; no restore request was sent$/],
  ] as const) {
    it(`thaw with ${what}: exit 31, zero restore requests`, async () => {
      const from = proxy.requests.length;
      refusedWithoutRequests(await permafrost(['thaw', url], cache, env), from, message);
    });

    it(`restore --thaw --wait with ${what}: exit 31, zero restore requests, nothing restored`, async () => {
      const from = proxy.requests.length;
      const dest = join(work, `dest-${from}`);
      refusedWithoutRequests(await permafrost(['restore', '--thaw', '--wait', url, dest], cache, env), from, message);
      assert.ok(!existsSync(dest) || readdirSync(dest).length === 0);
    });
  }

  it('thaw --batch-manifest without the passphrase: exit 31, no manifest written', async () => {
    const from = proxy.requests.length;
    const file = join(work, 'batch.csv');
    refusedWithoutRequests(
      await permafrost(['thaw', '--batch-manifest', file, url], cache),
      from,
      /none given; no restore request was sent$/,
    );
    assert.ok(!existsSync(file));
  });

  it('with the passphrase the thaw is requested, after one GET (a manifest)', async () => {
    const from = proxy.requests.length;
    const r = await permafrost(['thaw', url], cache, { PASSPHRASE: PASS });
    assert.ok(r.code === 0 || r.code === 75, describeRun(r));
    assert.ok(restoreRequests(from).length >= 3, `${restoreRequests(from).length} restore requests`);
    const read = gets(from);
    assert.equal(read.length, 1, read.join('\n'));
    assert.match(read[0]!, /\.manifest\.gpg$/);
  });
});

describe('a public-key chain in DEEP_ARCHIVE', () => {
  const url = `boto3+s3://${BUCKET}/pk/`;
  const cache = 'cache-pk';
  const KEY_PASS = 'key passphrase';
  let gpg: GpgHome;
  let pub: GpgHome;
  let fpr: string;
  const homes = tmpDir({ after }, 'keys-thaw-gpg');

  before(async () => {
    gpg = gpgHome(join(homes, 'full'));
    fpr = gpg.genKey('Thaw <thaw@example.com>', 'rsa', KEY_PASS);
    pub = gpgHome(join(homes, 'public'));
    pub.run(['--import'], { input: gpg.run(['--export', fpr]) });
    after(() => {
      pub.close();
      gpg.close();
    });
    const r = await permafrost(
      ['full', '--encrypt-key', fpr, '--s3-use-deep-archive', '--volsize', '1', '--current-time', String(T1), src, url],
      cache,
      { GNUPGHOME: gpg.dir },
    );
    assert.equal(r.code, 0, describeRun(r));
  });

  it('thaw and restore --thaw without the secret key: exit 31 naming the key, zero restore requests', async () => {
    const sub = gpg.encryptionSubkeyId(fpr);
    const message = new RegExp(`manifest\\.gpg: encrypted to public key ${sub}; no matching secret key; no restore request was sent$`);
    let from = proxy.requests.length;
    refusedWithoutRequests(await permafrost(['thaw', url], cache, { GNUPGHOME: pub.dir, PASSPHRASE: KEY_PASS }), from, message);
    from = proxy.requests.length;
    refusedWithoutRequests(
      await permafrost(['restore', '--thaw', url, join(work, 'pk-dest')], cache, { GNUPGHOME: pub.dir, PASSPHRASE: KEY_PASS }),
      from,
      message,
    );
  });

  it('the secret key without its passphrase: exit 31, zero restore requests', async () => {
    const from = proxy.requests.length;
    refusedWithoutRequests(await permafrost(['thaw', url], cache, { GNUPGHOME: gpg.dir }), from, /no restore request was sent$/);
  });

  it('with the secret key the thaw is requested', async () => {
    const from = proxy.requests.length;
    const r = await permafrost(['thaw', url], cache, { GNUPGHOME: gpg.dir, PASSPHRASE: KEY_PASS });
    assert.ok(r.code === 0 || r.code === 75, describeRun(r));
    assert.ok(restoreRequests(from).length >= 3, `${restoreRequests(from).length} restore requests`);
  });
});
