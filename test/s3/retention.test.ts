/**
 * Retention on S3 (moto) with archive classes: deleting volumes younger than their class's
 * minimum storage duration shows the early-deletion charge and needs --allow-early-deletion on top
 * of --force. moto stamps LastModified with the real clock, so --current-time makes the objects
 * look young (now + 10 days) or old (now + 200 days).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { createBucket, headAll, type CliResult, runUnencrypted } from './helpers.ts';

const hooks = fileCleanup();

let moto: MotoServer;
let work: string;
const BUCKET = 'retention-bucket';
const PREFIX = 'backups/host1/';
const URL = `boto3+s3://${BUCKET}/${PREFIX}`;
const T1 = 1_790_000_000;
const DAY = 86400;
const GB = 2 ** 30;
/** us-east-1 list prices (USD per GB-month) and minimum durations, from the project's pricing spec. */
const SPEC = { GLACIER: { price: 0.0036, minDays: 90 }, DEEP_ARCHIVE: { price: 0.00099, minDays: 180 } } as const;

before(async () => {
  moto = await startMoto(hooks);
  work = tmpDir(hooks, 's3-retention');
  await createBucket(moto.endpoint, BUCKET);
});

async function permafrost(args: readonly string[], expectCode = 0): Promise<CliResult> {
  return runUnencrypted(args, { work, name: 'ret', endpoint: moto.endpoint }, expectCode);
}

function lastJson<T>(stdout: string): T {
  const i = stdout.indexOf('\n{');
  return JSON.parse(i < 0 ? stdout : stdout.slice(i + 1)) as T;
}

interface Early {
  earlyDeletion: { objects: { name: string; storageClass: string; size: number; remainingDays: number; charge: number }[]; total: number };
  deleted: boolean;
}

const stamp = (t: number) =>
  new Date(t * 1000)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
const keys = async () => (await headAll(moto.endpoint, BUCKET, PREFIX)).map((o) => o.key.slice(PREFIX.length)).sort();

test('early deletion of archived volumes: charge shown, --allow-early-deletion required', async () => {
  const src = join(work, 'src');
  mkdirSync(src);
  const backup = async (verb: string, t: number, cls: string[]) => {
    writeFileSync(join(src, `f${t}`), `${t}\n`.repeat(20_000));
    await permafrost([verb, ...cls, '--current-time', String(t), src, URL]);
  };
  // chain A in DEEP_ARCHIVE (full + inc), chain B in GLACIER, chain C (the active one) in STANDARD
  await backup('full', T1, ['--s3-use-deep-archive']);
  await backup('incremental', T1 + 3600, ['--s3-use-deep-archive']);
  await backup('full', T1 + 7200, ['--s3-use-glacier']);
  await backup('full', T1 + 10800, []);
  const written = Math.floor(Date.now() / 1000);
  const heads = new Map((await headAll(moto.endpoint, BUCKET, PREFIX)).map((o) => [o.key.slice(PREFIX.length), o]));
  const before = await keys();

  // young: every archived volume of chains A and B is inside its minimum
  const young = written + 10 * DAY;
  const plan = lastJson<Early>((await permafrost(['remove-all-but-n-full', '1', '--json', '--current-time', String(young), URL])).stdout);
  const archived = [...heads.entries()].filter(([, o]) => o.storageClass === 'GLACIER' || o.storageClass === 'DEEP_ARCHIVE');
  assert.equal(archived.length, 3);
  assert.deepEqual(plan.earlyDeletion.objects.map((o) => o.name).sort(), archived.map(([k]) => k).sort());
  let total = 0;
  for (const o of plan.earlyDeletion.objects) {
    const spec = SPEC[o.storageClass as keyof typeof SPEC];
    assert.equal(o.storageClass, heads.get(o.name)!.storageClass);
    // age is measured from LastModified (written within the last minutes): about minDays - 10 days left
    assert.ok(Math.abs(o.remainingDays - (spec.minDays - 10)) < 0.05, `${o.name}: ${o.remainingDays} days left`);
    const expected = ((heads.get(o.name)!.size + 32768) / GB) * spec.price * (o.remainingDays / 30);
    assert.ok(Math.abs(o.charge - expected) < 1e-12, `${o.name}: charge ${o.charge}, expected ${expected}`);
    total += expected;
  }
  assert.ok(Math.abs(plan.earlyDeletion.total - total) < 1e-12);
  const listing = await permafrost(['remove-all-but-n-full', '1', '--current-time', String(young), URL]);
  assert.match(
    listing.stdout,
    /3 objects \(\d+ bytes\) to delete are younger than the minimum storage duration of (DEEP_ARCHIVE \(180 days\), GLACIER \(90 days\)|GLACIER \(90 days\), DEEP_ARCHIVE \(180 days\)): deleting now is billed about \$[0-9.e-]+/,
  );
  assert.match(listing.stdout, /Rerun command with --force option to actually delete\./);

  // 100 days on, only the DEEP_ARCHIVE volumes are still inside their minimum
  const later = lastJson<Early>(
    (await permafrost(['remove-all-but-n-full', '1', '--json', '--current-time', String(written + 100 * DAY), URL])).stdout,
  );
  assert.deepEqual(
    later.earlyDeletion.objects.map((o) => o.storageClass),
    ['DEEP_ARCHIVE', 'DEEP_ARCHIVE'],
  );

  // --force alone refuses, and deletes nothing
  const refused = await permafrost(['remove-all-but-n-full', '1', '--force', '--current-time', String(young), URL], 2);
  assert.match(refused.stderr, /refusing to delete 3 objects before the minimum storage duration .*add --allow-early-deletion/);
  assert.deepEqual(await keys(), before);

  // old enough: --force deletes chains A and B without the extra option
  const done = lastJson<Early>(
    (await permafrost(['remove-all-but-n-full', '1', '--force', '--json', '--current-time', String(written + 200 * DAY), URL])).stdout,
  );
  assert.equal(done.deleted, true);
  assert.deepEqual(done.earlyDeletion.objects, []);
  const c = stamp(T1 + 10800);
  assert.deepEqual(
    await keys(),
    before.filter((k) => k.includes(`.${c}.`)),
  );

  // a young GLACIER chain goes with --force --allow-early-deletion
  await backup('full', T1 + 14400, ['--s3-use-glacier']);
  await backup('full', T1 + 18000, []);
  const forced = lastJson<Early>(
    (await permafrost(['remove-all-but-n-full', '1', '--force', '--allow-early-deletion', '--json', '--current-time', String(young), URL]))
      .stdout,
  );
  assert.equal(forced.deleted, true);
  assert.equal(forced.earlyDeletion.objects.length, 1);
  assert.equal(forced.earlyDeletion.objects[0]!.storageClass, 'GLACIER');
  assert.ok((await keys()).every((k) => k.includes(`.${stamp(T1 + 18000)}.`)));
});
