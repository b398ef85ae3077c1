/**
 * The dashboard's small parts on their own: listen addresses, the token check, progress lines,
 * thaw states from a journal, the planned path of several paths, target ids and URLs without
 * credentials, and the history store's bounds and its survival of a restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { isLoopback, parseListenAddress } from '../../src/dashboard/listen-address.ts';
import { bearerToken, tokenChecker } from '../../src/dashboard/auth.ts';
import { parseProgressLine } from '../../src/dashboard/event-hub.ts';
import { commonPath, EXPIRING_SECONDS, journalState } from '../../src/dashboard/thaw-tracker.ts';
import { targetId, urlWithoutCredentials, withoutUrlCredentials } from '../../src/dashboard/targets.ts';
import { HISTORY_FILE, HistoryStore, type Run, type VerifyRecord } from '../../src/dashboard/history-store.ts';
import { lastVerifyByResult, verifyJobOf, verifyOfSet } from '../../src/dashboard/verify-records.ts';
import { indexToDisplay } from '../../src/core/path-index.ts';
import { withProgress } from '../../src/cli/progress.ts';
import { silentReporter } from '../../src/ops/reporter.ts';

const hooks = fileCleanup();

test('listen addresses: HOST:PORT, [IPv6]:PORT; loopback or not', () => {
  assert.deepEqual(parseListenAddress('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080, loopback: true });
  assert.deepEqual(parseListenAddress('[::1]:0'), { host: '::1', port: 0, loopback: true });
  assert.deepEqual(parseListenAddress('localhost:9'), { host: 'localhost', port: 9, loopback: true });
  assert.deepEqual(parseListenAddress('0.0.0.0:8080'), { host: '0.0.0.0', port: 8080, loopback: false });
  assert.deepEqual(parseListenAddress('[::]:8080'), { host: '::', port: 8080, loopback: false });
  assert.equal(parseListenAddress('backup.lan:8080').loopback, false);
  assert.equal(isLoopback('127.8.9.10'), true);
  assert.equal(isLoopback('128.0.0.1'), false);
  for (const bad of ['8080', ':8080', '127.0.0.1', '127.0.0.1:65536', '[zz]:80', '::1:80', 'a b:80'])
    assert.throws(() => parseListenAddress(bad), /^Error: --listen /, bad);
});

test('the token: bearer header only, exact match', () => {
  const check = tokenChecker('s3cret-token');
  assert.equal(check('s3cret-token'), true);
  for (const wrong of ['s3cret-toke', 's3cret-token ', 'S3CRET-TOKEN', '', null, undefined]) assert.equal(check(wrong), false);
  assert.equal(bearerToken('Bearer abc'), 'abc');
  assert.equal(bearerToken('bearer abc'), 'abc');
  assert.equal(bearerToken('Basic abc'), null);
  assert.equal(bearerToken('Bearer a b'), null);
  assert.equal(bearerToken(undefined), null);
});

test("a job's --progress line as an event", () => {
  assert.deepEqual(parseProgressLine('Progress (backup) 42%: 10/24 files  12.0 MiB/30.0 MiB  2.0 MiB/s  ETA 9s'), {
    phase: 'backup',
    percent: 42,
    done: '12.0 MiB',
    total: '30.0 MiB',
    rate: '2.0 MiB/s',
    eta: '9s',
  });
  assert.deepEqual(parseProgressLine('Progress (scan): 10 files  1.5 KiB'), {
    phase: 'scan',
    percent: null,
    done: '1.5 KiB',
    total: null,
    rate: null,
    eta: null,
  });
  assert.equal(parseProgressLine('Starting full backup'), null);
});

test("the lines the CLI's --progress really prints (not on a terminal) parse", () => {
  const lines: string[] = [];
  const inner = { ...silentReporter, notice: (m: string) => lines.push(m) };
  let t = 0;
  const progress = withProgress(inner, { stream: { write: () => true, isTTY: false }, intervalSeconds: 1, now: () => t });
  for (let i = 1; i <= 4; i++) {
    t = i * 1000;
    progress.progress({ phase: 'backup', filesDone: i, bytesDone: i * 1048576, filesTotal: 8, bytesTotal: 8 * 1048576 });
  }
  progress.stop();
  assert.ok(lines.length >= 2, lines.join('\n'));
  const last = parseProgressLine(lines.at(-1)!);
  assert.ok(last, lines.at(-1));
  assert.equal(last.phase, 'backup');
  assert.equal(last.percent, 50);
  assert.equal(last.done, '4.00 MiB');
  assert.equal(last.total, '8.00 MiB');
  assert.equal(last.rate, '1.00 MiB/s');
  assert.equal(last.eta, '4s');
});

test('thaw states from the journal: requested, in-progress, ready, expiring, expired', () => {
  const now = 1_800_000_000;
  const v = { requestedAt: now - 100, tier: 'Standard' as const, days: 2, requests: 1 };
  assert.equal(journalState({ ...v, state: 'requested' }, now), 'requested');
  assert.equal(journalState({ ...v, state: 'batch' }, now), 'requested');
  assert.equal(journalState({ ...v, state: 'in-progress' }, now), 'in-progress');
  assert.equal(journalState({ ...v, state: 'restored', expiry: now + 2 * 86400 }, now), 'ready');
  assert.equal(journalState({ ...v, state: 'restored', expiry: now + EXPIRING_SECONDS - 1 }, now), 'expiring');
  assert.equal(journalState({ ...v, state: 'restored', expiry: now }, now), 'expired');
  assert.equal(journalState({ ...v, state: 'restored' }, now), 'ready');
});

test('several paths are planned as their deepest common directory', () => {
  const shown = (paths: string[]) => {
    const p = commonPath(paths);
    return p === undefined ? undefined : indexToDisplay(p);
  };
  assert.equal(shown([]), undefined);
  assert.equal(shown(['/']), undefined);
  assert.equal(shown(['a/b/c.txt']), 'a/b/c.txt');
  assert.equal(shown(['a/b/c.txt', 'a/b/d/e']), 'a/b');
  assert.equal(shown(['/a/x', 'a/y/']), 'a');
  assert.equal(shown(['a/x', 'b/x']), undefined);
  assert.equal(shown(['ab/x', 'a/x']), undefined);
});

test('targets: id from the URL as written, shown without credentials or query', () => {
  assert.equal(targetId('file:///srv/backup'), targetId('file:///srv/backup'));
  assert.notEqual(targetId('file:///srv/backup'), targetId('file:///srv/backup/'));
  assert.match(targetId('s3://bucket/x'), /^[0-9a-f]{12}$/);
  assert.equal(urlWithoutCredentials('sftp://user:pa55@host/path'), 'sftp://host/path');
  assert.equal(urlWithoutCredentials('s3://KEY:SECRET@bucket/prefix?x=1'), 's3://bucket/prefix');
  assert.equal(urlWithoutCredentials('file:///a@b/c'), 'file:///a@b/c');
  assert.equal(
    withoutUrlCredentials('dup /src s3://AK:SK@bucket/p --x sftp://u:p@h/x; mail a@b.c file:///x@y'),
    'dup /src s3://bucket/p --x sftp://h/x; mail a@b.c file:///x@y',
  );
});

test('the history store: bounded, atomic, kept across a restart, logs of dropped runs deleted', async () => {
  const dir = tmpDir(hooks, 'dash-history');
  const MAX_RUNS = 20;
  const MAX_POINTS = 30;
  const limits = { maxRuns: MAX_RUNS, maxPoints: MAX_POINTS };
  const store = new HistoryStore(dir, limits);
  await store.load();
  const id = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
  const run = (i: number): Run => ({
    id: id(i),
    job: String(i % 2),
    period: 'daily',
    command: 'dup src url',
    start: new Date(i * 1000).toISOString(),
    end: new Date(i * 1000 + 500).toISOString(),
    durationSeconds: 0.5,
    exitCode: 0,
    result: 'OK',
    kind: 'full',
  });
  for (let i = 0; i < MAX_RUNS + 3; i++) await store.putRun(run(i), `log of ${i}\n`);
  await store.putRun({ ...run(MAX_RUNS + 2), result: 'ERROR' });
  await store.putRun({ ...run(5), id: '../../etc/passwd' }, 'no');
  for (let i = 0; i < MAX_POINTS + 2; i++)
    await store.addPoint({ time: new Date(i).toISOString(), target: 't', storedBytes: i, monthlyCostUsd: 0 });
  await store.putReport(['0', '1'], { subject: 'S', body: 'B', sent: true, at: 'now' });
  assert.ok(!readdirSync(dir).some((n) => n.endsWith('.tmp')), 'no temporary file left');

  const again = new HistoryStore(dir, limits);
  await again.load();
  const runs = again.runs();
  assert.equal(runs.length, MAX_RUNS);
  assert.equal(runs[0]!.id, id(MAX_RUNS + 2));
  assert.equal(runs[0]!.result, 'ERROR', 'a run is replaced by its id');
  assert.equal(runs.at(-1)!.id, id(3));
  assert.ok(again.runs('1').every((r) => r.job === '1'));
  assert.equal(again.points().length, MAX_POINTS);
  assert.equal(again.lastPoint('t')!.storedBytes, MAX_POINTS + 1);
  assert.deepEqual(again.report('1'), { subject: 'S', body: 'B', sent: true, at: 'now' });
  assert.equal(await again.log(id(4)), 'log of 4\n');
  assert.equal(await again.log(id(0)), null, 'the log of a dropped run is deleted');
  assert.equal(existsSync(join(dir, 'dashboard-logs', `${id(0)}.log`)), false);
  assert.equal(await again.log('../status'), null);
  assert.equal(JSON.parse(readFileSync(join(dir, HISTORY_FILE), 'utf8')).version, 1);
});

test('verify jobs: which commands are verifies, with their mode, --time and --file-to-restore', async () => {
  const env = { OPTIONS: '--archive-dir /tmp/c', SRC: '/src', DST: 'file:///t' };
  assert.deepEqual(await verifyJobOf('dup verify file:///t /src', env), { mode: 'in-place' });
  assert.deepEqual(await verifyJobOf('dup verify --compare-data -t 3D $DST $SRC', env), {
    mode: 'compare-data',
    time: '3D',
    timeSeparator: ':',
  });
  assert.deepEqual(await verifyJobOf('dup verify --file-to-restore docs file:///t /src', env), { mode: 'in-place', path: 'docs' });
  assert.equal(await verifyJobOf('backup', env), null);
  assert.equal(await verifyJobOf('dup collection-status file:///t', env), null);
  assert.equal(await verifyJobOf('dup verify file:///t /src | tee log', env), null, 'a shell job is not read');
});

test('verify records: a set shows the newest run that covered it; the metric takes the newest per result; kept across a restart', async () => {
  const record = (time: string, result: VerifyRecord['result'], covered: VerifyRecord['covered']): VerifyRecord => ({
    runId: `r-${time}`,
    job: '2',
    target: 'abc',
    time,
    result,
    exitCode: result === 'ok' ? 0 : 1,
    mode: 'in-place',
    setTime: covered.length > 0 ? Math.max(...covered.map((c) => c.upTo)) : null,
    covered,
  });
  const records = [
    record('2026-11-01T00:00:00.000Z', 'ok', [
      { chainStart: 100, upTo: 200 },
      { chainStart: 500, upTo: 500 },
    ]),
    record('2026-11-02T00:00:00.000Z', 'differences', [{ chainStart: 500, upTo: 600 }]),
    record('2026-11-03T00:00:00.000Z', 'ok', []),
  ];
  assert.deepEqual(verifyOfSet(records, 100, 200), { status: 'ok', time: '2026-11-01T00:00:00.000Z', mode: 'in-place' });
  assert.equal(verifyOfSet(records, 100, 300), undefined, 'a set newer than any run covered');
  assert.equal(verifyOfSet(records, 500, 500)?.status, 'differences', 'the newest covering run wins');
  assert.equal(verifyOfSet(records, 400, 150), undefined, 'another chain');
  assert.deepEqual(
    [...lastVerifyByResult(records)],
    [
      ['ok', Date.parse('2026-11-03T00:00:00.000Z') / 1000],
      ['differences', Date.parse('2026-11-02T00:00:00.000Z') / 1000],
    ],
  );
  const dir = tmpDir(hooks, 'verify-records');
  const store = new HistoryStore(dir);
  for (const r of records) await store.addVerify(r);
  const again = new HistoryStore(dir);
  await again.load();
  assert.deepEqual(again.verifies('abc'), records);
  assert.deepEqual(again.verifies('other'), []);
});
