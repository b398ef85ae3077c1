/**
 * `verify` after the cache is lost (a fresh --archive-dir) checks what it checked before: each
 * manifest records the size and CRC-32C of its set's volumes and signature file as S3 stored them,
 * so archived volumes are still compared by HEAD, not only for presence. Damage made behind
 * permafrost's back after that (an object replaced by other bytes of the same size) is caught, with
 * exit 1, from the manifests' records alone. Encrypted backups keep the records inside the
 * encrypted manifests.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { parseManifest } from '../../src/codec/manifest.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { FaultProxy } from './fault-proxy.ts';
import {
  createBucket,
  describe as describeRun,
  envCredentials,
  getObject,
  headAll,
  hermeticEnv,
  inspector,
  runCli,
  type CliResult,
  type StoredObject,
  lastJson,
  type VerifyJson,
} from './helpers.ts';
import { escapeRegExp } from '../support/regex.ts';

const hooks = fileCleanup();
const BUCKET = 'durable-verify';
const T1 = 1_790_000_000;
const PASSPHRASE = 'durable records passphrase';

let moto: MotoServer;
let proxy: FaultProxy;

before(async () => {
  moto = await startMoto(hooks);
  proxy = await FaultProxy.start(hooks, moto.endpoint);
  await createBucket(moto.endpoint, BUCKET);
});

for (const encrypted of [false, true]) {
  test(`${encrypted ? 'encrypted' : 'unencrypted'}: after the cache is lost, verify compares sizes and CRC-32C from the manifests, and catches a same-size replacement`, async () => {
    const work = tmpDir(hooks, `durable-${encrypted ? 'gpg' : 'plain'}`);
    const prefix = `${encrypted ? 'gpg' : 'plain'}/host1/`;
    const url = `boto3+s3://${BUCKET}/${prefix}`;
    const env = hermeticEnv({ ...envCredentials(), ...(encrypted ? { PASSPHRASE } : {}) }, work);
    let cache = join(work, 'cache-1');
    const run = async (args: readonly string[], expectCode = 0, endpoint = moto.endpoint): Promise<CliResult> => {
      const r = await runCli(
        [...args, ...(encrypted ? [] : ['--no-encryption']), '--archive-dir', cache, '--name', 'd', '--s3-endpoint-url', endpoint],
        env,
      );
      assert.equal(r.code, expectCode, `permafrost ${args.join(' ')}\n${describeRun(r)}`);
      return r;
    };
    const src = join(work, 'src');
    mkdirSync(src);
    // a 7 MiB volume in multipart uploads of 5 MiB (S3's FULL_OBJECT CRC-32C), then small ones
    writeFileSync(join(src, 'big.bin'), randomBytes(7_000_000));
    await run([
      'full',
      '--s3-use-deep-archive',
      '--volsize',
      '7',
      '--s3-multipart-chunk-size',
      '5',
      '--current-time',
      String(T1),
      src,
      url,
    ]);
    writeFileSync(join(src, 'more.bin'), randomBytes(1_500_000));
    await run(['incremental', '--s3-use-deep-archive', '--volsize', '1', '--current-time', String(T1 + 3600), src, url]);

    const objects = await headAll(moto.endpoint, BUCKET, prefix);
    const volumes = objects.filter((o) => o.key.includes('.difftar'));
    const signatures = objects.filter((o) => o.key.includes('-signatures.'));
    const manifests = objects.filter((o) => o.key.includes('.manifest'));
    assert.ok(volumes.length >= 3 && volumes.every((o) => o.storageClass === 'DEEP_ARCHIVE'), JSON.stringify(objects));
    assert.ok(
      volumes.some((o) => o.size > 5 * 1024 * 1024),
      'one volume went up in several parts',
    );
    assert.equal(manifests.length, 2);
    assert.ok(
      objects.every((o) => o.crc32c !== undefined),
      'moto keeps a CRC-32C for every object',
    );

    if (!encrypted) {
      // the manifests hold what S3 reports for each object (moto computes these itself)
      const byName = new Map<string, StoredObject>(objects.map((o) => [o.key.slice(prefix.length), o]));
      for (const m of manifests) {
        const parsed = parseManifest(await getObject(moto.endpoint, BUCKET, m.key));
        const stem = m.key.slice(prefix.length).replace(/\.manifest$/, '');
        for (const v of parsed.volumes) {
          const o = [...byName.entries()].find(([n]) => n.startsWith(`${stem}.vol${v.volume}.difftar`))![1];
          assert.deepEqual(v.stored, { size: o.size, crc32c: o.crc32c });
        }
        const sig = signatures.find((s) =>
          s.key
            .slice(prefix.length)
            .startsWith(
              stem.replace(/^duplicity-full\./, 'duplicity-full-signatures.').replace(/^duplicity-inc\./, 'duplicity-new-signatures.'),
            ),
        )!;
        assert.deepEqual(parsed.signatureStored, { size: sig.size, crc32c: sig.crc32c });
      }
    }

    // the cache is lost: a fresh archive dir, no upload log
    rmSync(cache, { recursive: true });
    cache = join(work, 'cache-2');
    proxy.requests.length = 0;
    let r = await run(['verify', '--json', url, src], 0, proxy.endpoint);
    const j = lastJson<VerifyJson>(r.stdout);
    assert.deepEqual([j.sets, j.volumes, j.problems, j.extra], [2, volumes.length, [], []]);
    assert.equal(j.checked.crc32c, volumes.length + signatures.length, 'volumes and signature files by size and CRC-32C');
    assert.equal(j.checked.read, manifests.length, 'manifests read whole');
    assert.deepEqual([j.checked.presence, j.checked.size], [0, 0]);
    assert.deepEqual(j.recordsFrom, { manifest: volumes.length + signatures.length, uploadLog: 0 });
    const got = proxy
      .seen('GetObject')
      .map((q) => decodeURIComponent(q.path))
      .sort();
    assert.deepEqual(got, manifests.map((o) => `/${BUCKET}/${o.key}`).sort(), 'only the manifests are read');
    assert.equal(proxy.seen('HeadObject').length, volumes.length + signatures.length);

    // a volume and a signature file replaced behind permafrost's back: same key, same size, other bytes
    const victim = volumes[volumes.length - 1]!;
    const sigVictim = signatures[0]!;
    const c = inspector(moto.endpoint);
    try {
      await c.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: victim.key,
          Body: randomBytes(victim.size),
          ChecksumAlgorithm: 'CRC32C',
          StorageClass: 'DEEP_ARCHIVE',
        }),
      );
      await c.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: sigVictim.key,
          Body: randomBytes(sigVictim.size),
          ChecksumAlgorithm: 'CRC32C',
          StorageClass: 'STANDARD',
        }),
      );
    } finally {
      c.destroy();
    }
    const now = new Map((await headAll(moto.endpoint, BUCKET, prefix)).map((o) => [o.key, o]));
    assert.equal(now.get(victim.key)!.size, victim.size);
    assert.notEqual(now.get(victim.key)!.crc32c, victim.crc32c);
    rmSync(cache, { recursive: true, force: true });
    r = await run(['verify', url, src], 1);
    const name = (key: string) => key.slice(prefix.length);
    assert.match(
      r.stdout,
      new RegExp(
        `^Checksum mismatch: ${escapeRegExp(name(victim.key))}: CRC-32C ${escapeRegExp(now.get(victim.key)!.crc32c!)} at the target, ${escapeRegExp(victim.crc32c!)} recorded at upload$`,
        'm',
      ),
    );
    assert.match(
      r.stdout,
      new RegExp(
        `^Checksum mismatch: ${escapeRegExp(name(sigVictim.key))}: CRC-32C ${escapeRegExp(now.get(sigVictim.key)!.crc32c!)} at the target, ${escapeRegExp(sigVictim.crc32c!)} recorded at upload$`,
        'm',
      ),
    );
    assert.match(r.stdout, /0 missing, 2 mismatched or unreadable, 0 extra\./);
    assert.match(
      r.stdout,
      new RegExp(
        `${volumes.length + signatures.length - 2} by size and CRC-32C recorded at upload \\(${volumes.length + signatures.length} recorded in the manifests, 0 in the cache's upload log\\)`,
      ),
    );
  });
}

test('manifests without records (written before records existed): the upload log serves while the cache lasts, then presence only', async () => {
  const work = tmpDir(hooks, 'durable-old');
  const prefix = 'old/host1/';
  const url = `boto3+s3://${BUCKET}/${prefix}`;
  const env = hermeticEnv(envCredentials(), work);
  const cacheRoot = join(work, 'cache');
  const run = async (args: readonly string[], expectCode = 0): Promise<CliResult> => {
    const r = await runCli(
      [...args, '--no-encryption', '--archive-dir', cacheRoot, '--name', 'o', '--s3-endpoint-url', moto.endpoint],
      env,
    );
    assert.equal(r.code, expectCode, `permafrost ${args.join(' ')}\n${describeRun(r)}`);
    return r;
  };
  const src = join(work, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'a.bin'), randomBytes(2_500_000));
  await run(['full', '--s3-use-deep-archive', '--volsize', '1', '--current-time', String(T1), src, url]);

  // what an older permafrost wrote: the same manifest without the record lines, at the target and
  // in the cache, its upload logged as that version logged it
  const before = await headAll(moto.endpoint, BUCKET, prefix);
  const manifest = before.find((o) => o.key.endsWith('.manifest'))!;
  const old = Buffer.from(
    (await getObject(moto.endpoint, BUCKET, manifest.key))
      .toString('latin1')
      .split('\n')
      .filter((l) => !/^\s*Permafrost\w*Stored /.test(l))
      .join('\n'),
    'latin1',
  );
  assert.ok(old.length < manifest.size);
  assert.equal(parseManifest(old).volumes.filter((v) => v.stored).length, 0);
  const c = inspector(moto.endpoint);
  try {
    await c.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: manifest.key, Body: old, ChecksumAlgorithm: 'CRC32C', StorageClass: 'STANDARD' }),
    );
  } finally {
    c.destroy();
  }
  const rewritten = (await headAll(moto.endpoint, BUCKET, prefix)).find((o) => o.key === manifest.key)!;
  const cache = join(cacheRoot, 'o');
  writeFileSync(join(cache, manifest.key.slice(prefix.length)), old);
  appendFileSync(
    join(cache, 'permafrost-uploads.jsonl'),
    `${JSON.stringify({ name: manifest.key.slice(prefix.length), bucket: BUCKET, key: manifest.key, size: rewritten.size, storageClass: 'STANDARD', checksumAlgorithm: 'CRC32C', checksumType: 'FULL_OBJECT', checksum: rewritten.crc32c })}\n`,
  );

  let j = lastJson<VerifyJson>((await run(['verify', '--json', url, src])).stdout);
  assert.deepEqual(j.problems, []);
  assert.equal(j.checked.crc32c, before.length);
  assert.deepEqual(j.recordsFrom, { manifest: 0, uploadLog: before.length });

  // a same-size replacement is caught from the log too
  const victim = before.find((o) => o.key.includes('.vol1.'))!;
  const c2 = inspector(moto.endpoint);
  try {
    await c2.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: victim.key,
        Body: randomBytes(victim.size),
        ChecksumAlgorithm: 'CRC32C',
        StorageClass: 'DEEP_ARCHIVE',
      }),
    );
  } finally {
    c2.destroy();
  }
  j = lastJson<VerifyJson>((await run(['verify', '--json', url, src], 1)).stdout);
  assert.deepEqual(
    j.problems.map((p) => [p.kind, p.name]),
    [['checksum', victim.key.slice(prefix.length)]],
  );

  // with the cache gone, such a chain can only be checked for presence, and the summary says so
  rmSync(cacheRoot, { recursive: true });
  const r = await run(['verify', '--json', url, src]);
  j = lastJson<VerifyJson>(r.stdout);
  assert.deepEqual([j.checked.crc32c, j.checked.read, j.checked.presence], [0, 1, before.length - 1]);
  // with --json the summary line is on stderr (docs/output.md)
  assert.match(r.stderr, new RegExp(`${before.length - 1} by presence only \\(no upload record\\)`));
});
