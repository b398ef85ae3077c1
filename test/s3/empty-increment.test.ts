/**
 * A backup that finds no change still writes one empty volume (issue 14, point 8): duplicity does
 * the same, and 0.8.22 fails a restore (KeyError in restore_get_patched_rop_iter) when a volume its
 * manifest lists is missing. So it stays, and the planners go around it: the increment's signature
 * file (STANDARD) lists nothing, so neither the thaw plan nor the restore nor verify --compare-data
 * reads its volume. On moto in DEEP_ARCHIVE: the full-restore plan thaws only the full's volume,
 * the restore works with the empty volume still archived. On file://, real duplicity 0.8.22 and
 * 3.x restore the same chain.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { assertSameTree } from '../support/compare.ts';
import { dup08, dup3, requireDuplicity } from '../support/duplicity.ts';
import { fileUrl } from '../support/cli.ts';
import { permafrost as pfTool } from '../support/permafrost.ts';
import { createBucket, describe, envCredentials, headAll, hermeticEnv, lastJson, runCli, type CliResult } from './helpers.ts';

const hooks = fileCleanup();

const BUCKET = 'empty-inc';
const URL = `boto3+s3://${BUCKET}/host`;
const T1 = 1_790_000_000;
const T2 = T1 + 3600;

let moto: MotoServer;
let work: string;
let src: string;

function permafrost(args: readonly string[], code = 0): Promise<CliResult> {
  const full = [...args, '--no-encryption', '--archive-dir', join(work, 'cache'), '--s3-endpoint-url', moto.endpoint];
  return runCli(full, hermeticEnv(envCredentials(), work), 300_000).then((r) => {
    assert.equal(r.code, code, `permafrost ${args.join(' ')}\n${describe(r)}`);
    return r;
  });
}

interface ThawJson {
  toRequest: { objects: number; bytes: number };
  counts: { total: number; ready: number; inProgress: number; archived: number };
  volumes: { name: string; storageClass: string; state: string }[];
}

before(async () => {
  requireDuplicity();
  moto = await startMoto(hooks);
  await createBucket(moto.endpoint, BUCKET);
  work = tmpDir(hooks, 'empty-inc');
  src = join(work, 'data');
  mkdirSync(join(src, 'dir'), { recursive: true });
  writeFileSync(join(src, 'a.txt'), 'alpha\n');
  writeFileSync(join(src, 'dir', 'b.txt'), 'beta\n');
});

test('a no-change incremental in DEEP_ARCHIVE: its empty volume is written, never thawed, never read', async () => {
  await permafrost(['full', '--s3-use-deep-archive', '--current-time', String(T1), src, URL]);
  await permafrost(['incremental', '--s3-use-deep-archive', '--current-time', String(T2), src, URL]);
  const objects = await headAll(moto.endpoint, BUCKET, 'host/');
  const incVolumes = objects.filter((o) => /duplicity-inc\..*\.vol1\.difftar\.gz$/.test(o.key));
  assert.equal(incVolumes.length, 1, 'the incremental still writes its (empty) volume 1, as duplicity does');
  assert.equal(incVolumes[0]!.storageClass, 'DEEP_ARCHIVE');

  // the full-restore plan: the full's volume only
  const plan = lastJson<ThawJson>((await permafrost(['thaw', '--dry-run', '--json', URL])).stdout);
  assert.equal(plan.toRequest.objects, 1);
  assert.deepEqual(
    plan.volumes.map((v) => v.name.replace(/\d{8}T\d{6}Z/g, 'T')),
    ['duplicity-full.T.vol1.difftar.gz'],
  );
  const text = await permafrost(['thaw', '--dry-run', URL]);
  assert.match(`${text.stdout}${text.stderr}`, /reads 1 of 2 volumes .* in 1 backup set/);

  // thaw what the plan says (moto completes restores at once), then restore with the empty volume still archived
  await permafrost(['thaw', URL], 75);
  const thawed = await permafrost(['thaw', URL]);
  assert.match(thawed.stdout, /All 1 volume the restore needs can be read now/);
  const after = await headAll(moto.endpoint, BUCKET, 'host/');
  assert.equal(after.find((o) => o.key === incVolumes[0]!.key)?.storageClass, 'DEEP_ARCHIVE');
  const dest = join(work, 'restored');
  const restore = await permafrost(['restore', URL, dest]);
  assert.doesNotMatch(`${restore.stdout}${restore.stderr}`, /archived/);
  assertSameTree(src, dest, { owner: false });
  await permafrost(['verify', '--compare-data', URL, src]);
  // the increment's time is still what a restore restores
  const status = await permafrost(['collection-status', URL]);
  assert.match(status.stdout, /Number of contained backup sets: 2/);
});

test('real duplicity 0.8.22 and 3.x restore a permafrost chain with a no-change incremental', async () => {
  const target = join(work, 'file-target');
  const url = fileUrl(target);
  const opts = { archiveDir: join(work, 'pf-cache'), name: 'pf' };
  await pfTool.full(src, url, { ...opts, currentTime: T1 });
  await pfTool.incremental(src, url, { ...opts, currentTime: T2 });
  const incManifest = readdirSync(target).find((n) => /^duplicity-inc\..*\.manifest$/.test(n))!;
  assert.match(readFileSync(join(target, incManifest), 'latin1'), /^Volume 1:$/m);
  const dry = await pfTool.restore(url, join(work, 'dry'), { ...opts, extraArgs: ['--dry-run'] });
  assert.deepEqual(
    dry.stdout
      .split('\n')
      .filter((l) => l.startsWith('Required volume:'))
      .map((l) => l.replace(/\d{8}T\d{6}Z/g, 'T')),
    ['Required volume: duplicity-full.T.vol1.difftar.gz'],
  );
  for (const tool of [dup08, dup3]) {
    const dest = join(work, `by-${tool.label.replace(/\W+/g, '-')}`);
    await tool.restore(url, dest, { archiveDir: join(work, `cache-${tool.label.replace(/\W+/g, '-')}`), name: 'd' });
    assertSameTree(src, dest, { owner: false });
  }
});
