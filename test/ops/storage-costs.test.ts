/**
 * `collection-status --costs` on S3 (moto) with chains in DEEP_ARCHIVE, GLACIER and STANDARD and an
 * interrupted upload in STANDARD_IA: the monthly cost per chain, per class and in total, and the
 * early-deletion charge of deleting everything, against figures computed here from the objects'
 * HeadObject sizes and classes and the spec's prices (glacier-semantics §0, §1.3, §2.1).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { runPermafrost } from '../support/permafrost.ts';
import { createBucket, headAll, inspector, runUnencrypted, type CliResult, type StoredObject } from '../s3/helpers.ts';

const hooks = fileCleanup();
const BUCKET = 'costs-bucket';
const PREFIX = 'host/';
const URL = `boto3+s3://${BUCKET}/${PREFIX}`;
const T1 = 1_790_000_000;
const DAY = 86400;
const GB = 2 ** 30;
/** us-east-1, USD per GB-month; minimum days; minimum billable bytes (docs/glacier-semantics.md §1.2, §2.1) */
const SPEC: Record<string, { price: number; minDays: number; minBytes: number; archived: boolean }> = {
  STANDARD: { price: 0.023, minDays: 0, minBytes: 0, archived: false },
  STANDARD_IA: { price: 0.0125, minDays: 30, minBytes: 128 * 1024, archived: false },
  GLACIER: { price: 0.0036, minDays: 90, minBytes: 0, archived: true },
  DEEP_ARCHIVE: { price: 0.00099, minDays: 180, minBytes: 0, archived: true },
};

let moto: MotoServer;
let work: string;

before(async () => {
  moto = await startMoto(hooks);
  work = tmpDir(hooks, 'storage-costs');
  await createBucket(moto.endpoint, BUCKET);
});

const permafrost = (args: readonly string[], expectCode = 0): Promise<CliResult> =>
  runUnencrypted(args, { work, name: 'costs', endpoint: moto.endpoint }, expectCode);
const stamp = (t: number) =>
  new Date(t * 1000)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');

/** An object's monthly cost: data (at least the minimum size) and, archived, 32 KB at its price + 8 KB at STANDARD's. */
function monthly(o: StoredObject): number {
  const s = SPEC[o.storageClass]!;
  const data = (Math.max(o.size, s.minBytes) / GB) * s.price;
  return s.archived ? data + (32768 / GB) * s.price + (8192 / GB) * 0.023 : data;
}

interface Costs {
  groups: {
    kind: string;
    startTime?: number;
    primary?: boolean;
    monthly: number;
    earlyDeletion: number;
    classes: { storageClass: string; objects: number; bytes: number; monthly: number }[];
  }[];
  byClass: { storageClass: string; objects: number; bytes: number; monthly: number }[];
  monthly: number;
  earlyDeletion: { objects: number; total: number };
  pricing: { source: string };
}

const close = (a: number, b: number, what: string, rel = 1e-9) => assert.ok(Math.abs(a - b) <= rel * Math.abs(b), `${what}: ${a} vs ${b}`);

