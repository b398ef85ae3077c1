/**
 * Glacier restores (issue 4) against moto's S3 server, through the recording proxy: a backup of
 * more than 20 volumes in DEEP_ARCHIVE; GET refused before a thaw; `thaw` requests exactly the
 * volumes the restore then reads (counted at the proxy); moto's state manager keeps restores in
 * progress for a while; a killed `restore --thaw --wait` resumes from its journal without asking
 * again; Expedited without capacity falls back; a copy that expired is requested again.
 */
import { before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setRestoreTransition, startMoto, type MotoServer } from '../support/moto.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { PERMAFROST_BIN } from '../support/permafrost.ts';
import { createBucket, describe, envCredentials, getObject, headAll, hermeticEnv, runCli, type CliResult, lastJson } from './helpers.ts';
import { FaultProxy, type SeenRequest } from './fault-proxy.ts';

const hooks = fileCleanup();

let moto: MotoServer;
let proxy: FaultProxy;
let work: string;
let src: string;
const BUCKET = 'thaw-bucket';
const T1 = 1_790_000_000;
const T2 = T1 + 86_400;
/** files of the full backup: 24 × 1 MiB random in 3 directories, so at least 24 one-MiB volumes */
const FILES = Array.from({ length: 24 }, (_, i) => `${['alpha', 'beta', 'gamma'][i % 3]}/file${String(i).padStart(2, '0')}.bin`);

function permafrost(args: readonly string[], cache: string): Promise<CliResult> {
  const full = [...args, '--no-encryption', '--archive-dir', join(work, cache), '--name', 'host1', '--s3-endpoint-url', proxy.endpoint];
  return runCli(full, hermeticEnv(envCredentials(), work), 300_000);
}

async function ok(args: readonly string[], cache: string): Promise<CliResult> {
  const r = await permafrost(args, cache);
  assert.equal(r.code, 0, `permafrost ${args.join(' ')}\n${describe(r)}`);
  return r;
}

const keyOf = (r: SeenRequest) => decodeURIComponent(r.path.slice(`/${BUCKET}/`.length));
const isVolumeKey = (k: string) => /\.vol\d+\.difftar/.test(k);
const restoreKeys = () => proxy.seen('RestoreObject').map(keyOf);
const volumeGets = (from = 0) => proxy.requests.slice(from).filter((r) => r.operation === 'GetObject' && isVolumeKey(keyOf(r)));

interface ThawJson {
  volumesInSets: number;
  toRequest: { objects: number; bytes: number };
  days: number;
  tier: string;
  counts: { total: number; ready: number; inProgress: number; archived: number };
  quotes: { tier: string; total: number; parts: { storageClass: string; tier: string; objects: number; bytes: number }[] }[];
  volumes: { name: string; size: number; storageClass: string; state: string }[];
}

function sameFile(a: string, b: string): boolean {
  return readFileSync(a).equals(readFileSync(b));
}

let file04: Buffer;
const CHANGED = randomBytes(300_000);

before(async () => {
  moto = await startMoto(hooks);
  proxy = await FaultProxy.start(hooks, moto.endpoint);
  work = tmpDir(hooks, 's3-thaw');
  src = join(work, 'src');
  for (const f of FILES) {
    mkdirSync(join(src, f, '..'), { recursive: true });
    writeFileSync(join(src, f), randomBytes(1 << 20));
  }
  file04 = readFileSync(join(src, 'beta', 'file04.bin'));
  await createBucket(moto.endpoint, BUCKET);
});

/**
 * A chain of its own for one test (restore states live on the objects): a full backup of the
 * 24 files to DEEP_ARCHIVE in 1 MiB volumes, then an incremental that changes beta/file04.bin and
 * adds beta/new.txt. Leaves `src` in the incremental's state. Returns the target URL.
 */
async function chain(name: string): Promise<string> {
  const url = `boto3+s3://${BUCKET}/${name}/`;
  writeFileSync(join(src, 'beta', 'file04.bin'), file04);
  rmSync(join(src, 'beta', 'new.txt'), { force: true });
  await ok(['full', '--s3-use-deep-archive', '--volsize', '1', '--current-time', String(T1), src, url], `cache-${name}`);
  writeFileSync(join(src, 'beta', 'file04.bin'), CHANGED);
  writeFileSync(join(src, 'beta', 'new.txt'), 'added in the incremental\n');
  await ok(['incremental', '--s3-use-deep-archive', '--volsize', '1', '--current-time', String(T2), src, url], `cache-${name}`);
  return url;
}

