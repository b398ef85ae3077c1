/**
 * `permafrost estimate SOURCE_DIR` through the built CLI (bin/permafrost.js → dist/, so the pricing
 * table must have been copied there): its figures against the hand computation, its volume and
 * signature sizes against a real backup of the same tree, and its errors.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { runPermafrost } from '../support/permafrost.ts';
import { PROJECT_ROOT } from '../support/duplicity.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { ARCHIVE_BYTES, BYTES, FILES, MiB, SIGNATURE_BYTES, writeTree } from '../pricing/sample-tree.ts';

const hooks = fileCleanup();
const GB = 2 ** 30;
let work: string;
let src: string;

before(() => {
  work = tmpDir(hooks, 'cli-estimate');
  src = join(work, 'src');
  writeTree(src);
});

interface Layout {
  objects: number;
  upload: { cost: number };
  monthly: { total: number; data: number; overhead: number; metadata: number };
  minimum: { days: number; cost: number } | null;
  restore: { tiers: { tier: string; total: number }[] };
}
interface EstimateJson {
  storageClass: string;
  classChosenBy: string;
  pricing: { source: string; region: string };
  tree: { files: number; bytes: number };
  perFile: Layout;
  volumes: Layout & { count: number; archiveBytes: number; signatureBytes: number; manifestBytes: number };
}

async function estimate(args: readonly string[], expectCode = 0): Promise<{ stdout: string; stderr: string }> {
  const r = await runPermafrost(['estimate', ...args]);
  assert.equal(r.code, expectCode, `${r.command}\n${r.stdout}\n${r.stderr}`);
  return r;
}

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-9 * Math.abs(b), `${what}: ${a} vs ${b}`);

test('the built CLI prices a tree with the built-in table, as computed by hand', async () => {
  assert.ok(
    statSync(join(PROJECT_ROOT, 'dist/pricing/pricing-us-east-1.json')).isFile(),
    'the build copies the pricing table into dist/ (run npm run build)',
  );
  const e = JSON.parse((await estimate(['--json', '--s3-use-deep-archive', '--volsize', '50', src])).stdout) as EstimateJson;
  assert.deepEqual(
    [e.storageClass, e.classChosenBy, e.pricing.source, e.pricing.region],
    ['DEEP_ARCHIVE', '--s3-use-deep-archive', 'built-in', 'us-east-1'],
  );
  assert.deepEqual([e.tree.files, e.tree.bytes], [FILES, BYTES]);
  // one object per file: 1,000 PUTs at $0.05 per 1,000, and 10 × (Create + 2 parts) at $0.005
  close(e.perFile.upload.cost, (1000 * 0.05) / 1000 + (30 * 0.005) / 1000, 'per-file PUTs');
  close(e.perFile.monthly.total, (BYTES / GB) * 0.00099 + ((1000 * 32768) / GB) * 0.00099 + ((1000 * 8192) / GB) * 0.023, 'per-file month');
  // default --s3-multipart-chunk-size 25: each volume in 2 parts; signatures and manifest one PUT each
  assert.deepEqual([e.volumes.count, e.volumes.archiveBytes, e.volumes.signatureBytes], [3, ARCHIVE_BYTES, SIGNATURE_BYTES]);
  close(e.volumes.upload.cost, (3 * 0.05) / 1000 + (11 * 0.005) / 1000, 'volume PUTs');
  close(e.volumes.minimum!.cost, ((ARCHIVE_BYTES + 3 * 32768) / GB) * 0.00099 * 6, 'minimum');
  // restored copies: --days not given, 7 days
  close(
    e.volumes.restore.tiers.find((t) => t.tier === 'Bulk')!.total,
    (3 * 0.025) / 1000 + (ARCHIVE_BYTES / GB) * 0.0025 + ((ARCHIVE_BYTES / GB) * 0.023 * 7) / 30,
    'Bulk',
  );
});

test('volumes, signatures and manifest match what a real backup of the tree stores', async () => {
  const e = JSON.parse((await estimate(['--json', '--volsize', '50', src])).stdout) as EstimateJson;
  const target = join(work, 'target');
  const r = await runPermafrost([
    'full',
    '--no-encryption',
    '--no-compression',
    '--volsize',
    '50',
    '--archive-dir',
    join(work, 'cache'),
    src,
    `file://${target}`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const names = readdirSync(target);
  const size = (n: string) => statSync(join(target, n)).size;
  const volumes = names.filter((n) => n.includes('.difftar'));
  assert.equal(volumes.length, e.volumes.count);
  assert.equal(
    volumes.reduce((n, v) => n + size(v), 0),
    e.volumes.archiveBytes,
  );
  assert.equal(size(names.find((n) => n.includes('signatures'))!), e.volumes.signatureBytes);
  const manifest = size(names.find((n) => n.endsWith('.manifest'))!);
  assert.ok(
    Math.abs(manifest - e.volumes.manifestBytes) / manifest < 0.05,
    `manifest ${manifest} bytes, estimated ${e.volumes.manifestBytes}`,
  );
});

test('without a class option the estimate is for STANDARD, as a backup would store it, and says so', async () => {
  const { stdout } = await estimate([src]);
  assert.match(stdout, /^Data in STANDARD \(no storage-class option given: the S3 default\)/m);
  assert.match(stdout, /^objects in STANDARD +0 +2$/m);
  // 1,030 requests at $0.005 per 1,000 = $0.00515, shown with two significant digits
  assert.match(stdout, /^upload cost, once +\$0\.0052 +\$/m);
  assert.doesNotMatch(stdout, /full restore/);
});

test('--s3-storage-class and the selection options are those of a backup', async () => {
  const e = JSON.parse((await estimate(['--json', '--s3-storage-class', 'glacier', '--exclude', '**/c*', src])).stdout) as EstimateJson;
  assert.deepEqual(
    [e.storageClass, e.classChosenBy, e.tree.files, e.tree.bytes],
    ['GLACIER', '--s3-storage-class', 990, BYTES - 10 * 12 * MiB],
  );
  assert.deepEqual(
    e.volumes.restore.tiers.map((t) => t.tier),
    ['Expedited', 'Standard', 'Bulk'],
  );
});