test('monthly storage per chain and class, and the charge of deleting everything today', async () => {
  const src = join(work, 'src');
  mkdirSync(src);
  const backup = async (verb: string, t: number, cls: string[]) => {
    writeFileSync(join(src, `f${t}`), `${t}\n`.repeat(30_000));
    await permafrost([verb, ...cls, '--current-time', String(t), src, URL]);
  };
  await backup('full', T1, ['--s3-use-deep-archive']);
  await backup('incremental', T1 + 3600, ['--s3-use-deep-archive']);
  await backup('full', T1 + 7200, ['--s3-use-glacier']);
  await backup('full', T1 + 10800, []);
  // an interrupted upload: a volume without its manifest, in STANDARD_IA (billed as 128 KiB)
  const s3 = inspector(moto.endpoint);
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: `${PREFIX}duplicity-full.${stamp(T1 + 20000)}.vol1.difftar.gz`,
        Body: Buffer.alloc(1000, 1),
        StorageClass: 'STANDARD_IA',
      }),
    );
  } finally {
    s3.destroy();
  }
  const written = Math.floor(Date.now() / 1000);
  const objects = await headAll(moto.endpoint, BUCKET, PREFIX);
  assert.deepEqual([...new Set(objects.map((o) => o.storageClass))].sort(), ['DEEP_ARCHIVE', 'GLACIER', 'STANDARD', 'STANDARD_IA']);

  const now = written + 10 * DAY;
  const r = await permafrost(['collection-status', '--costs', '--json', '--current-time', String(now), URL]);
  const costs = (JSON.parse(r.stdout) as { costs: Costs }).costs;
  assert.equal(costs.pricing.source, 'built-in');

  // the total and each class
  close(
    costs.monthly,
    objects.reduce((n, o) => n + monthly(o), 0),
    'total per month',
  );
  for (const cls of Object.keys(SPEC)) {
    const mine = objects.filter((o) => o.storageClass === cls);
    const got = costs.byClass.find((c) => c.storageClass === cls)!;
    assert.deepEqual([got.objects, got.bytes], [mine.length, mine.reduce((n, o) => n + o.size, 0)], cls);
    close(
      got.monthly,
      mine.reduce((n, o) => n + monthly(o), 0),
      `${cls} per month`,
    );
  }

  // each chain holds its sets and signature files (named with its full's time); the stray is apart
  const groupOf = (key: string) => [T1, T1 + 7200, T1 + 10800, T1 + 20000].find((t) => key.includes(stamp(t)))!;
  assert.deepEqual(
    costs.groups.map((g) => [g.kind, g.startTime ?? null, g.primary ?? null]),
    [
      ['chain', T1, false],
      ['chain', T1 + 7200, false],
      ['chain', T1 + 10800, true],
      ['other', null, null],
    ],
  );
  for (const [i, t] of [T1, T1 + 7200, T1 + 10800, T1 + 20000].entries()) {
    close(
      costs.groups[i]!.monthly,
      objects.filter((o) => groupOf(o.key) === t).reduce((n, o) => n + monthly(o), 0),
      `group ${i} per month`,
    );
  }

  // deleting all today: every object of a class with a minimum is about 10 days old
  const young = objects.filter((o) => SPEC[o.storageClass]!.minDays > 0);
  assert.equal(costs.earlyDeletion.objects, young.length);
  const charge = (o: StoredObject) => {
    const s = SPEC[o.storageClass]!;
    return ((Math.max(o.size, s.minBytes) + (s.archived ? 32768 : 0)) / GB) * s.price * ((s.minDays - 10) / 30);
  };
  // ages count from LastModified, a few seconds before `written`
  close(
    costs.earlyDeletion.total,
    young.reduce((n, o) => n + charge(o), 0),
    'early deletion',
    1e-4,
  );
  close(
    costs.groups[0]!.earlyDeletion,
    young.filter((o) => groupOf(o.key) === T1).reduce((n, o) => n + charge(o), 0),
    'chain 1 early deletion',
    1e-4,
  );
  assert.equal(costs.groups[2]!.earlyDeletion, 0);

  // the text: after the status, per chain and total
  const text = await permafrost(['collection-status', '--costs', '--current-time', String(now), URL]);
  assert.match(text.stdout, /^Storage costs \(us-east-1 list prices of 2026-06 in USD, built-in table\):$/m);
  assert.match(text.stdout, /^ {2}Chain 3 of 3 \(primary\), .*: \$[0-9.]+ per month$/m);
  assert.match(text.stdout, /^ {2}Not in any chain \(interrupted or orphaned\): /m);
  assert.match(text.stdout, /^ {4}DEEP_ARCHIVE +\d+ objects .* \+ [0-9.]+ KiB per-object overhead: \$[0-9.]+ per month$/m);
  assert.match(
    text.stdout,
    /^ {2}Deleting everything today would add \$[0-9.]+: 4 objects are younger than their class's minimum storage duration/m,
  );

  // a year on nothing is inside its minimum
  const old = (
    JSON.parse(
      (await permafrost(['collection-status', '--costs', '--json', '--current-time', String(written + 365 * DAY), URL])).stdout,
    ) as { costs: Costs }
  ).costs;
  assert.deepEqual(old.earlyDeletion, { objects: 0, total: 0 });
});

test('--costs: a bad pricing file is exit 2 before the target is read; a file:// target is priced as STANDARD', async () => {
  const bad = join(work, 'bad.json');
  writeFileSync(bad, '{"region": "us-east-1"}');
  const r = await permafrost(['collection-status', '--costs', '--pricing-file', bad, URL], 2);
  assert.ok(r.stderr.includes(`pricing file ${bad}: classes is missing`), r.stderr);

  const src = join(work, 'plain');
  mkdirSync(src);
  writeFileSync(join(src, 'a'), 'a'.repeat(5000));
  const target = `file://${join(work, 'file-target')}`;
  const full = await runPermafrost(['full', '--no-encryption', '--archive-dir', join(work, 'cache2'), src, target]);
  assert.equal(full.code, 0, full.stderr);
  const st = await runPermafrost(['collection-status', '--costs', '--archive-dir', join(work, 'cache2'), target]);
  assert.equal(st.code, 0, st.stderr);
  assert.match(st.stdout, /The target has no storage classes: its 3 objects are priced as S3 STANDARD\./);
});
