/**
 * `thaw` and `restore --thaw` on a file:// target, which has no archive storage: the plan says
 * every volume is readable, nothing is journalled, and the restore runs as without --thaw.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPermafrost } from '../support/permafrost.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';

const hooks = fileCleanup();

test('file:// targets need no thaw: the plan reads only what the path needs, all readable', async () => {
  const work = tmpDir(hooks, 'thaw-file');
  const src = join(work, 'src');
  mkdirSync(join(src, 'a'), { recursive: true });
  mkdirSync(join(src, 'b'), { recursive: true });
  for (let i = 0; i < 6; i++) writeFileSync(join(src, i < 3 ? 'a' : 'b', `f${i}`), Buffer.alloc(700_000, i + 1));
  const url = `file://${join(work, 'target')}`;
  const common = ['--no-encryption', '--no-compression', '--archive-dir', join(work, 'cache'), '--name', 'n'];
  const b = await runPermafrost(['full', '--volsize', '1', ...common, src, url]);
  assert.equal(b.code, 0, b.stderr);

  const plan = await runPermafrost(['thaw', '--json', '--file-to-restore', 'a/f0', ...common, url]);
  assert.equal(plan.code, 0, plan.stderr);
  const p = JSON.parse(plan.stdout) as { volumesInSets: number; counts: { total: number; ready: number }; toRequest: { objects: number } };
  assert.ok(p.volumesInSets >= 4, String(p.volumesInSets));
  assert.ok(p.counts.total >= 1 && p.counts.total < p.volumesInSets);
  assert.equal(p.counts.ready, p.counts.total);
  assert.equal(p.toRequest.objects, 0);
  assert.ok(!existsSync(join(work, 'cache', 'n', 'permafrost-thaw.json')));

  const dest = join(work, 'out');
  const r = await runPermafrost(['restore', '--thaw', '--wait', ...common, url, dest]);
  assert.equal(r.code, 0, r.stderr);
  for (let i = 0; i < 6; i++) assert.ok(readFileSync(join(dest, i < 3 ? 'a' : 'b', `f${i}`)).equals(Buffer.alloc(700_000, i + 1)));

  const batch = await runPermafrost(['thaw', '--batch-manifest', join(work, 'm.csv'), ...common, url]);
  assert.equal(batch.code, 2, batch.stderr);
  assert.match(batch.stderr, /--batch-manifest needs an S3 target/);
});
