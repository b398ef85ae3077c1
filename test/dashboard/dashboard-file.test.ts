/**
 * The dashboard against a real daemon with a real job on a file:// target (encrypted with a
 * passphrase): every endpoint's numbers are the CLI's own --json numbers for the same target;
 * /metrics parses with Prometheus's parser and says the same; the run, its log and its report
 * are there, also after the daemon restarts; live events arrive; no secret is in any answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { lastJson, runCli, type CliResult } from '../s3/helpers.ts';
import { assertMatchesSchema } from '../support/json-schemas.ts';
import { baseEnv, waitFor } from '../daemon/helpers.ts';
import { helpAndType, onceIn, parsePrometheus, readEvents, startDashboard, type Json } from './helpers.ts';

const hooks = fileCleanup();
const PASSPHRASE = 'dashboard-passphrase-c41d';

test('file:// target: API and metrics agree with the CLI; history survives a restart; no secret leaves', async () => {
  const home = tmpDir(hooks, 'dash-file');
  const src = join(home, 'src');
  const cache = join(home, 'cache');
  const url = `file://${join(home, 'target')}`;
  mkdirSync(join(src, 'docs', 'deep'), { recursive: true });
  writeFileSync(join(src, 'top.txt'), 'top level\n');
  writeFileSync(join(src, 'docs', 'a.bin'), randomBytes(200_000));
  writeFileSync(join(src, 'docs', 'deep', 'b.txt'), 'deep file\n');
  const env = baseEnv(home, { PASSPHRASE, PERMAFROST_STATE_DIR: join(home, 'state') });
  const cli = async (args: readonly string[]): Promise<CliResult> => {
    const r = await runCli([...args, '--archive-dir', cache], env);
    assert.equal(r.code, 0, `permafrost ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  // two chains before the daemon starts; the daemon's job then adds an incremental to the second
  await cli(['full', src, url]);
  await new Promise((r) => setTimeout(r, 1100));
  await cli(['full', src, url]);
  writeFileSync(join(src, 'docs', 'new.txt'), 'added before the daemon run\n');

  const d = await startDashboard({ ...env, JOB_1_WHAT: `dup ${src} ${url} --archive-dir ${cache}`, JOB_1_WHEN: onceIn(5) });
  const stream = readEvents(d.url);
  let restarted: Awaited<ReturnType<typeof startDashboard>> | null = null;
  try {
    await stream.opened;
    const end = await waitFor('job-end', () => stream.events.find((e) => e.event === 'job-end'), 90_000);
    assert.equal(end.data.job, '1');
    assert.equal(end.data.run.result, 'OK');
    assert.equal(end.data.run.kind, 'incremental');
    const start = stream.events.find((e) => e.event === 'job-start')!;
    assert.equal(start.data.runId, end.data.runId);
    assert.ok(stream.events.some((e) => e.event === 'log' && e.data.runId === end.data.runId));

    // the CLI's view of the same target, now that the job is done
    const status = JSON.parse((await cli(['collection-status', '--costs', '--json', url])).stdout);
    const files = JSON.parse((await cli(['list-current-files', '--json', url])).stdout).files as Json[];
    const plan = JSON.parse((await cli(['thaw', '--dry-run', '--json', '--file-to-restore', 'docs/deep', url])).stdout);
    const retention = lastJson<Json>((await cli(['remove-all-but-n-full', '1', '--json', url])).stdout);
    const stdClass = status.costs.byClass.find((c: Json) => c.storageClass === 'STANDARD');

    // overview: the job's run, the target's bytes and cost (read again after the job)
    const target = await waitFor('the target read after the job', async () => {
      const t = (await d.get('/api/overview')).json().targets[0];
      return t?.storedBytes?.STANDARD === stdClass.bytes ? t : undefined;
    });
    assert.equal(target.url, url);
    assert.deepEqual(target.jobs, ['1']);
    assert.equal(target.monthlyCostUsd, status.costs.monthly);
    const overview = (await d.get('/api/overview')).json();
    const job = overview.jobs[0];
    assert.equal(job.name, '1');
    assert.equal(job.running, false);
    assert.equal(job.failing, false);
    assert.equal(job.overdue, false);
    assert.equal(job.lastRun.id, end.data.runId);
    assert.equal(job.lastRun.exitCode, 0);
    assert.equal(job.lastSuccess, job.lastRun.start);
    assert.ok(!job.command.includes(PASSPHRASE));
    const id = target.id;

    // status: collection-status --costs --json, plus the minimum-storage window of each set
    const api = (await d.get(`/api/targets/${id}/status`)).json();
    const { id: apiId, ...apiStatus } = api;
    assert.equal(apiId, id);
    const setExtras = (s: Json) => {
      assert.equal(s.storageClass, 'STANDARD');
      assert.equal(s.minimumStorageUntil, null);
      assert.equal(s.earlyDeletionUsdIfDeletedNow, 0);
      const { storageClass: _c, minimumStorageUntil: _m, earlyDeletionUsdIfDeletedNow: _e, ...rest } = s;
      return rest;
    };
    apiStatus.chains = apiStatus.chains.map((c: Json) => ({ ...c, sets: c.sets.map(setExtras) }));
    assert.deepEqual(apiStatus, status);
    assertMatchesSchema('collection-status', apiStatus, '/status without its additions');
    assert.equal(status.chains.length, 2);
    assert.deepEqual(
      status.chains[1].sets.map((s: Json) => s.type),
      ['full', 'inc'],
    );

    // files, one level at a time, from the signatures
    const top = (await d.get(`/api/targets/${id}/files`)).json();
    const expectTop = files
      .filter((f) => f.path !== '.' && !f.path.includes('/'))
      .map((f) => ({ name: f.path, path: f.path, type: f.type, size: f.size, mtime: f.mtime }));
    assert.deepEqual(top.entries, expectTop);
    assert.deepEqual(top.entries.map((e: Json) => e.name).sort(), ['docs', 'top.txt']);
    const docs = (await d.get(`/api/targets/${id}/files?dir=docs`)).json();
    assert.deepEqual(
      docs.entries.map((e: Json) => e.path).sort(),
      files
        .filter((f) => /^docs\/[^/]+$/.test(f.path))
        .map((f) => f.path)
        .sort(),
    );
    assert.ok(docs.entries.some((e: Json) => e.path === 'docs/new.txt'));
    // at the first chain's time the new file is not there
    const old = (await d.get(`/api/targets/${id}/files?dir=docs&time=${status.chains[0].endTime}`)).json();
    assert.ok(!old.entries.some((e: Json) => e.path === 'docs/new.txt'));

    // restore plan: thaw --dry-run --json
    const restorePlan = (await d.get(`/api/targets/${id}/restore-plan?path=docs/deep&tier=Standard`)).json();
    const { paths, costUsd, ...planShape } = restorePlan;
    assert.deepEqual(paths, ['docs/deep']);
    assert.equal(costUsd, 0);
    assert.deepEqual(planShape, plan);
    assertMatchesSchema('thaw', planShape, '/restore-plan without its additions');

    // retention preview: remove-all-but-n-full 1 (listing only) and the sets it would delete
    const preview = (await d.get(`/api/targets/${id}/retention?keepFull=1`)).json();
    assert.deepEqual(preview.retention, retention);
    assertMatchesSchema('remove-all-but-n-full', preview.retention, '/retention');
    assert.equal(preview.keepFull, 1);
    assert.equal(preview.deletes.length, 1);
    assert.equal(preview.deletes[0].kind, 'full');
    assert.equal(preview.deletes[0].setTime, new Date(status.chains[0].sets[0].endTime * 1000).toISOString());
    assert.equal(
      preview.deletes[0].bytes,
      retention.plan.remote.filter((o: Json) => !o.name.includes('signatures')).reduce((n: number, o: Json) => n + o.size, 0),
    );
    assert.equal(preview.earlyDeletionUsd, 0);
    assert.equal((await d.get(`/api/targets/${id}/retention?keepFull=0`)).status, 400);

    // runs, log, report, history
    const runs = (await d.get('/api/jobs/1/runs')).json().runs;
    assert.equal(runs.length, 1);
    assert.deepEqual(runs[0], job.lastRun);
    const statusFile = JSON.parse(readFileSync(join(home, 'state', 'status.json'), 'utf8'));
    assert.equal(runs[0].uploadedBytes, statusFile.jobs['1'].summary.uploadedBytes);
    assert.ok(runs[0].uploadedBytes > 0);
    const log = (await d.get(`/api/runs/${runs[0].id}/log`)).json().lines as string[];
    assert.ok(
      log.some((l) => /incremental backup/i.test(l)),
      log.join('\n'),
    );
    const report = (await d.get('/api/jobs/1/report')).json();
    assert.match(report.subject, /OK$/);
    assert.match(report.body, /Job 1: `dup /);
    assert.equal(report.sent, false);
    const history = (await d.get('/api/history')).json();
    assert.deepEqual(
      history.runs.map((r: Json) => r.id),
      [runs[0].id],
    );
    const points = history.points.filter((p: Json) => p.target === id);
    assert.equal(points.at(-1).storedBytes, stdClass.bytes);
    assert.equal(points.at(-1).monthlyCostUsd, status.costs.monthly);

    // metrics, parsed by prometheus_client
    const metricsText = (await d.get('/metrics')).text;
    const families = await parsePrometheus(metricsText);
    const declared = helpAndType(metricsText);
    const want: [string, string][] = [
      ['permafrost_job_last_success_timestamp_seconds', 'gauge'],
      ['permafrost_job_last_run_timestamp_seconds', 'gauge'],
      ['permafrost_job_last_exit_code', 'gauge'],
      ['permafrost_job_last_duration_seconds', 'gauge'],
      ['permafrost_target_stored_bytes', 'gauge'],
      ['permafrost_target_monthly_cost_usd', 'gauge'],
      ['permafrost_thaw_volumes', 'gauge'],
      ['permafrost_uploaded_bytes_total', 'counter'],
      ['permafrost_requests_total', 'counter'],
    ];
    for (const [name, type] of want) {
      assert.equal(declared.get(name)?.type, type, `# TYPE ${name}`);
      assert.ok((declared.get(name)?.help ?? '').length > 10, `# HELP ${name}`);
      assert.ok(
        families.some((f) => f.name === name.replace(/_total$/, '') && f.type === type),
        `${name} parsed`,
      );
    }
    const sample = (name: string, labels: Record<string, string>) =>
      families.flatMap((f) => f.samples).find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    const startSeconds = Date.parse(runs[0].start) / 1000;
    assert.equal(sample('permafrost_job_last_run_timestamp_seconds', { job: '1' }), startSeconds);
    assert.equal(sample('permafrost_job_last_success_timestamp_seconds', { job: '1' }), startSeconds);
    assert.equal(sample('permafrost_job_last_exit_code', { job: '1' }), 0);
    assert.equal(sample('permafrost_job_last_duration_seconds', { job: '1' }), runs[0].durationSeconds);
    assert.equal(sample('permafrost_target_stored_bytes', { target: url, storage_class: 'STANDARD' }), stdClass.bytes);
    assert.equal(sample('permafrost_target_monthly_cost_usd', { target: url }), status.costs.monthly);
    assert.equal(sample('permafrost_uploaded_bytes_total', { target: url }), runs[0].uploadedBytes);

    // the action is off without --ui-actions
    const post = await d.post(`/api/targets/${id}/thaw`, { tier: 'Standard', paths: [] });
    assert.equal(post.status, 403);
    assert.match(post.json().error, /--ui-actions/);
    // bad requests
    assert.equal((await d.get('/api/targets/000000000000/status')).status, 404);
    assert.equal((await d.get('/api/jobs/99/runs')).status, 404);
    assert.equal((await d.get(`/api/targets/${id}/files?dir=../etc`)).status, 400);
    assert.equal((await d.get(`/api/targets/${id}/restore-plan?tier=Fast`)).status, 400);

    // the history is kept across a restart
    stream.close();
    const first = await d.stop();
    assert.equal(first.code, 0, first.stderr);
    restarted = await startDashboard({ ...env, JOB_1_WHAT: `dup ${src} ${url} --archive-dir ${cache}`, JOB_1_WHEN: 'weekly' });
    assert.deepEqual((await restarted.get('/api/jobs/1/runs')).json().runs, runs);
    assert.deepEqual((await restarted.get(`/api/runs/${runs[0].id}/log`)).json().lines, log);
    assert.deepEqual((await restarted.get('/api/jobs/1/report')).json(), report);
    const again = (await restarted.get('/api/history')).json();
    assert.deepEqual(again.points.slice(0, history.points.length), history.points);
    assert.equal((await restarted.get('/api/overview')).json().jobs[0].lastRun.id, runs[0].id);

    // no secret in any answer, event or log line
    const everything = [...d.bodies, ...restarted.bodies, stream.raw(), first.stderr].join('\n');
    assert.ok(everything.includes(url), 'the check reads real answers');
    assert.ok(!everything.includes(PASSPHRASE), 'the passphrase never leaves the daemon');
  } finally {
    stream.close();
    await d.stop();
    if (restarted) assert.equal((await restarted.stop()).code, 0);
  }
});
