/**
 * --progress while Glacier restores run, against moto (its state manager keeps a restore in
 * progress for a few seconds): `thaw --wait` prints a line every --progress-rate seconds while it
 * waits, volumes ready of total, ending at 100% before its closing message; `restore --thaw
 * --wait` shows the thaw, then the restore's bytes, whose 100% line precedes the summary.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setRestoreTransition, startMoto, type MotoServer } from '../support/moto.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { PERMAFROST_BIN } from '../support/permafrost.ts';
import { createBucket, envCredentials, hermeticEnv } from './helpers.ts';

const hooks = fileCleanup();
const BUCKET = 'thaw-progress';
const VOLUMES_AT_LEAST = 6;

let moto: MotoServer;
let work: string;
let src: string;

interface Line {
  readonly text: string;
  readonly at: number;
}

/** `permafrost args` with stdout and stderr on one pipe (their order kept), each line timed. */
function run(args: readonly string[], cache: string): Promise<{ code: number; lines: Line[]; text: string }> {
  const full = [...args, '--no-encryption', '--archive-dir', join(work, cache), '--s3-endpoint-url', moto.endpoint];
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', 'exec "$@" 2>&1', 'sh', process.execPath, PERMAFROST_BIN, ...full], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: hermeticEnv(envCredentials(), work),
    });
    const lines: Line[] = [];
    let partial = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop()!;
      for (const p of parts) lines.push({ text: p, at: Date.now() });
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, lines, text: lines.map((l) => l.text).join('\n') }));
  });
}

/** A full backup of `src` to DEEP_ARCHIVE in 1 MiB volumes under `name/`, then restores kept running for `seconds`. */
async function archivedChain(name: string, seconds: number): Promise<string> {
  const url = `boto3+s3://${BUCKET}/${name}/`;
  await setRestoreTransition(moto.endpoint, { progression: 'immediate' });
  const r = await run(['full', '--s3-use-deep-archive', '--volsize', '1', src, url], `cache-${name}`);
  assert.equal(r.code, 0, r.text);
  await new Promise((res) => setTimeout(res, seconds * 1000 + 100)); // moto's clock for a key starts at its upload
  await setRestoreTransition(moto.endpoint, { progression: 'time', seconds });
  return url;
}

before(async () => {
  moto = await startMoto(hooks);
  work = tmpDir(hooks, 's3-thaw-progress');
  src = join(work, 'src');
  mkdirSync(src, { recursive: true });
  for (let i = 0; i < VOLUMES_AT_LEAST; i++) writeFileSync(join(src, `file${i}.bin`), randomBytes(1 << 20));
  await createBucket(moto.endpoint, BUCKET);
});

test('thaw --wait --progress: volumes ready of total while waiting, 100% before the closing message', async () => {
  const url = await archivedChain('thaw', 3);
  const r = await run(['thaw', '--wait', '--poll-interval', '1', '--progress', '--progress-rate', '1', url], 'cache-thaw');
  assert.equal(r.code, 0, r.text);
  const progress = r.lines.filter((l) => l.text.startsWith('Progress (thaw)'));
  const parsed = progress.map((l) => {
    const m = /^Progress \(thaw\) (\d+)%: (\d+)\/(\d+) volumes ready$/.exec(l.text);
    assert.ok(m, l.text);
    return { at: l.at, percent: Number(m[1]), ready: Number(m[2]), total: Number(m[3]) };
  });
  assert.ok(parsed.length >= 2, `lines while waiting:\n${r.text}`);
  assert.ok(parsed[0]!.ready < parsed[0]!.total, `the first line is before the volumes are ready:\n${r.text}`);
  assert.ok(parsed[0]!.total >= VOLUMES_AT_LEAST);
  const last = parsed[parsed.length - 1]!;
  assert.deepEqual([last.percent, last.ready], [100, last.total], r.text);
  for (let i = 1; i < parsed.length; i++) assert.ok(parsed[i]!.ready >= parsed[i - 1]!.ready, r.text);
  const waiting = parsed.filter((p) => p.ready < p.total);
  for (let i = 1; i < waiting.length; i++)
    assert.ok(waiting[i]!.at - waiting[i - 1]!.at <= 2500, `a line at least every second while waiting:\n${r.text}`);
  const closing = r.lines.findIndex((l) => l.text.startsWith('All '));
  assert.ok(closing > r.lines.lastIndexOf(progress[progress.length - 1]!), `100% before the closing message:\n${r.text}`);
});

test('restore --thaw --wait --progress: the thaw, then the restore, whose 100% precedes the summary', async () => {
  const url = await archivedChain('restore', 2);
  const dest = join(work, 'restored');
  const r = await run(
    ['restore', '--thaw', '--wait', '--poll-interval', '1', '--progress', '--progress-rate', '1', url, dest],
    'cache-restore',
  );
  assert.equal(r.code, 0, r.text);
  assert.match(r.text, /^Progress \(thaw\) \d+%: \d+\/\d+ volumes ready$/m);
  const lastProgress = r.lines.findLastIndex((l) => l.text.startsWith('Progress ('));
  assert.match(r.lines[lastProgress]!.text, /^Progress \(restore\) 100%: (\d+)\/\1 files {2}6\.00 MiB\/6\.00 MiB/);
  const summary = r.lines.findIndex((l) => l.text.startsWith('Restored '));
  assert.ok(summary > lastProgress, r.text);
});
