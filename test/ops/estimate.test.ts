/**
 * `estimate`'s figures against a hand computation: a tree of 1,000 files of known sizes, priced with
 * the spec's us-east-1 numbers written out here (glacier-semantics §0, §2), not read from the table.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import fc from 'fast-check';
import { estimateCosts, scanTree, TreeTally, uploadRequests, type Estimate, type TreeTotals } from '../../src/ops/estimate/estimate.ts';
import { silentReporter } from '../../src/ops/reporter.ts';
import { Selection } from '../../src/fs/selection.ts';
import { builtinPricing } from '../../src/pricing/pricing-table.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { ARCHIVE_BYTES, BYTES, FILES, MiB, SIGNATURE_BYTES, writeTree } from '../pricing/sample-tree.ts';

const hooks = fileCleanup();
const GB = 2 ** 30;

let src: string;
let tree: TreeTotals;

before(async () => {
  src = join(tmpDir(hooks, 'estimate'), 'src');
  writeTree(src);
  tree = (await scanTree(src, Selection.all(Buffer.from(src)), new TreeTally(0, 2048), silentReporter)).totals;
});

const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1e-12, Math.abs(b)), `${what}: ${a} vs ${b}`);

test('the scan counts the tree: files, bytes, tar framing and signatures', () => {
  assert.equal(tree.entries, FILES + 1);
  assert.equal(tree.files, FILES);
  assert.equal(tree.bytes, BYTES);
  assert.equal(tree.largestFile, 12 * MiB);
  assert.equal(tree.archiveBytes, ARCHIVE_BYTES);
  // the librsync signatures alone: 12 bytes + 12 per block (8, 512 and 6,144 blocks)
  assert.equal(tree.signatureChecksumBytes, 900 * (12 + 8 * 12) + 90 * (12 + 512 * 12) + 10 * (12 + 6144 * 12));
  assert.equal(tree.perFileBilledBytes, BYTES);
  // aws s3 sync: the 12 MiB files go up in two 8 MiB parts each
  assert.deepEqual([tree.perFileMultipartFiles, tree.perFileParts], [10, 20]);
});

function deepArchive(): Estimate {
  return estimateCosts(src, tree, builtinPricing(), {
    storageClass: 'DEEP_ARCHIVE',
    volsize: 50 * MiB,
    multipartThreshold: 25 * MiB,
    partSize: 25 * MiB,
    restoreDays: 7,
  });
}

test("DEEP_ARCHIVE, one object per file: the guide's arithmetic", () => {
  const f = deepArchive().perFile;
  assert.deepEqual([f.objects, f.bytes, f.metadataObjects], [1000, BYTES, 0]);
  // 1,000 PUTs at $0.05 per 1,000; the 12 MiB files: CreateMultipartUpload + 2 parts at STANDARD's $0.005
  assert.deepEqual([f.upload.classRequests, f.upload.standardRequests], [1000, 30]);
  close(f.upload.cost, (1000 * 0.05) / 1000 + (30 * 0.005) / 1000, 'PUT cost');
  // 40 KB per object: 32 KB at $0.00099, 8 KB at $0.023 per GB-month
  assert.equal(f.overheadBytes, 1000 * 40 * 1024);
  close(f.monthly.data, (BYTES / GB) * 0.00099, 'data per month');
  close(f.monthly.overhead, ((1000 * 32768) / GB) * 0.00099 + ((1000 * 8192) / GB) * 0.023, 'overhead per month');
  close(f.monthly.total, (BYTES / GB) * 0.00099 + ((1000 * 32768) / GB) * 0.00099 + ((1000 * 8192) / GB) * 0.023, 'per month');
  // 180 days = 6 months of the DEEP_ARCHIVE part (data + 32 KB each)
  assert.equal(f.minimum?.days, 180);
  close(f.minimum!.cost, ((BYTES + 1000 * 32768) / GB) * 0.00099 * 6, 'minimum');
  // restore: Standard $0.10 per 1,000 + $0.02/GB; Bulk $0.025 per 1,000 + $0.0025/GB; copies 7 days at $0.023
  const copies = ((BYTES / GB) * 0.023 * 7) / 30;
  assert.deepEqual(
    f.restore.tiers.map((q) => q.tier),
    ['Standard', 'Bulk'],
  );
  close(f.restore.tiers[0]!.total, (1000 * 0.1) / 1000 + (BYTES / GB) * 0.02 + copies, 'Standard restore');
  close(f.restore.tiers[1]!.total, (1000 * 0.025) / 1000 + (BYTES / GB) * 0.0025 + copies, 'Bulk restore');
  assert.deepEqual(f.restore.tiers[1]!.typicalHours, [0, 48]);
  close(f.restore.getCost, (1000 * 0.0004) / 1000, 'GETs');
});

test('DEEP_ARCHIVE, packed in 50 MiB volumes: 3 volumes, a manifest and a signature file', () => {
  const v = deepArchive().volumes;
  // 154,798,592 bytes of tar / 52,428,800 = 2.95: three volumes, 50 + 50 + 47.6 MiB
  assert.equal(ARCHIVE_BYTES, 154_798_592);
  assert.deepEqual([v.count, v.objects, v.bytes, v.metadataObjects], [3, 3, ARCHIVE_BYTES, 2]);
  assert.equal(v.signatureBytes, SIGNATURE_BYTES);
  // each volume in 2 parts of 25 MiB: Create + 2 parts (STANDARD) + Complete (DEEP_ARCHIVE);
  // the signature file and the manifest: one STANDARD PUT each
  assert.deepEqual([v.upload.classRequests, v.upload.standardRequests], [3, 3 * 3 + 2]);
  close(v.upload.cost, (3 * 0.05) / 1000 + (11 * 0.005) / 1000, 'PUT cost');
  assert.equal(v.overheadBytes, 3 * 40 * 1024);
  close(v.monthly.data, (ARCHIVE_BYTES / GB) * 0.00099, 'data per month');
  close(v.monthly.overhead, ((3 * 32768) / GB) * 0.00099 + ((3 * 8192) / GB) * 0.023, 'overhead per month');
  close(v.monthly.metadata, ((SIGNATURE_BYTES + v.manifestBytes) / GB) * 0.023, 'metadata per month');
  // the manifest: a line per file (`    new      a0000\n`: 19 bytes), a block per volume (two paths, a
  // SHA1: ~150 bytes), the header (host, source, signature record); the CLI test compares a real one
  assert.ok(v.manifestBytes > 1000 * 19 + 3 * 150 && v.manifestBytes < 1000 * 19 + 3 * 200 + 300 + src.length, String(v.manifestBytes));
  close(v.minimum!.cost, ((ARCHIVE_BYTES + 3 * 32768) / GB) * 0.00099 * 6, 'minimum');
  const copies = ((ARCHIVE_BYTES / GB) * 0.023 * 7) / 30;
  close(v.restore.tiers[0]!.total, (3 * 0.1) / 1000 + (ARCHIVE_BYTES / GB) * 0.02 + copies, 'Standard restore');
  close(v.restore.tiers[1]!.total, (3 * 0.025) / 1000 + (ARCHIVE_BYTES / GB) * 0.0025 + copies, 'Bulk restore');
});

test('GLACIER has an Expedited tier; --tier keeps one; STANDARD needs no restore', () => {
  const p = builtinPricing();
  const base = { volsize: 50 * MiB, multipartThreshold: 25 * MiB, partSize: 25 * MiB, restoreDays: 1 };
  const g = estimateCosts(src, tree, p, { ...base, storageClass: 'GLACIER' });
  assert.deepEqual(
    g.volumes.restore.tiers.map((q) => q.tier),
    ['Expedited', 'Standard', 'Bulk'],
  );
  // Expedited: $10 per 1,000 requests + $0.03/GB
  close(
    g.perFile.restore.tiers[0]!.requestCost + g.perFile.restore.tiers[0]!.retrievalCost,
    (1000 * 10) / 1000 + (BYTES / GB) * 0.03,
    'Expedited',
  );
  close(g.perFile.upload.cost, (1000 * 0.03) / 1000 + (30 * 0.005) / 1000, 'GLACIER PUTs');
  const bulk = estimateCosts(src, tree, p, { ...base, storageClass: 'GLACIER', tier: 'Bulk' });
  assert.deepEqual(
    bulk.volumes.restore.tiers.map((q) => q.tier),
    ['Bulk'],
  );
  const s = estimateCosts(src, tree, p, { ...base, storageClass: 'STANDARD' });
  assert.deepEqual([s.archived, s.perFile.restore.tiers.length, s.perFile.overheadBytes, s.perFile.minimum], [false, 0, 0, null]);
  close(s.perFile.monthly.total, (BYTES / GB) * 0.023, 'STANDARD per month');
  close(s.perFile.upload.cost, (1030 * 0.005) / 1000, 'STANDARD PUTs');
});

test('STANDARD_IA bills each object at least 128 KiB and reads at $0.01/GB', async () => {
  const ia = (await scanTree(src, Selection.all(Buffer.from(src)), new TreeTally(131_072, 2048), silentReporter)).totals;
  // the 900 files of 4 KiB are billed as 128 KiB each
  assert.equal(ia.perFileBilledBytes, 900 * 131_072 + 90 * 262_144 + 10 * 12 * MiB);
  const e = estimateCosts(src, ia, builtinPricing(), {
    storageClass: 'STANDARD_IA',
    volsize: 50 * MiB,
    multipartThreshold: 25 * MiB,
    partSize: 25 * MiB,
    restoreDays: 7,
  });
  close(e.perFile.monthly.data, (ia.perFileBilledBytes / GB) * 0.0125, 'IA data');
  close(e.perFile.restore.directRetrievalCost, (BYTES / GB) * 0.01, 'IA retrieval');
  close(e.perFile.minimum!.cost, (ia.perFileBilledBytes / GB) * 0.0125 * 1, 'IA 30-day minimum');
});

test('a class the table does not price is a usage error', () => {
  assert.throws(
    () =>
      estimateCosts(src, tree, builtinPricing(), {
        storageClass: 'OUTPOSTS',
        volsize: MiB,
        multipartThreshold: MiB,
        partSize: MiB,
        restoreDays: 1,
      }),
    (e: Error & { exitCode?: number }) => e.exitCode === 2 && /OUTPOSTS/.test(e.message),
  );
});

test('upload requests: one PUT up to the threshold, else Create + parts + Complete (property)', () => {
  fc.assert(
    fc.property(fc.nat({ max: 6 * 2 ** 40 }), fc.integer({ min: 5, max: 512 }), (size, chunkMiB) => {
      const chunk = chunkMiB * MiB;
      const u = uploadRequests(size, chunk, chunk);
      assert.equal(u.final, 1);
      if (size <= Math.min(chunk, 5 * 1024 * MiB)) assert.equal(u.staging, 0);
      else {
        // parts of the configured size, grown (in whole MiB) when more than 10,000 would be needed
        const part = Math.max(chunk, Math.ceil(size / 10_000 / MiB) * MiB);
        assert.equal(u.staging, 1 + Math.ceil(size / part));
        assert.ok(u.staging - 1 >= 2 && u.staging - 1 <= 10_000);
      }
    }),
  );
});

test('the scan is linear: the totals of two trees are the sums of each (property)', () => {
  const meta = (size: number, name: string) => ({
    index: [Buffer.from(name)],
    type: 'reg' as const,
    mode: 0o644,
    uid: 0,
    gid: 0,
    uname: '',
    gname: '',
    mtime: 0,
    size,
    linkname: Buffer.alloc(0),
    devmajor: 0,
    devminor: 0,
  });
  fc.assert(
    fc.property(fc.array(fc.nat({ max: 2 ** 36 }), { maxLength: 30 }), fc.array(fc.nat({ max: 2 ** 36 }), { maxLength: 30 }), (a, b) => {
      const ta = new TreeTally(131_072, 2048);
      const tb = new TreeTally(131_072, 2048);
      const tab = new TreeTally(131_072, 2048);
      a.forEach((s, i) => {
        ta.add(meta(s, `a${i}`));
        tab.add(meta(s, `a${i}`));
      });
      b.forEach((s, i) => {
        tb.add(meta(s, `b${i}`));
        tab.add(meta(s, `b${i}`));
      });
      for (const k of Object.keys(tab.totals) as (keyof TreeTotals)[]) {
        if (k === 'largestFile') assert.equal(tab.totals[k], Math.max(ta.totals[k], tb.totals[k]));
        else assert.equal(tab.totals[k], ta.totals[k] + tb.totals[k], k);
      }
      // every file's data is in the archive, with at least one header
      assert.ok(tab.totals.archiveBytes >= tab.totals.bytes + 512 * tab.totals.files);
    }),
  );
});
