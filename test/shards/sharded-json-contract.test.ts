/**
 * The stdout contract (docs/output.md) on a sharded file:// target, every verb that behaves
 * differently there, with two workers told their index by JOB_COMPLETION_INDEX: with --json
 * --progress -v info, stdout is ONE JSON document that matches the verb's schema (the sharded
 * shapes in docs/schemas/sharded.schema.json) and the messages and progress are on stderr; a
 * target without a complete generation gives the error document (exit 12). Without --json, the
 * text results and the messages are on stdout and stderr stays empty, as for one target.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { RunResult } from '../support/cli.ts';
import { fileUrl } from '../support/cli.ts';
import { assertMatchesSchema } from '../support/json-schemas.ts';
import { runPermafrost } from '../support/permafrost.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { backupWorkers, common, HOUR, skewedTree, T0, type ShardedSetup } from './harness.ts';

const t = fileCleanup();
const N = 2;
const LOUD = ['--json', '--progress', '-v', 'info'];

function show(r: RunResult): string {
  return `$ ${r.command}\nexit ${r.code}\n--- stdout ---\n${r.stdout.slice(0, 3000)}\n--- stderr ---\n${r.stderr.slice(-3000)}`;
}

/** stdout is one JSON document, whole, matching docs/schemas/<schema>.schema.json; exit `code`. */
function documentOf(r: RunResult, schema: string, code = 0): Record<string, unknown> {
  assert.equal(r.code, code, show(r));
  let doc: unknown;
  try {
    doc = JSON.parse(r.stdout);
  } catch (err) {
    assert.fail(`stdout is not one JSON document (${(err as Error).message})\n${show(r)}`);
  }
  assert.ok(r.stdout.endsWith('}\n') && !r.stdout.endsWith('\n\n'), `stdout ends with the document and one newline\n${show(r)}`);
  assertMatchesSchema(schema, doc, r.command);
  return doc as Record<string, unknown>;
}

/** `permafrost VERB --json --progress -v info ARGS` on the sharded target. */
function loud(s: ShardedSetup, verb: string, ...args: string[]): Promise<RunResult> {
  return runPermafrost([verb, ...LOUD, ...common(s), ...args]);
}

/** duplicity's time string of epoch seconds (20270115T080000Z). */
function timeString(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/[-:]|\.\d+/g, '');
}

function setupIn(work: string): ShardedSetup & { remote: string } {
  const remote = join(work, 'remote');
  return { url: fileUrl(remote), remote, archiveDir: join(work, 'archive'), env: {} };
}

