/**
 * The dashboard against a real daemon whose jobs back up to moto's S3 (Deep Archive volumes,
 * through the recording proxy): reading every page's data sends no GET of a volume and no
 * RestoreObject (counted at the proxy and in /metrics); status and the restore plan are the CLI's
 * numbers; a thaw started with POST (--ui-actions) reaches "ready"; a thaw running when the daemon
 * stops is picked up from its journal by the next daemon and reaches "ready" too.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { setRestoreTransition, startMoto, type MotoServer } from '../support/moto.ts';
import { createBucket, envCredentials, hermeticEnv, lastJson, runCli, type CliResult } from '../s3/helpers.ts';
import { FaultProxy, type SeenRequest } from '../s3/fault-proxy.ts';
import { waitFor } from '../daemon/helpers.ts';
import { onceIn, parsePrometheus, readEvents, startDashboard, type Json } from './helpers.ts';

const hooks = fileCleanup();
const PASSPHRASE = 'dashboard-s3-passphrase-9e21';
const BUCKET = 'dash-bucket';

let moto: MotoServer;
let proxy: FaultProxy;

before(async () => {
  moto = await startMoto(hooks);
  proxy = await FaultProxy.start(hooks, moto.endpoint);
  await createBucket(moto.endpoint, BUCKET);
});

const keyOf = (r: SeenRequest) => decodeURIComponent(r.path.slice(`/${BUCKET}/`.length));
const isVolumeKey = (k: string) => /\.vol\d+\.difftar/.test(k);

test('S3 Deep Archive: reads download no volume and request no restore; POST thaw reaches ready; a thaw survives a daemon restart', async () => {
  const home = tmpDir(hooks, 'dash-s3');
  const src = join(home, 'src');
  mkdirSync(join(src, 'a'), { recursive: true });
  mkdirSync(join(src, 'b'), { recursive: true });
  for (let i = 0; i < 4; i++) writeFileSync(join(src, i % 2 ? 'a' : 'b', `f${i}.bin`), randomBytes(700_000));
  const urlOne = `s3://${BUCKET}/one`;
  const urlTwo = `s3://${BUCKET}/two`;
  const options = `--s3-use-deep-archive --volsize 1 --poll-interval 1 --s3-endpoint-url ${proxy.endpoint} --archive-dir ${join(home, 'cache')}`;
  const env = hermeticEnv({ ...envCredentials(), PASSPHRASE, PERMAFROST_STATE_DIR: join(home, 'state'), OPTIONS: options }, home);
  const cli = async (args: readonly string[]): Promise<CliResult> => {
    const r = await runCli([...options.split(' '), ...args], env);
    assert.equal(r.code, 0, `permafrost ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  const jobs = { JOB_1_WHAT: `dup ${src} ${urlOne}`, JOB_2_WHAT: `dup ${src} ${urlTwo}` };
  const d = await startDashboard({ ...env, ...jobs, JOB_1_WHEN: onceIn(5), JOB_2_WHEN: onceIn(5) }, ['--ui-actions']);
  const stream = readEvents(d.url);
  let second: Awaited<ReturnType<typeof startDashboard>> | null = null;
  try {
    assert.equal((await d.get('/api/session')).json().actionsEnabled, true);
    await waitFor('both jobs', () => (stream.events.filter((e) => e.event === 'job-end').length === 2 ? true : undefined), 120_000);
    for (const e of stream.events.filter((x) => x.event === 'job-end')) assert.equal(e.data.run.result, 'OK');
    const overview = await waitFor('both targets read after the jobs', async () => {
      const o = (await d.get('/api/overview')).json();
      return o.targets.every((t: Json) => (t.storedBytes.DEEP_ARCHIVE ?? 0) > 0) ? o : undefined;
    });
    const one = overview.targets.find((t: Json) => t.url === urlOne);
    const two = overview.targets.find((t: Json) => t.url === urlTwo);

    // the CLI's view of target one
    const status = JSON.parse((await cli(['collection-status', '--costs', '--json', urlOne])).stdout);
    const plan = lastJson<Json>((await cli(['thaw', '--dry-run', '--json', '--tier', 'Standard', urlOne])).stdout);

    // every read the pages make, counted at the proxy
    const from = proxy.requests.length;
    const apiStatus = (await d.get(`/api/targets/${one.id}/status`)).json();
    const restorePlan = (await d.get(`/api/targets/${one.id}/restore-plan?tier=Standard`)).json();
    for (const path of [
      '/api/overview',
      '/api/history',
      `/api/targets/${one.id}/files`,
      `/api/targets/${one.id}/files?dir=a`,
      `/api/targets/${one.id}/restore-plan?path=a/f1.bin&tier=Bulk`,
      `/api/targets/${one.id}/retention?keepFull=1`,
      `/api/targets/${one.id}/thaw`,
      '/metrics',
    ])
      assert.equal((await d.get(path)).status, 200, path);
    const reads = proxy.requests.slice(from);
    assert.ok(
      reads.some((r) => r.operation === 'ListObjectsV2'),
      'the reads went through the proxy',
    );
    assert.deepEqual(reads.filter((r) => r.operation === 'GetObject' && isVolumeKey(keyOf(r))).map(keyOf), []);
    assert.equal(reads.filter((r) => r.operation === 'RestoreObject').length, 0);
    const restoresCounted = (await parsePrometheus((await d.get('/metrics')).text))
      .flatMap((f) => f.samples)
      .filter((s) => s.name === 'permafrost_requests_total' && s.labels['kind'] === 'restore');
    assert.deepEqual(restoresCounted, []);

    // status and plan: the CLI's numbers (the CLI adds its own request counts)
    const { requests: _r, ...cliStatus } = status;
    const { id: _id, ...dashStatus } = apiStatus;
    const now = Date.now();
    for (const set of dashStatus.chains[0].sets) {
      assert.equal(set.storageClass, 'DEEP_ARCHIVE');
      const until = Date.parse(set.minimumStorageUntil);
      assert.ok(Math.abs(until - (now + 180 * 86400_000)) < 600_000, set.minimumStorageUntil);
      assert.ok(set.earlyDeletionUsdIfDeletedNow > 0);
    }
    dashStatus.chains = dashStatus.chains.map((c: Json) => ({
      ...c,
      sets: c.sets.map(({ storageClass: _c, minimumStorageUntil: _m, earlyDeletionUsdIfDeletedNow: _e, ...rest }: Json) => rest),
    }));
    // early-deletion charges shrink with every second of age: the two readings are seconds apart
    const charges = (st: Json) => [st.costs.earlyDeletion.total, ...st.costs.groups.map((g: Json) => g.earlyDeletion)] as number[];
    charges(cliStatus).forEach((c, i) => {
      assert.ok(c > 0 && Math.abs(charges(dashStatus)[i]! - c) / c < 1e-4, `charge ${i}`);
    });
    const timeless = (st: Json) => ({
      ...st,
      costs: {
        ...st.costs,
        earlyDeletion: { ...st.costs.earlyDeletion, total: 0 },
        groups: st.costs.groups.map((g: Json) => ({ ...g, earlyDeletion: 0 })),
      },
    });
    assert.deepEqual(timeless(dashStatus), timeless(cliStatus));
    const { paths: _p, costUsd, ...planShape } = restorePlan;
    const { requests: _q, ...cliPlan } = plan;
    assert.deepEqual(planShape, cliPlan);
    assert.ok(plan.toRequest.objects >= 3, JSON.stringify(plan.toRequest));
    assert.equal(costUsd, plan.quotes.find((q: Json) => q.tier === 'Standard').total);
    assert.ok(costUsd > 0);

    // the thaw action: its cost is said, its volumes reach "ready"
    await setRestoreTransition(moto.endpoint, { progression: 'time', seconds: 2 });
    const beforeThaw = proxy.requests.length;
    const post = await d.post(`/api/targets/${one.id}/thaw`, { tier: 'Standard', paths: [] });
    assert.equal(post.status, 202, post.text);
    const started = post.json();
    assert.match(started.thawId, /^[0-9a-f-]{36}$/);
    assert.equal(started.costUsd, costUsd);
    assert.equal(started.plan.toRequest.objects, plan.toRequest.objects);
    const ready = await waitFor(
      'every volume of the thaw ready',
      async () => {
        const t = (await d.get(`/api/targets/${one.id}/thaw`)).json();
        return t.volumes.length === plan.toRequest.objects && t.counts.ready === t.volumes.length ? t : undefined;
      },
      120_000,
    );
    assert.ok(ready.volumes.every((v: Json) => v.tier === 'Standard' && Date.parse(v.expiry) > Date.now()));
    const thawed = proxy.requests.slice(beforeThaw);
    assert.equal(thawed.filter((r) => r.operation === 'RestoreObject').length, plan.toRequest.objects);
    assert.deepEqual(thawed.filter((r) => r.operation === 'GetObject' && isVolumeKey(keyOf(r))).map(keyOf), []);
    await waitFor('a ready event per volume', () =>
      new Set(
        stream.events.filter((e) => e.event === 'thaw' && e.data.target === one.id && e.data.state === 'ready').map((e) => e.data.volume),
      ).size === plan.toRequest.objects
        ? true
        : undefined,
    );
    const metrics = await parsePrometheus((await d.get('/metrics')).text);
    const readyGauge = metrics
      .flatMap((f) => f.samples)
      .find((s) => s.name === 'permafrost_thaw_volumes' && s.labels['target'] === urlOne && s.labels['state'] === 'ready');
    assert.equal(readyGauge?.value, plan.toRequest.objects);
    // the counters: the job's uploads and requests, the dashboard's restore requests once its thaw ended
    const counter = (name: string, labels: Record<string, string>) =>
      metrics.flatMap((f) => f.samples).find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    const jobOne = (await d.get('/api/jobs/1/runs')).json().runs[0];
    assert.ok(jobOne.uploadedBytes > 0);
    assert.equal(counter('permafrost_uploaded_bytes_total', { target: urlOne }), jobOne.uploadedBytes);
    assert.ok((counter('permafrost_requests_total', { target: urlOne, kind: 'put' }) ?? 0) > 0);
    assert.equal(counter('permafrost_requests_total', { target: urlOne, kind: 'restore' }), plan.toRequest.objects);

    // a thaw of target two, and the daemon stops before it is done
    await setRestoreTransition(moto.endpoint, { progression: 'time', seconds: 4 });
    const post2 = await d.post(`/api/targets/${two.id}/thaw`, { tier: 'Bulk', paths: ['a'] });
    assert.equal(post2.status, 202, post2.text);
    const stopped = await d.stop();
    assert.equal(stopped.code, 0, stopped.stderr);
    const pending = (await (async () => {
      second = await startDashboard({ ...env, ...jobs, JOB_1_WHEN: 'weekly', JOB_2_WHEN: 'weekly' });
      return second;
    })())!;
    await waitFor('the journal picked up', () =>
      /following the unfinished thaw of s3:\/\/dash-bucket\/two/.test(pending.daemon.stderr()) ? true : undefined,
    );
    const done2 = await waitFor(
      'the resumed thaw ready',
      async () => {
        const t = (await pending.get(`/api/targets/${two.id}/thaw`)).json();
        return t.volumes.length > 0 && t.counts.ready === t.volumes.length ? t : undefined;
      },
      120_000,
    );
    assert.equal(done2.volumes.length, post2.json().plan.toRequest.objects);
    assert.ok(done2.volumes.every((v: Json) => v.tier === 'Bulk'));

    // no secret anywhere
    const everything = [...d.bodies, ...pending.bodies, stream.raw(), stopped.stderr].join('\n');
    assert.ok(everything.includes(urlOne));
    for (const secret of [PASSPHRASE, envCredentials()['AWS_SECRET_ACCESS_KEY']!])
      assert.ok(!everything.includes(secret), 'a secret reached an answer or the log');
  } finally {
    stream.close();
    await d.stop();
    if (second) await (second as Awaited<ReturnType<typeof startDashboard>>).stop();
  }
});
