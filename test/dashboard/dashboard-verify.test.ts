/**
 * The verify status of each set, from the daemon's own `dup verify` jobs, against a real daemon
 * on a file:// target: after a backup job and a verify job, the sets that existed when the verify
 * ran show `ok` with the run's time (every chain: verify without --time checks them all), a set
 * made afterwards shows none; the status survives a restart; after a volume is damaged the next
 * verify run marks the sets `differences`; /metrics has the newest verify time per result.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { runCli } from '../s3/helpers.ts';
import { baseEnv, waitFor } from '../daemon/helpers.ts';
import { onceIn, readEvents, startDashboard, type Json } from './helpers.ts';

const hooks = fileCleanup();

test('verify status: a daemon verify job marks the sets it checked, kept across a restart; a damaged volume gives differences', async () => {
  const home = tmpDir(hooks, 'dash-verify');
  const src = join(home, 'src');
  const cache = join(home, 'cache');
  const targetDir = join(home, 'target');
  const url = `file://${targetDir}`;
  mkdirSync(join(src, 'docs'), { recursive: true });
  writeFileSync(join(src, 'docs', 'a.bin'), randomBytes(300_000));
  writeFileSync(join(src, 'top.txt'), 'top\n');
  const env = baseEnv(home, { PASSPHRASE: 'verify-status-pass', PERMAFROST_STATE_DIR: join(home, 'state') });
  const cli = async (args: readonly string[]) => {
    const r = await runCli([...args, '--archive-dir', cache], env);
    assert.equal(r.code, 0, `permafrost ${args.join(' ')}: ${r.stderr}`);
  };
  // an older chain, then the chain the daemon's backup job extends
  await cli(['full', src, url]);
  await new Promise((r) => setTimeout(r, 1100));
  await cli(['full', src, url]);
  writeFileSync(join(src, 'new.txt'), 'for the incremental\n');

  const jobs = {
    JOB_1_WHAT: `dup ${src} ${url} --archive-dir ${cache}`,
    JOB_2_WHAT: `dup verify ${url} ${src} --archive-dir ${cache}`,
  };
  const when = onceIn(5);
  const first = await startDashboard({ ...env, ...jobs, JOB_1_WHEN: when, JOB_2_WHEN: when });
  let second: Awaited<ReturnType<typeof startDashboard>> | null = null;
  try {
    const stream = readEvents(first.url);
    await stream.opened;
    const verifyEnd = await waitFor(
      'the verify job to end',
      () => stream.events.find((e) => e.event === 'job-end' && e.data.job === '2'),
      120_000,
    );
    stream.close();
    assert.equal(verifyEnd.data.run.result, 'OK');
    const verifyStart = verifyEnd.data.run.start as string;
    const id = (await first.get('/api/overview')).json().targets[0].id as string;
    const sets = (status: Json) => status.chains.flatMap((c: Json) => c.sets) as Json[];

    const verified = await waitFor('the verify recorded', async () => {
      const s = (await first.get(`/api/targets/${id}/status`)).json();
      return sets(s).every((x) => x.verify) ? s : undefined;
    });
    assert.equal(verified.chains.length, 2);
    assert.deepEqual(
      sets(verified).map((s) => s.type),
      ['full', 'full', 'inc'],
    );
    for (const s of sets(verified)) assert.deepEqual(s.verify, { status: 'ok', time: verifyStart, mode: 'in-place' }, s.time);
    const metrics1 = (await first.get('/metrics')).text;
    assert.match(metrics1, /# TYPE permafrost_target_last_verify_timestamp_seconds gauge/);
    assert.equal(lastVerify(metrics1, url, 'ok'), Date.parse(verifyStart) / 1000);
    assert.equal(lastVerify(metrics1, url, 'differences'), undefined);
    const stopped = await first.stop();
    assert.equal(stopped.code, 0, stopped.stderr);

    // a set made after the verify: not covered by it
    writeFileSync(join(src, 'later.txt'), 'after the verify\n');
    await cli(['incremental', src, url]);
    // damage the first chain's volume: the next verify finds it
    const volume = readdirSync(targetDir).find((n) => n.startsWith('duplicity-full.') && n.includes('.vol1.'))!;
    const bytes = readFileSync(join(targetDir, volume));
    const middle = Math.floor(bytes.length / 2);
    bytes.writeUInt8(bytes.readUInt8(middle) ^ 0xff, middle);
    writeFileSync(join(targetDir, volume), bytes);

    second = await startDashboard({ ...env, ...jobs, JOB_1_WHEN: 'never', JOB_2_WHEN: onceIn(12) });
    const stream2 = readEvents(second.url);
    await stream2.opened;
    // kept across the restart, before the second verify runs
    const kept = (await second.get(`/api/targets/${id}/status`)).json();
    assert.ok(!stream2.events.some((e) => e.event === 'job-start'), 'the status was read before the second verify started');
    const keptSets = sets(kept);
    assert.equal(keptSets.length, 4);
    for (const s of keptSets.slice(0, 3)) assert.deepEqual(s.verify, { status: 'ok', time: verifyStart, mode: 'in-place' });
    assert.equal(keptSets[3].verify, undefined, 'the incremental made after the verify is not covered');

    const end2 = await waitFor('the second verify to end', () => stream2.events.find((e) => e.event === 'job-end'), 120_000);
    stream2.close();
    assert.equal(end2.data.run.exitCode, 1);
    const start2 = end2.data.run.start as string;
    const after = await waitFor('the second verify recorded', async () => {
      const s = (await second!.get(`/api/targets/${id}/status`)).json();
      return sets(s).every((x) => x.verify?.time === start2) ? s : undefined;
    }).catch(async (err: Error) => {
      const s = (await second!.get(`/api/targets/${id}/status`)).text;
      throw new Error(`${err.message}: ${s}\n${second!.daemon.stderr()}`);
    });
    for (const s of sets(after)) assert.deepEqual(s.verify, { status: 'differences', time: start2, mode: 'in-place' });
    const metrics2 = (await second.get('/metrics')).text;
    assert.equal(lastVerify(metrics2, url, 'ok'), Date.parse(verifyStart) / 1000);
    assert.equal(lastVerify(metrics2, url, 'differences'), Date.parse(start2) / 1000);
  } finally {
    await first.stop();
    if (second) await second.stop();
  }
});

function lastVerify(metrics: string, target: string, result: string): number | undefined {
  const line = metrics
    .split('\n')
    .find((l) => l.startsWith(`permafrost_target_last_verify_timestamp_seconds{target="${target}",result="${result}"}`));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}