describe('the --json contract on a sharded file:// target', () => {
  it('every verb prints one document its schema accepts; messages and progress on stderr; no complete generation: the error document', async () => {
    const work = tmpDir(t, 'shards-json');
    const s = setupIn(work);
    const src = join(work, 'src');
    skewedTree(src, { bigFiles: 6 });
    const full = ['full', ...LOUD, '--current-time', String(T0), src, s.url];

    // worker 0 alone: an incomplete generation, which no read uses
    const [w0] = await backupWorkers(s, [0], N, full);
    const first = documentOf(w0!, 'full');
    assert.equal(first['run'], 'full');
    assert.equal(first['complete'], false);
    assert.match(w0!.stderr, /^A d\d+\/f\d\.txt$/m, `-v info lists the files on stderr\n${show(w0!)}`);
    assert.match(w0!.stderr, /100(\.0)?%/, `the progress on stderr\n${show(w0!)}`);
    const none = await loud(s, 'list-current-files', s.url);
    const error = documentOf(none, 'error', 12)['error'] as { name: string; message: string };
    assert.equal(error.name, 'noChain');
    assert.ok(none.stderr.split('\n').includes(error.message), `the message is on stderr too\n${show(none)}`);
    const noRestore = await loud(s, 'restore', s.url, join(work, 'never'));
    assert.equal((documentOf(noRestore, 'error', 12)['error'] as { name: string }).name, 'noChain');

    const [w1] = await backupWorkers(s, [1], N, full);
    // a backup without --shards of a sharded target: the usage error's document, nothing written
    const plain = await runPermafrost([...LOUD, ...common(s), src, s.url]);
    assert.equal((documentOf(plain, 'error', 2)['error'] as { name: string }).name, 'usage');
    assert.equal(documentOf(w1!, 'full')['complete'], true);
    writeFileSync(join(src, 'd1', 'f0.txt'), 'changed');
    for (const [verb, schema] of [
      ['incremental', 'incremental'],
      [null, 'backup'],
    ] as const) {
      const at = String(T0 + (verb === null ? 2 : 1) * HOUR);
      const runs = await backupWorkers(s, [0, 1], N, [...(verb ? [verb] : []), ...LOUD, '--current-time', at, src, s.url]);
      for (const r of runs) {
        const doc = documentOf(r, schema);
        assert.equal(doc['run'], 'incremental');
        assert.equal(doc['type'], 'inc');
      }
    }

    const restore = await loud(s, 'restore', s.url, join(work, 'restored'));
    const restored = documentOf(restore, 'restore');
    assert.match(restore.stderr, /^Restoring generation 1: shards 0, 1 of 2$/m, show(restore));
    assert.match(restore.stderr, /^Progress \(restore\) 100%/m, show(restore));
    assert.deepEqual([restored['generation'], restored['shards']], [1, [0, 1]]);
    const thawed = documentOf(await loud(s, 'restore', '--thaw', s.url, join(work, 'restored-thaw')), 'restore');
    assert.equal(thawed['files'], restored['files']);
    const files = documentOf(await loud(s, 'list-current-files', s.url), 'list-current-files')['files'] as { path: string }[];
    assert.ok(files.some((f) => f.path === 'd1/f0.txt'));

    const status = documentOf(await loud(s, 'collection-status', s.url), 'collection-status');
    assert.equal(status['current'], 1);
    // a shard folder is one target: one target's document
    documentOf(await loud(s, 'collection-status', `${s.url}/shard-0-of-${N}`), 'collection-status');

    const verified = documentOf(await loud(s, 'verify', s.url, src), 'verify');
    assert.deepEqual([(verified['shards'] as unknown[]).length, verified['differences']], [N, []]);
    const compared = documentOf(await loud(s, 'verify', '--compare-data', s.url, src), 'verify');
    assert.deepEqual([compared['generation'], compared['differences']], [1, []]);
    writeFileSync(join(src, 'd1', 'f0.txt'), 'changed again');
    const differs = documentOf(await loud(s, 'verify', '--compare-data', s.url, src), 'verify', 1);
    assert.ok((differs['differences'] as string[]).length > 0);

    for (const args of [['--dry-run'], [], ['--wait']]) {
      const plan = documentOf(await loud(s, 'thaw', ...args, s.url), 'thaw');
      assert.deepEqual([plan['generation'], plan['shards']], [1, [0, 1]]);
      const volumes = plan['volumes'] as { name: string; state: string }[];
      assert.ok(
        volumes.length > 0 && volumes.every((v) => /^shard-[01]-of-2\/duplicity-/.test(v.name) && v.state === 'readable'),
        JSON.stringify(volumes),
      );
    }
    // --batch-manifest needs S3: test/shards/sharded-thaw.test.ts checks its document on moto

    // a volume of an interrupted set in shard 1: cleanup names it with its folder
    const shard1 = join(s.remote, `shard-1-of-${N}`);
    const volume = readdirSync(shard1).find((n) => n.startsWith('duplicity-full.') && n.includes('.vol1.'))!;
    const leftover = `duplicity-full.${timeString(T0 + 9 * HOUR)}.vol1.difftar.gz`;
    copyFileSync(join(shard1, volume), join(shard1, leftover));
    const found = documentOf(await loud(s, 'cleanup', s.url), 'cleanup');
    assert.deepEqual(found, { extraneous: [`shard-1-of-${N}/${leftover}`], deleted: false });
    assert.deepEqual(documentOf(await loud(s, 'cleanup', '--force', s.url), 'cleanup')['deleted'], true);

    // a second generation; the retention verbs by generation, listed then carried out
    const runs = await backupWorkers(s, [0, 1], N, ['full', ...LOUD, '--current-time', String(T0 + 10 * HOUR), src, s.url]);
    for (const r of runs) assert.equal(documentOf(r, 'full')['generation'], 2);
    for (const [verb, ...args] of [
      ['remove-all-but-n-full', '1'],
      ['remove-all-inc-of-but-n-full', '1'],
      ['remove-older-than', String(T0 + 5 * HOUR)],
    ]) {
      const r = await loud(s, verb!, ...args, s.url);
      const plan = documentOf(r, verb!);
      assert.deepEqual([plan['keptFrom'], plan['generations'], plan['deleted']], [2, [1], false], verb);
      assert.ok(r.stdout.startsWith('{\n  "keptFrom"'), `indented as the plain retention document\n${show(r)}`);
    }
    const removed = documentOf(await loud(s, 'remove-all-but-n-full', '1', '--force', s.url), 'remove-all-but-n-full');
    assert.equal(removed['deleted'], true);

    // a volume gone from shard 0: the in-place verify names it with its shard folder, exit 1
    const shard0 = join(s.remote, `shard-0-of-${N}`);
    rmSync(join(shard0, readdirSync(shard0).find((n) => n.includes('.vol1.difftar'))!));
    const broken = documentOf(await loud(s, 'verify', s.url, src), 'verify', 1);
    assert.ok(
      (broken['differences'] as string[]).length > 0 && (broken['differences'] as string[]).every((d) => d.startsWith(`shard-0-of-${N}: `)),
      JSON.stringify(broken['differences']),
    );
  });

  it('without --json: the results and the messages on stdout as for one target, stderr empty', async () => {
    const work = tmpDir(t, 'shards-text');
    const s = setupIn(work);
    const src = join(work, 'src');
    mkdirSync(src);
    for (let i = 0; i < 8; i++) writeFileSync(join(src, `f${i}.txt`), `file ${i}\n`.repeat(100 + i));
    for (const r of await backupWorkers(s, [0, 1], N, ['full', '--current-time', String(T0), src, s.url])) {
      assert.equal(r.code, 0, show(r));
      assert.match(r.stdout, /^Shard [01] of 2, generation 1: full of \d+ entries/m, show(r));
      assert.equal(r.stderr, '', show(r));
    }
    const text = async (expected: RegExp, ...args: string[]) => {
      const r = await runPermafrost([...args.slice(0, 1), ...common(s), ...args.slice(1)]);
      assert.equal(r.code, 0, show(r));
      assert.match(r.stdout, expected, show(r));
      assert.equal(r.stderr, '', `nothing on stderr but errors\n${show(r)}`);
    };
    await text(/^Sharded target: 1 generation\(s\); a restore uses generation 1$/m, 'collection-status', s.url);
    await text(/ f7\.txt$/m, 'list-current-files', s.url);
    await text(/^Restored \d+ entries .* of generation 1 \(shards 0, 1\)/m, 'restore', s.url, join(work, 'restored'));
    await text(/^Verified generation 1: 2 shards, 0 problem\(s\)$/m, 'verify', s.url, src);
    await text(
      /^Compared generation 1 with .*: \d+ entries, \d+ volumes read, 0 difference\(s\)$/m,
      'verify',
      '--compare-data',
      s.url,
      src,
    );
    await text(/^No extraneous files found in any shard/m, 'cleanup', s.url);
    await text(/^Thaw plan for the whole backup .*\(generation 1, 2 shards\):$/m, 'thaw', '--dry-run', s.url);
    await text(/^No old backup sets found, nothing deleted\.$/m, 'remove-all-but-n-full', '1', s.url);
    assert.ok(readFileSync(join(work, 'restored', 'f7.txt')).length > 0);
  });
});