test('--pricing-file replaces the built-in prices', async () => {
  const table = JSON.parse(readFileSync(join(PROJECT_ROOT, 'src/pricing/pricing-us-east-1.json'), 'utf8')) as {
    classes: Record<string, Record<string, unknown>>;
  };
  table.classes['DEEP_ARCHIVE']!['putPer1000'] = 0.5;
  const file = join(work, 'prices.json');
  writeFileSync(file, JSON.stringify(table));
  const e = JSON.parse((await estimate(['--json', '--s3-use-deep-archive', '--pricing-file', file, src])).stdout) as EstimateJson;
  assert.equal(e.pricing.source, file);
  close(e.perFile.upload.cost, (1000 * 0.5) / 1000 + (30 * 0.005) / 1000, 'per-file PUTs at $0.50 per 1,000');
});

test('a bad pricing file is exit 2 with one line naming the file and the field', async () => {
  const file = join(work, 'bad-prices.json');
  const table = JSON.parse(readFileSync(join(PROJECT_ROOT, 'src/pricing/pricing-us-east-1.json'), 'utf8')) as {
    classes: Record<string, Record<string, unknown>>;
  };
  table.classes['GLACIER']!['storageGBMonth'] = -1;
  writeFileSync(file, JSON.stringify(table));
  const { stderr } = await estimate(['--s3-use-glacier', '--pricing-file', file, src], 2);
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, stderr);
  assert.ok(lines[0]!.includes(`pricing file ${file}: classes.GLACIER.storageGBMonth must be a finite number >= 0 (got -1)`), stderr);
});

test('estimate takes one local directory: a URL, a missing directory, an unpriced class or tier fail', async () => {
  assert.match((await estimate(['file:///tmp/x'], 2)).stderr, /estimate takes a local SOURCE_DIR/);
  assert.match((await estimate([src, 'file:///tmp/x'], 2)).stderr, /Expected 1 args, got 2/);
  assert.match((await estimate([join(work, 'absent')], 10)).stderr, /does not exist/);
  assert.match((await estimate(['--s3-storage-class', 'OUTPOSTS', src], 2)).stderr, /no prices for storage class OUTPOSTS/);
  assert.match(
    (await estimate(['--s3-use-deep-archive', '--tier', 'expedited', src], 2)).stderr,
    /DEEP_ARCHIVE has no Expedited retrievals/,
  );
});
