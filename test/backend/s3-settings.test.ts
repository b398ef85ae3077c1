import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  dataStorageClass,
  MAX_PARTS,
  MAX_SINGLE_PUT,
  MIN_PART_SIZE,
  MiB,
  partSizeFor,
  storageClassFor,
  usesMultipart,
  type StorageClassFlags,
} from '../../src/backend/s3-settings.ts';
import { runPython } from '../codec/python-oracle.ts';

const FLAG_NAMES = ['s3UseRrs', 's3UseIa', 's3UseOnezoneIa', 's3UseGlacier', 's3UseGlacierIr', 's3UseDeepArchive'] as const;
const DUP_CONFIG = ['s3_use_rrs', 's3_use_ia', 's3_use_onezone_ia', 's3_use_glacier', 's3_use_glacier_ir', 's3_use_deep_archive'];

/**
 * duplicity 0.8.22's S3Boto3Backend._put, run for real with its upload replaced by a recorder:
 * the StorageClass it gives a volume, a manifest and a signature file for each flag set.
 */
function duplicityClasses(flagSets: readonly boolean[][]): string[][] {
  return runPython(
    `
import duplicity.backend as b
import duplicity.backends.s3_boto3_backend as m
names = ${JSON.stringify(DUP_CONFIG)}
class Obj:
    def __init__(self, cap): self.cap = cap
    def upload_file(self, name, Callback=None, Config=None, ExtraArgs=None): self.cap.append(ExtraArgs['StorageClass'])
class FakeS3:
    def __init__(self): self.cap = []
    def Object(self, bucket, key): return Obj(self.cap)
class P: uc_name = '/dev/null'
result = []
for flags in data:
    for n, v in zip(names, flags): setattr(config, n, v)
    be = m.S3Boto3Backend(b.ParsedUrl('boto3+s3://bucket/p'))
    be.s3 = FakeS3(); be.bucket = type('B', (), {'name': 'bucket'})()
    for f in [b'duplicity-full.20200101T000000Z.vol1.difftar.gz', b'duplicity-full.20200101T000000Z.manifest', b'duplicity-full-signatures.20200101T000000Z.sigtar.gz']:
        be._put(P(), f)
    result.append(be.s3.cap)
`,
    flagSets,
  );
}

function flagsOf(bits: readonly boolean[], explicit?: string): StorageClassFlags {
  const f: Record<string, boolean | string> = {};
  FLAG_NAMES.forEach((n, i) => {
    f[n] = bits[i]!;
  });
  if (explicit !== undefined) f['s3StorageClass'] = explicit;
  return f as unknown as StorageClassFlags;
}

test('volumes get the class duplicity 0.8.22 gives them, for every combination of the --s3-use-* flags', () => {
  const sets: boolean[][] = [];
  for (let m = 0; m < 64; m++) sets.push(FLAG_NAMES.map((_, i) => (m & (1 << i)) !== 0));
  const dup = duplicityClasses(sets);
  sets.forEach((bits, i) => {
    const ours = dataStorageClass(flagsOf(bits)).storageClass;
    assert.equal(ours, dup[i]![0], `flags ${FLAG_NAMES.filter((_, j) => bits[j]).join(',') || 'none'}`);
    // manifests and signatures stay in STANDARD (duplicity archives signatures, and puts
    // everything in IA/RRS classes): the documented improvement
    assert.equal(storageClassFor('manifest', { dataStorageClass: ours }), 'STANDARD');
    assert.equal(storageClassFor('signature', { dataStorageClass: ours }), 'STANDARD');
    assert.equal(storageClassFor('volume', { dataStorageClass: ours }), ours);
  });
  // the difference is real: duplicity sends signatures to DEEP_ARCHIVE with --s3-use-deep-archive
  assert.deepEqual(dup[32], ['DEEP_ARCHIVE', 'STANDARD', 'DEEP_ARCHIVE']);
});

test('--s3-storage-class wins over the --s3-use-* flags, and says which it overrides', () => {
  const r = dataStorageClass(flagsOf([false, false, false, false, false, true], 'glacier'));
  assert.equal(r.storageClass, 'GLACIER');
  assert.deepEqual(r.warnings, ['--s3-storage-class GLACIER overrides --s3-use-deep-archive']);
  assert.deepEqual(dataStorageClass(flagsOf([false, false, false, false, false, true], 'DEEP_ARCHIVE')).warnings, []);
  assert.equal(dataStorageClass(flagsOf([false, false, false, false, false, false], 'glacier-ir')).storageClass, 'GLACIER_IR');
  assert.throws(() => dataStorageClass(flagsOf([false, false, false, false, false, false], 'COLD')), /unknown storage class "COLD"/);
});

test('several --s3-use-* flags: the first in duplicity order wins, with a warning', () => {
  const r = dataStorageClass(flagsOf([false, true, false, true, false, false]));
  assert.equal(r.storageClass, 'STANDARD_IA');
  assert.match(r.warnings[0]!, /--s3-use-ia takes precedence over --s3-use-glacier/);
});

test('part sizes: at least 5 MiB, whole MiB, and never more than 10,000 parts', () => {
  assert.equal(partSizeFor(100 * MiB, 1 * MiB), MIN_PART_SIZE);
  assert.equal(partSizeFor(100 * MiB, 10 * MiB), 10 * MiB);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 5 * 1024 * 1024 * MiB }), fc.integer({ min: 1, max: 200 }), (size, chunkMiB) => {
      const p = partSizeFor(size, chunkMiB * MiB);
      assert.ok(p >= MIN_PART_SIZE && p >= chunkMiB * MiB && p % MiB === 0);
      assert.ok(Math.ceil(size / p) <= MAX_PARTS);
    }),
  );
});

test('multipart only above the threshold, and always above 5 GiB (the single-PUT limit)', () => {
  assert.equal(usesMultipart(10 * MiB, 10 * MiB), false);
  assert.equal(usesMultipart(10 * MiB + 1, 10 * MiB), true);
  assert.equal(usesMultipart(MAX_SINGLE_PUT + 1, 100 * MAX_SINGLE_PUT), true);
  assert.equal(usesMultipart(MAX_SINGLE_PUT, 100 * MAX_SINGLE_PUT), false);
});