beforeEach(async () => {
  proxy.clearFaults();
  await setRestoreTransition(moto.endpoint, { progression: 'immediate' });
});

/** The archive dir a chain's commands share (`chain()` made it). */
const cacheOf = (url: string) => `cache-${url.split('/')[3]}`;
const prefixOf = (url: string) => `${url.split('/')[3]}/`;

test('GET is refused before a thaw; restore stops before any GET of a volume and says what to run', async () => {
  const url = await chain('plain');
  const objects = await headAll(moto.endpoint, BUCKET, prefixOf(url));
  const volumes = objects.filter((o) => isVolumeKey(o.key));
  assert.ok(volumes.length >= 24, `${volumes.length} volumes`);
  assert.ok(volumes.every((o) => o.storageClass === 'DEEP_ARCHIVE'));
  assert.ok(objects.filter((o) => !isVolumeKey(o.key)).every((o) => o.storageClass === 'STANDARD'));
  await assert.rejects(getObject(moto.endpoint, BUCKET, volumes[0]!.key), (err: Error) => err.name === 'InvalidObjectState');

  const from = proxy.requests.length;
  const dest = join(work, 'no-thaw');
  const r = await permafrost(['restore', url, dest], cacheOf(url));
  assert.equal(r.code, 51, describe(r));
  assert.match(r.stderr, /archived and not restored: add --thaw/);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.equal(volumeGets(from).length, 0);
  assert.ok(!existsSync(dest) || readdirSync(dest).length === 0);
});

test('thaw --dry-run of one file plans only its volumes and prices them; nothing is requested', async () => {
  const url = await chain('dry');
  const before = restoreKeys().length;
  const r = await ok(['thaw', '--dry-run', '--json', '--file-to-restore', 'gamma/file05.bin', '--days', '3', url], cacheOf(url));
  const plan = lastJson<ThawJson>(r.stdout);
  assert.equal(restoreKeys().length, before, 'no RestoreObject in a dry run');
  // a 1 MiB random file in 1 MiB volumes spans two volumes at most; the whole chain has 24+
  assert.ok(plan.toRequest.objects >= 1 && plan.toRequest.objects <= 2, JSON.stringify(plan.volumes));
  assert.ok(plan.volumesInSets >= 25, String(plan.volumesInSets));
  // the incremental did not touch gamma/: its signature file says so, and none of its volumes is planned
  assert.ok(
    plan.volumes.every((v) => v.name.startsWith('duplicity-full.')),
    JSON.stringify(plan.volumes),
  );
  const changed = lastJson<ThawJson>(
    (await ok(['thaw', '--dry-run', '--json', '--file-to-restore', 'beta/file04.bin', url], cacheOf(url))).stdout,
  );
  assert.ok(
    changed.volumes.some((v) => v.name.startsWith('duplicity-inc.')) && changed.volumes.some((v) => v.name.startsWith('duplicity-full.')),
  );
  // the price, from the spec's DEEP_ARCHIVE prices, by hand
  const GB = 2 ** 30;
  const gb = plan.toRequest.bytes / GB;
  const copies = gb * 0.023 * (3 / 30);
  const std = plan.quotes.find((q) => q.tier === 'Standard')!;
  assert.ok(Math.abs(std.total - ((plan.toRequest.objects / 1000) * 0.1 + gb * 0.02 + copies)) < 1e-12, String(std.total));
  const bulk = plan.quotes.find((q) => q.tier === 'Bulk')!;
  assert.ok(Math.abs(bulk.total - ((plan.toRequest.objects / 1000) * 0.025 + gb * 0.0025 + copies)) < 1e-12, String(bulk.total));
  // DEEP_ARCHIVE has no Expedited: it is priced as Standard, and says so
  assert.deepEqual(
    plan.quotes.find((q) => q.tier === 'Expedited')!.parts.map((p) => p.tier),
    ['Standard'],
  );

  const days = await ok(['thaw', '--dry-run', '--tier', 'Bulk', '--days', '1', url], cacheOf(url));
  assert.match(days.stdout, /--days 1 may be too short: the Bulk tier usually takes up to 2 days/);
  assert.equal(restoreKeys().length, before);
});

test('a single-file thaw requests exactly the volumes the restore then reads; status shows their state', async () => {
  const url = await chain('single');
  const cache = cacheOf(url);
  const before = restoreKeys().length;
  const r = await permafrost(['thaw', '--file-to-restore', 'beta/file04.bin', '--tier', 'Bulk', url], cache);
  // requests sent: restores run (moto finishes them at once, S3 in hours)
  assert.equal(r.code, 75, describe(r));
  assert.match(r.stdout, /thaw in progress: 0\/\d+ volumes ready/);
  const requested = restoreKeys().slice(before);
  assert.ok(requested.length >= 2, 'the full and the incremental set each hold a version of the file');
  assert.ok(requested.every(isVolumeKey));
  assert.equal(new Set(requested).size, requested.length, 'each volume once');
  assert.ok(
    proxy
      .seen('RestoreObject')
      .slice(before)
      .every((q) => /<Tier>Bulk<\/Tier>/.test(q.bodyText ?? '')),
  );

  const from = proxy.requests.length;
  const dest = join(work, 'single.bin');
  await ok(['restore', '--file-to-restore', 'beta/file04.bin', url, dest], cache);
  assert.ok(sameFile(dest, join(src, 'beta', 'file04.bin')));
  const read = new Set(volumeGets(from).map(keyOf));
  assert.deepEqual([...read].sort(), [...requested].sort(), 'thawed = read');
  assert.ok(volumeGets(from).every((g) => g.status === 200));
  // thawing again sends nothing: the copies exist
  const again = restoreKeys().length;
  await ok(['thaw', '--file-to-restore', 'beta/file04.bin', url], cache);
  assert.equal(restoreKeys().length, again);

  const st = lastJson<{ volumes: { name: string; storageClass: string; restore: string; expiry?: number }[] }>(
    (await ok(['collection-status', '--json', url], cache)).stdout,
  );
  const vols = st.volumes.filter((v) => isVolumeKey(v.name));
  assert.ok(vols.length >= 25);
  assert.ok(vols.every((v) => v.storageClass === 'DEEP_ARCHIVE'));
  const restored = vols.filter((v) => v.restore === 'restored');
  assert.deepEqual(restored.map((v) => `${prefixOf(url)}${v.name}`).sort(), [...requested].sort());
  assert.ok(restored.every((v) => typeof v.expiry === 'number' && v.expiry > Date.now() / 1000));
  const text = await ok(['collection-status', url], cache);
  assert.match(text.stdout, /DEEP_ARCHIVE +restored until /);
  assert.match(text.stdout, /DEEP_ARCHIVE +archived/);
});

test('restore --thaw without --wait exits 75 while restores run; with --wait it restores everything', async () => {
  const url = await chain('full');
  const cache = cacheOf(url);
  await new Promise((r) => setTimeout(r, 2100)); // moto's clock for a key starts at its upload
  await setRestoreTransition(moto.endpoint, { progression: 'time', seconds: 2 });
  const dest = join(work, 'full-restore');
  const before = restoreKeys().length;
  const first = await permafrost(['restore', '--thaw', '--tier', 'Bulk', url, dest], cache);
  assert.equal(first.code, 75, describe(first));
  assert.match(first.stdout, /thaw in progress: 0\/\d+ volumes ready: rerun the restore/);
  assert.ok(!existsSync(dest) || readdirSync(dest).length === 0, 'nothing restored yet');
  const requested = restoreKeys().slice(before);
  assert.ok(requested.length >= 25, String(requested.length));
  assert.ok(existsSync(join(work, cache, 'host1', 'permafrost-thaw.json')), 'journal');

  const from = proxy.requests.length;
  const second = await permafrost(['restore', '--thaw', '--wait', '--poll-interval', '1', url, dest], cache);
  assert.equal(second.code, 0, describe(second));
  assert.match(second.stdout, /Thaw: \d+ of \d+ volumes ready \(\d+ being restored\)/);
  assert.match(second.stdout, new RegExp(`Thaw: ${requested.length} of ${requested.length} volumes ready`));
  assert.equal(restoreKeys().length, before + requested.length, 'no second request for a restore in progress');
  const heads = proxy.requests.slice(from).filter((q) => q.operation === 'HeadObject' && isVolumeKey(keyOf(q)));
  assert.ok(heads.length > requested.length, 'polled more than once');
  assert.ok(
    volumeGets(from).every((g) => g.status === 200),
    'no GET before a copy was ready',
  );
  assert.equal(new Set(volumeGets(from).map(keyOf)).size, requested.length, 'every thawed volume read once');
  for (const f of FILES) assert.ok(sameFile(join(dest, f), join(src, f)), f);
  assert.equal(readFileSync(join(dest, 'beta', 'new.txt'), 'utf8'), 'added in the incremental\n');
});

test('a restore killed while waiting resumes from its journal without asking again', async () => {
  const url = await chain('resume');
  const cache = cacheOf(url);
  await new Promise((r) => setTimeout(r, 4100));
  await setRestoreTransition(moto.endpoint, { progression: 'time', seconds: 4 });
  const dest = join(work, 'resumed');
  const before = restoreKeys().length;
  const args = [
    'restore',
    '--thaw',
    '--wait',
    '--poll-interval',
    '1',
    '--file-to-restore',
    'gamma',
    url,
    dest,
    '--no-encryption',
    '--archive-dir',
    join(work, cache),
    '--name',
    'host1',
    '--s3-endpoint-url',
    proxy.endpoint,
  ];
  const child = spawn(process.execPath, [PERMAFROST_BIN, ...args], {
    env: hermeticEnv(envCredentials(), work),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (b: Buffer) => {
      out += b.toString();
      if (/Thaw: \d+ of \d+ volumes ready/.test(out)) {
        child.kill('SIGKILL');
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', () => reject(new Error(`ended before waiting:\n${out}`)));
  });
  await new Promise((r) => child.once('close', r));
  const requested = restoreKeys().slice(before);
  assert.ok(requested.length >= 8, out);
  const journal = JSON.parse(readFileSync(join(work, cache, 'host1', 'permafrost-thaw.json'), 'utf8')) as {
    volumes: Record<string, { requests: number }>;
  };
  assert.deepEqual(Object.keys(journal.volumes).sort(), requested.map((k) => k.slice(prefixOf(url).length)).sort());
  assert.ok(Object.values(journal.volumes).every((v) => v.requests === 1));

  const r = await permafrost(['restore', '--thaw', '--wait', '--poll-interval', '1', '--file-to-restore', 'gamma', url, dest], cache);
  assert.equal(r.code, 0, describe(r));
  assert.equal(restoreKeys().length, before + requested.length, 'the rerun requested nothing again');
  for (const f of FILES.filter((x) => x.startsWith('gamma/'))) assert.ok(sameFile(join(dest, f.slice('gamma/'.length)), join(src, f)), f);
});

test('DEEP_ARCHIVE is never asked for Expedited: Standard is used, and the plan says so', async () => {
  const url = await chain('deepexp');
  const before = proxy.seen('RestoreObject').length;
  const r = await permafrost(['thaw', '--tier', 'Expedited', '--file-to-restore', 'alpha/file00.bin', url], cacheOf(url));
  assert.equal(r.code, 75, describe(r));
  const sent = proxy.seen('RestoreObject').slice(before);
  assert.ok(sent.length >= 1);
  assert.ok(sent.every((q) => /<Tier>Standard<\/Tier>/.test(q.bodyText ?? '')));
  assert.match(r.stdout, /Expedited +\$[\d.]+ +up to 12 h \(DEEP_ARCHIVE uses Standard\)/);
});

test('no Expedited capacity on GLACIER: the requests go as Standard, with a warning', async () => {
  const url = `boto3+s3://${BUCKET}/glacier/`;
  const small = join(work, 'small');
  mkdirSync(small);
  writeFileSync(join(small, 'x.bin'), randomBytes(300_000));
  await ok(['full', '--s3-use-glacier', small, url], 'cache-glacier');
  // every Expedited request (the SDK's own retries of the 503 included) finds no capacity
  proxy.inject(
    (q) => q.operation === 'RestoreObject' && /<Tier>Expedited</.test(q.body ?? ''),
    {
      kind: 'status',
      status: 503,
      code: 'GlacierExpeditedRetrievalNotAvailable',
      message: 'Glacier expedited retrievals are currently not available, please try again later',
    },
    1000,
  );
  const before = proxy.seen('RestoreObject').length;
  const r = await permafrost(['thaw', '--tier', 'Expedited', url], 'cache-glacier');
  assert.equal(r.code, 75, describe(r));
  const sent = proxy.seen('RestoreObject').slice(before);
  const expedited = sent.filter((q) => /<Tier>Expedited</.test(q.bodyText ?? ''));
  const standard = sent.filter((q) => /<Tier>Standard</.test(q.bodyText ?? ''));
  assert.ok(expedited.length >= 1 && expedited.every((q) => q.status === 503));
  assert.equal(standard.length, 1, 'one volume, then asked as Standard');
  assert.ok((standard[0]!.status ?? 500) < 300);
  assert.match(r.stdout, /Expedited retrieval capacity is not available now/);
  const dest = join(work, 'glacier-restore');
  await ok(['restore', url, dest], 'cache-glacier');
  assert.ok(sameFile(join(dest, 'x.bin'), join(small, 'x.bin')));
});

test('a restored copy that expired before it was read is requested again', async () => {
  const url = await chain('expired');
  const cache = cacheOf(url);
  assert.equal((await permafrost(['thaw', '--file-to-restore', 'alpha/file03.bin', url], cache)).code, 75);
  // the first GET of a volume meets an expired copy, as S3 answers it
  proxy.inject(
    (q) => q.operation === 'GetObject' && isVolumeKey(decodeURIComponent(q.path)),
    { kind: 'status', status: 403, code: 'InvalidObjectState', message: "The operation is not valid for the object's storage class" },
    1,
  );
  const before = restoreKeys().length;
  const dest = join(work, 'expired.bin');
  const r = await ok(['restore', '--thaw', '--wait', '--poll-interval', '1', '--file-to-restore', 'alpha/file03.bin', url, dest], cache);
  assert.match(r.stdout, /expired before it was read: requesting it again/);
  assert.equal(restoreKeys().length, before + 1, 'requested again, once');
  assert.ok(sameFile(dest, join(src, 'alpha', 'file03.bin')));
});

test('thaw --batch-manifest writes the S3 Batch Operations CSV and sends no request', async () => {
  const url = await chain('batch');
  const cache = cacheOf(url);
  const before = restoreKeys().length;
  const csv = join(work, 'restore-manifest.csv');
  const r = await ok(['thaw', '--batch-manifest', csv, '--tier', 'Bulk', '--file-to-restore', 'beta', url], cache);
  assert.equal(restoreKeys().length, before);
  const rows = readFileSync(csv, 'utf8').trim().split('\n');
  assert.ok(rows.length >= 8);
  for (const row of rows) {
    const [bucket, key, extra] = row.split(',');
    assert.equal(bucket, BUCKET);
    assert.equal(extra, undefined);
    assert.ok(isVolumeKey(decodeURIComponent(key!)) && decodeURIComponent(key!).startsWith(prefixOf(url)), row);
  }
  assert.match(r.stdout, /S3InitiateRestoreObject/);
  const again = await permafrost(['thaw', '--batch-manifest', csv, url], cache);
  assert.equal(again.code, 52, describe(again));
  const exp = await permafrost(['thaw', '--batch-manifest', join(work, 'x.csv'), '--tier', 'Expedited', url], cache);
  assert.equal(exp.code, 2, describe(exp));
});

test('409 RestoreAlreadyInProgress counts as running: no error, nothing asked again', async () => {
  const url = await chain('conflict');
  const cache = cacheOf(url);
  // S3's answer when another client's restore of the object is running (moto answers 200 instead)
  proxy.inject(
    'RestoreObject',
    { kind: 'status', status: 409, code: 'RestoreAlreadyInProgress', message: 'Object restore is already in progress' },
    1,
  );
  const before = restoreKeys().length;
  const r = await permafrost(['thaw', '--json', '--file-to-restore', 'alpha/file06.bin', url], cache);
  assert.equal(r.code, 75, describe(r));
  const out = lastJson<{ requests: { sent: number; started: number; alreadyRunning: number }; counts: { inProgress: number } }>(r.stdout);
  assert.equal(out.requests.alreadyRunning, 1);
  assert.equal(out.requests.started, out.requests.sent - 1);
  assert.equal(out.counts.inProgress, out.requests.sent);
  assert.equal(restoreKeys().length - before, out.requests.sent, 'one request per volume, the 409 not retried');
});
