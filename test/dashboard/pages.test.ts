/**
 * The dashboard in a real browser (Debian's chromium through playwright-core) against a real
 * `permafrost daemon --listen` whose jobs back up to file:// and to moto's S3 (Deep Archive).
 * Each page must show what the CLI's --json says of the same target; a thaw started from the
 * Restore page must reach "ready" on moto; every request stays on the daemon's origin; and the
 * token prompt guards a daemon on a non-loopback address. Screenshots of each page are written
 * to test-artifacts/dashboard/.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { formatBytes } from '../../src/core/format-bytes.ts';
import { setRestoreTransition, startMoto, type MotoServer } from '../support/moto.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { createBucket, describe, envCredentials, hermeticEnv, lastJson, runCli } from '../s3/helpers.ts';
import { startSmtp, waitFor, type SmtpServer } from '../daemon/helpers.ts';
import { launchChromium, openPage, screenshot, type RecordedPage } from './browser.ts';
import { cronAt, startDashboardDaemon, type DashboardDaemon } from './dashboard-daemon.ts';

const hooks = fileCleanup();
const BUCKET = 'dash-bucket';
const SMTP = { user: 'reporter', pass: 'smtp-secret-dashboard' };

interface ClassCost {
  storageClass: string;
  bytes: number;
  monthly: number;
}
interface StatusJson {
  chains: { sets: { type: 'full' | 'inc'; time: string; endTime: number; volumes: number; bytes: number }[] }[];
  costs: { byClass: ClassCost[]; monthly: number; earlyDeletion: { total: number } };
}
interface ThawJson {
  toRequest: { objects: number; bytes: number };
  counts: { total: number };
  quotes: { tier: string; total: number }[];
  volumes: { name: string; size: number; storageClass: string; state: string }[];
}
interface Target {
  id: string;
  url: string;
}

let moto: MotoServer;
let smtp: SmtpServer;
let work: string;
let env: Record<string, string>;
let daemon: DashboardDaemon;
let browser: Browser;
let fileUrl: string;
let s3Url: string;
const targets = new Map<string, Target>();

/** The CLI with the jobs' options: the truth the pages are compared with. */
async function cli(args: readonly string[]): Promise<string> {
  const r = await runCli(
    [...args, '--no-encryption', '--archive-dir', join(work, 'cache'), '--s3-endpoint-url', moto.endpoint],
    hermeticEnv(envCredentials(), work),
  );
  assert.equal(r.code, 0, `permafrost ${args.join(' ')}\n${describe(r)}`);
  return r.stdout;
}

async function api<T>(path: string): Promise<T> {
  const res = await fetch(`${daemon.url}${path}`);
  assert.equal(res.status, 200, `${path}: ${res.status}`);
  return (await res.json()) as T;
}

/** Opens the dashboard at `hash` in a fresh tab at 1280x800 and waits for the page's heading. */
async function visit(hash: string, title: string): Promise<RecordedPage> {
  const p = await openPage(browser);
  await p.page.goto(`${daemon.url}/${hash}`);
  await p.page.getByRole('heading', { level: 1, name: title }).waitFor();
  return p;
}

function onlyDaemonOrigin(p: RecordedPage, base: string): void {
  const origin = new URL(base).origin;
  const elsewhere = p.requests.filter((u) => !u.startsWith('data:') && new URL(u).origin !== origin);
  assert.deepEqual(elsewhere, [], 'every request goes to the daemon');
  assert.ok(p.requests.length >= 3, 'the page loaded its script and data');
  assert.deepEqual(p.errors, [], 'no error in the page');
}

async function attr(page: Page, selector: string, name: string): Promise<string> {
  const v = await page.locator(selector).first().getAttribute(name);
  assert.notEqual(v, null, `${selector} has ${name}`);
  return v!;
}

/** The text a locator's first element holds, trimmed. */
async function txt(l: Locator): Promise<string> {
  return ((await l.first().textContent()) ?? '').trim();
}

function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= Math.abs(expected) * 1e-6 + 1e-12, `${what}: ${actual} (page) against ${expected} (CLI)`);
}

function writeTree(root: string, files: Readonly<Record<string, number>>): void {
  for (const [path, size] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), randomBytes(size));
  }
}

before(async () => {
  browser = await launchChromium(hooks);
  moto = await startMoto(hooks);
  await createBucket(moto.endpoint, BUCKET);
  // restores take a few seconds (in progress, then ready), so the page shows them move
  await setRestoreTransition(moto.endpoint, { progression: 'time', seconds: 3 });
  smtp = await startSmtp(hooks, SMTP);
  work = tmpDir(hooks, 'dashboard');
  const src = join(work, 'src');
  writeTree(src, {
    'projects/report.pdf': 700_000,
    'projects/data/table.csv': 1_300_000,
    'photos/2026/cat.jpg': 900_000,
    'notes.txt': 2_000,
  });
  fileUrl = `file://${join(work, 'file-target')}`;
  s3Url = `boto3+s3://${BUCKET}/backups/host1`;

  // two runs a dozen seconds apart: a full, then an incremental (and a second S3 chain: job 310)
  let start = new Date(Date.now() + 5_000);
  if (start.getUTCSeconds() > 44) start = new Date(Math.ceil(start.getTime() / 60_000) * 60_000 + 2_000);
  const second = new Date(start.getTime() + 13_000);
  await new Promise((r) => setTimeout(r, Math.max(0, start.getTime() - Date.now() - 4_000)));
  env = hermeticEnv(
    {
      ...envCredentials(),
      SRC: src,
      FILE_DST: fileUrl,
      S3_DST: s3Url,
      OPTIONS: `--no-encryption --archive-dir ${join(work, 'cache')} --s3-endpoint-url ${moto.endpoint} --s3-use-deep-archive --volsize 1 --poll-interval 1`,
      JOB_200_WHAT: 'dup $SRC $FILE_DST',
      JOB_200_WHEN: cronAt([start, second]),
      JOB_300_WHAT: 'dup $SRC $S3_DST',
      JOB_300_WHEN: cronAt([start, second]),
      // a verify of the S3 target after the first backup: the Chains page shows it on that set only
      JOB_305_WHAT: 'dup verify $S3_DST $SRC',
      JOB_305_WHEN: cronAt([start]),
      JOB_310_WHAT: 'dup full $SRC $S3_DST',
      JOB_310_WHEN: cronAt([second]),
      JOB_400_WHAT: 'echo checking the mounts; exit 3',
      JOB_400_WHEN: cronAt([start, second]),
      PERMAFROST_STATE_DIR: join(work, 'state'),
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(smtp.port),
      SMTP_USER: SMTP.user,
      SMTP_PASS: SMTP.pass,
      EMAIL_FROM: 'backup@example.com',
      EMAIL_TO: 'ops@example.com',
      NODE_EXTRA_CA_CERTS: smtp.caFile,
    },
    work,
  );
  daemon = await startDashboardDaemon(hooks, ['--listen', '127.0.0.1:0', '--ui-actions'], env);

  // after the first runs, a change for the incremental
  await waitFor('the first runs', async () => {
    const o = await api<{ jobs: { name: string; lastRun: unknown; running: boolean }[] }>('/api/overview');
    return o.jobs.every((j) => (j.lastRun !== null && !j.running) || j.name === '310') ? true : undefined;
  });
  writeTree(src, { 'projects/data/table.csv': 1_100_000, 'projects/new.txt': 30_000 });
  await waitFor(
    'the second runs',
    async () => {
      const runs = await api<{ runs: unknown[] }>('/api/jobs/310/runs');
      return runs.runs.length === 1 && smtp.mails.length >= 2 ? true : undefined;
    },
    120_000,
  );
  // a restart: the run history is kept in the state dir, and the new daemon reads every target
  // once at start, after the last job (a reading racing the jobs' uploads cannot be the last)
  assert.equal(await daemon.stop(), 0, daemon.stderr());
  daemon = await startDashboardDaemon(hooks, ['--listen', '127.0.0.1:0', '--ui-actions'], env);
  const o = await api<{ targets: (Target & { storedBytes: Record<string, number> })[] }>('/api/overview');
  for (const t of o.targets) targets.set(t.url, t);
  assert.deepEqual([...targets.keys()].sort(), [fileUrl, s3Url].sort(), 'the targets are those of the dup jobs');
  for (const url of [fileUrl, s3Url]) {
    const truth = JSON.parse(await cli(['collection-status', '--json', '--costs', url])) as StatusJson;
    const total = truth.costs.byClass.reduce((n, c) => n + c.bytes, 0);
    let seen: unknown;
    await waitFor(`the daemon's reading of ${url} (${total} bytes as the CLI reads it)`, async () => {
      const now = await api<{ targets: (Target & { storedBytes: Record<string, number> })[] }>('/api/overview');
      const t = now.targets.find((x) => x.url === url)!;
      seen = t;
      return Object.values(t.storedBytes).reduce((n, b) => n + b, 0) === total ? true : undefined;
    }).catch((err: Error) => {
      throw new Error(
        `${err.message}; the daemon says ${JSON.stringify(seen)}; the CLI ${JSON.stringify(truth.costs.byClass)} ${JSON.stringify(truth.chains)}`,
      );
    });
  }
});

test('Overview: each job last run, result and alerts; each target stored bytes by class and monthly cost as collection-status --costs says', async () => {
  const p = await visit('#/overview', 'Overview');
  const { page } = p;
  for (const url of [fileUrl, s3Url]) {
    const t = targets.get(url)!;
    const truth = JSON.parse(await cli(['collection-status', '--json', '--costs', url])) as StatusJson;
    const row = `tr[data-target="${t.id}"]`;
    await page.locator(row).waitFor();
    for (const c of truth.costs.byClass) {
      const cell = `${row} li[data-class="${c.storageClass}"] [data-bytes]`;
      assert.equal(Number(await attr(page, cell, 'data-bytes')), c.bytes, `${url} ${c.storageClass}`);
      assert.equal(await txt(page.locator(cell)), formatBytes(c.bytes));
    }
    assert.equal(await page.locator(`${row} li[data-class]`).count(), truth.costs.byClass.length);
    close(Number(await attr(page, `${row} [data-monthly] [data-usd]`, 'data-usd')), truth.costs.monthly, `${url} monthly cost`);
  }
  assert.ok(
    (await page.locator(`tr[data-target="${targets.get(s3Url)!.id}"] li[data-class="DEEP_ARCHIVE"]`).count()) === 1,
    'the S3 volumes are in DEEP_ARCHIVE',
  );
  for (const job of ['200', '300', '310']) assert.equal(await txt(page.locator(`tr[data-job="${job}"] .badge`).first()), 'OK', job);
  assert.equal(await txt(page.locator('tr[data-job="400"] .badge').first()), 'ERROR');
  assert.deepEqual(await page.locator('[data-alert]').evaluateAll((els) => els.map((e) => e.getAttribute('data-alert'))), ['400']);
  assert.match(await txt(page.locator('[data-alert="400"]')), /failed its last run \(exit 3/);
  // the history plots: one line per target
  await page.locator('.plot .uplot').first().waitFor();
  assert.equal(await page.locator('.plot').count(), 2);
  await screenshot(page, 'overview');
  await page.locator('.plot').first().scrollIntoViewIfNeeded();
  await screenshot(page, 'overview-plots');
  onlyDaemonOrigin(p, daemon.url);
  assert.ok(!(await page.content()).includes(SMTP.pass), 'no secret in the page');
  assert.ok(!(await page.content()).includes(envCredentials()['AWS_SECRET_ACCESS_KEY']!), 'no secret in the page');
  await p.context.close();
});

test('Chains: sets, volumes, sizes, storage class and minimum-storage windows as collection-status --json says; the retention preview as remove-all-but-n-full', async () => {
  const t = targets.get(s3Url)!;
  const truth = JSON.parse(await cli(['collection-status', '--json', '--costs', s3Url])) as StatusJson;
  assert.equal(truth.chains.length, 2, 'job 310 started a second chain');
  const p = await visit(`#/chains?target=${t.id}`, 'Chains');
  const { page } = p;
  await page.locator('[data-summary] [data-chains]').waitFor();
  assert.equal(await txt(page.locator('[data-summary] [data-chains]')), String(truth.chains.length));
  const sets = truth.chains.flatMap((c) => c.sets);
  assert.equal(await txt(page.locator('[data-summary] [data-sets]')), String(sets.length));
  assert.deepEqual(
    sets.map((s) => s.type),
    ['full', 'inc', 'full'],
  );
  for (const s of sets) {
    const row = `tr[data-set="${s.time}"]`;
    assert.equal(await txt(page.locator(`${row} [data-kind]`)), s.type === 'full' ? 'full' : 'incremental');
    assert.equal(await txt(page.locator(`${row} [data-volumes]`)), String(s.volumes));
    assert.equal(Number(await attr(page, `${row} [data-size] [data-bytes]`, 'data-bytes')), s.bytes);
    assert.equal(await txt(page.locator(`${row} [data-class]`)), 'DEEP_ARCHIVE');
    // Deep Archive: 180 days from the upload (seconds after the set's time: that day or the next), and inside it today
    const day = (t: number) => new Date(t * 1000).toISOString().slice(0, 10);
    const until = `(${day(s.endTime + 180 * 86400)}|${day(s.endTime + 181 * 86400)})`;
    assert.match(await txt(page.locator(`${row} [data-until]`)), new RegExp(`^${until}\\s+inside$`));
  }
  // job 305 verified the target after the first backup: that set shows it; the later ones do not
  const verifyRun = (await api<{ runs: { start: string; result: string }[] }>('/api/jobs/305/runs')).runs[0]!;
  assert.equal(verifyRun.result, 'OK');
  assert.equal(
    await txt(page.locator(`tr[data-set="${sets[0]!.time}"] [data-verify]`)),
    `ok (${verifyRun.start.slice(0, 10)})`,
    'the first set, verified by job 305',
  );
  for (const s of sets.slice(1)) assert.equal(await txt(page.locator(`tr[data-set="${s.time}"] [data-verify]`)), '—', s.time);
  close(
    Number(await attr(page, '[data-summary] [data-early-deletion] [data-usd]', 'data-usd')),
    truth.costs.earlyDeletion.total,
    'early deletion of everything',
  );
  assert.equal(await page.locator('svg.timeline').count(), 2, 'one timeline per chain');

  // keep 1 full: the first chain (its full and incremental) goes, inside its 180 days
  const retention = lastJson<{ earlyDeletion: { total: number }; plan: { chains: unknown[] } }>(
    await cli(['remove-all-but-n-full', '1', '--json', s3Url]),
  );
  await page.getByLabel('remove-all-but-n-full N =').fill('1');
  await page.getByLabel('remove-all-but-n-full N =').press('Enter');
  await page.locator('[data-retention="1"] [data-retention-charge]').waitFor();
  const deleted = await page.locator('[data-retention="1"] tr[data-delete]').count();
  assert.equal(deleted, truth.chains[0]!.sets.length);
  assert.ok(retention.earlyDeletion.total > 0);
  assert.equal(
    await txt(page.locator('[data-retention="1"] [data-retention-charge]')),
    formatUsdLikeThePage(retention.earlyDeletion.total),
  );
  await page.getByLabel('remove-all-but-n-full N =').fill('2');
  await page.getByLabel('remove-all-but-n-full N =').press('Enter');
  await page.locator('[data-retention="2"] [data-retention-none]').waitFor();
  await page.getByLabel('remove-all-but-n-full N =').fill('1');
  await page.getByLabel('remove-all-but-n-full N =').press('Enter');
  await page.locator('[data-retention="1"]').waitFor();
  await page.evaluate('window.scrollTo(0, 0)');
  await screenshot(page, 'chains');
  await page.locator('[data-retention="1"]').scrollIntoViewIfNeeded();
  await screenshot(page, 'chains-retention');
  onlyDaemonOrigin(p, daemon.url);
  await p.context.close();
});

/** The page's dollars (ui/format.ts formatUsd): cents from a cent up, two significant digits below. */
function formatUsdLikeThePage(v: number): string {
  if (v === 0) return '$0';
  return v >= 0.01 ? `$${v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}` : `$${v.toPrecision(2)}`;
}

test('Browse: a directory at the latest time and at the first set, as list-current-files --json says', async () => {
  const t = targets.get(fileUrl)!;
  const truth = JSON.parse(await cli(['collection-status', '--json', fileUrl])) as StatusJson;
  const first = truth.chains[0]!.sets[0]!;
  for (const time of [undefined, first.endTime]) {
    const lines = (
      JSON.parse(await cli(['list-current-files', '--json', ...(time ? ['--time', String(time)] : []), fileUrl])) as {
        files: { path: string; type: string; size: number }[];
      }
    ).files;
    const p = await visit(`#/browse?target=${t.id}${time ? `&time=${time}` : ''}&dir=projects`, 'Browse');
    const { page } = p;
    await page.locator('[data-listing-time]').waitFor();
    const expected = lines.filter((e) => /^projects\/[^/]+$/.test(e.path));
    const shown = await page.locator('tr[data-path]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-path')));
    assert.deepEqual([...shown].sort(), expected.map((e) => e.path).sort(), `projects/ at ${time ?? 'latest'}`);
    for (const e of expected.filter((x) => x.type === 'reg'))
      assert.equal(Number(await attr(page, `tr[data-path="${e.path}"] [data-size] [data-bytes]`, 'data-bytes')), e.size, e.path);
    if (time === undefined) {
      assert.ok(shown.includes('projects/new.txt'), 'the incremental added a file');
      // into a subdirectory by its link
      await page.getByRole('link', { name: 'data/' }).click();
      await page.locator('tr[data-path="projects/data/table.csv"]').waitFor();
      const size = lines.find((e) => e.path === 'projects/data/table.csv')!.size;
      assert.equal(Number(await attr(page, 'tr[data-path="projects/data/table.csv"] [data-bytes]', 'data-bytes')), size);
      await page.getByRole('link', { name: 'projects', exact: true }).click();
      await page.locator('tr[data-path="projects/new.txt"]').waitFor();
      await screenshot(page, 'browse');
    } else assert.ok(!shown.includes('projects/new.txt'), 'not there at the first set');
    onlyDaemonOrigin(p, daemon.url);
    await p.context.close();
  }
});

test('Restore: the plan as thaw --dry-run --json says; a thaw started from the page (after its cost is confirmed) reaches ready on moto', async () => {
  const t = targets.get(s3Url)!;
  const plan = lastJson<ThawJson>(await cli(['thaw', '--dry-run', '--json', '--file-to-restore', 'projects', s3Url]));
  assert.ok(plan.toRequest.objects > 0, 'the latest full is in Deep Archive: the restore needs a thaw');
  const p = await visit(`#/restore?target=${t.id}&path=projects&tier=Standard`, 'Restore');
  const { page } = p;
  await page.locator('[data-plan] [data-plan-volumes]').waitFor();
  assert.equal(await txt(page.locator('[data-plan-volumes]')), String(plan.counts.total));
  assert.equal(await txt(page.locator('[data-plan-requests]')), String(plan.toRequest.objects));
  assert.equal(
    Number(await attr(page, '[data-plan-bytes] [data-bytes]', 'data-bytes')),
    plan.volumes.reduce((n, v) => n + v.size, 0),
  );
  for (const q of plan.quotes)
    close(Number(await attr(page, `tr[data-tier="${q.tier}"] [data-usd]`, 'data-usd')), q.total, `${q.tier} quote`);
  const standard = plan.quotes.find((q) => q.tier === 'Standard')!;
  close(Number(await attr(page, '[data-plan-cost] [data-usd]', 'data-usd')), standard.total, 'the chosen tier');

  // the confirmation shows the cost before anything is requested
  await page.locator('[data-start-thaw]').click();
  const dialog = page.getByRole('dialog', { name: 'Start this thaw?' });
  await dialog.waitFor();
  assert.match(await txt(dialog.locator('[data-confirm-cost]')), new RegExp(`${plan.toRequest.objects} restore requests? .*Standard tier`));
  assert.ok((await txt(dialog.locator('[data-confirm-cost]'))).includes(formatUsdLikeThePage(standard.total)));
  await screenshot(page, 'restore-confirm');
  await dialog.locator('[data-confirm-thaw]').click();
  await page.locator('[data-thaw-started]').waitFor();
  // every volume the plan reads, ready: followed live (events, and the page's poll)
  const names = plan.volumes.filter((v) => v.state === 'archived').map((v) => v.name);
  assert.equal(names.length, plan.toRequest.objects);
  const thawRows = page.getByRole('region', { name: 'Thaw state per volume' }).locator('tr[data-state]');
  await waitFor(
    'every volume of the thaw ready on the page',
    async () => {
      const states = await thawRows.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-state')));
      return states.length >= names.length && states.every((x) => x === 'ready') ? true : undefined;
    },
    90_000,
  );
  const shown = await thawRows.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-volume')));
  for (const n of names) assert.ok(shown.includes(n), `${n} is followed`);
  assert.match(await txt(page.locator('[data-thaw-summary]')), new RegExp(`^${shown.length} of ${shown.length} volumes? ready`));
  // the plan, asked again, needs no thaw now
  await page.locator('[data-plan-readable]').waitFor();
  assert.equal(await page.locator('[data-start-thaw]').count(), 0);
  // and S3 agrees: the CLI sees them restored
  const after = lastJson<ThawJson & { counts: { ready: number } }>(
    await cli(['thaw', '--dry-run', '--json', '--file-to-restore', 'projects', s3Url]),
  );
  assert.equal(after.counts.ready, after.counts.total);
  await page.getByRole('heading', { name: 'Thaw', exact: true }).scrollIntoViewIfNeeded();
  await screenshot(page, 'restore');
  onlyDaemonOrigin(p, daemon.url);
  await p.context.close();
});

test('Jobs and logs: run history newest first with kinds and durations, the run log, and the last report e-mail as sent', async () => {
  const runs = (await api<{ runs: { id: string; kind: string; durationSeconds: number }[] }>('/api/jobs/300/runs')).runs;
  assert.equal(runs.length, 2);
  const p = await visit('#/jobs?job=300', 'Jobs and logs');
  const { page } = p;
  await page.locator('tr[data-run]').first().waitFor();
  assert.deepEqual(
    await page.locator('tr[data-run]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run'))),
    runs.map((r) => r.id),
  );
  assert.deepEqual(await page.locator('tr[data-run] td:nth-child(2)').allTextContents(), ['incremental', 'full']);
  const log = await txt(page.locator('[data-run-log]'));
  assert.match(log, /incremental backup/i, 'the newest run is selected and its log shown');
  await page.locator('[data-report-subject]').waitFor();
  // the last report that names job 300 (job 310 ran in a period of its own and has its own report)
  const mail = smtp.mails.filter((m) => m.body.includes('Job 300:')).at(-1)!;
  assert.equal(await txt(page.locator('[data-report-subject]')), mail.subject);
  assert.ok((await txt(page.locator('[data-report-body]'))).includes('Job 300'));
  assert.ok(!(await page.content()).includes(SMTP.pass), 'no secret in the page');
  await page.locator('.plot .uplot').waitFor();
  await screenshot(page, 'jobs');
  // the older run's log, by its link
  await page.locator(`tr[data-run="${runs[1]!.id}"] a`).click();
  await page.locator(`[data-run-log="${runs[1]!.id}"]`).waitFor();
  assert.match(await txt(page.locator(`[data-run-log="${runs[1]!.id}"]`)), /full backup/i);
  onlyDaemonOrigin(p, daemon.url);
  await p.context.close();
});

test('a narrow screen (390 px) shows every page without horizontal scrolling of the page itself', async () => {
  const p = await openPage(browser, { width: 390, height: 844 });
  for (const [hash, title] of [
    ['#/overview', 'Overview'],
    ['#/chains', 'Chains'],
    ['#/browse', 'Browse'],
    ['#/restore', 'Restore'],
    ['#/jobs', 'Jobs and logs'],
  ] as const) {
    await p.page.goto(`${daemon.url}/${hash}`);
    await p.page.getByRole('heading', { level: 1, name: title }).waitFor();
    await p.page.waitForLoadState('networkidle').catch(() => undefined);
    const overflow = await p.page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    assert.ok(overflow <= 1, `${title}: the page is ${overflow} px wider than the screen`);
  }
  await p.page.goto(`${daemon.url}/#/overview`);
  await p.page.locator('tr[data-target]').first().waitFor();
  await screenshot(p.page, 'overview-narrow');
  onlyDaemonOrigin(p, daemon.url);
  await p.context.close();
});

test('token: on a non-loopback address the page asks for the token once, keeps it for the tab, and never shows it', async () => {
  const address = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
  assert.ok(address, 'this machine has a non-loopback IPv4 address to listen on');
  const token = `tok-${randomBytes(12).toString('hex')}`;
  const secured = await startDashboardDaemon(hooks, ['--listen', `${address}:0`], {
    ...env,
    JOB_200_WHEN: 'daily',
    JOB_300_WHEN: 'daily',
    JOB_305_WHEN: 'daily',
    JOB_310_WHEN: 'daily',
    JOB_400_WHEN: 'daily',
    // a job that writes a line a second, a few seconds after the start: its log is followed live
    JOB_500_WHAT: 'for i in $(seq 1 40); do echo "working on part $i"; sleep 1; done',
    JOB_500_WHEN: cronAt([new Date(Date.now() + 6_000)]),
    PERMAFROST_STOP_GRACE_SECONDS: '1',
    PERMAFROST_STATE_DIR: join(work, 'state-secured'),
    PERMAFROST_UI_TOKEN: token,
  });
  assert.equal((await fetch(`${secured.url}/api/overview`)).status, 401, 'the API needs the token');
  const p = await openPage(browser);
  const { page } = p;
  await page.goto(`${secured.url}/`);
  const field = page.getByLabel('Access token');
  await field.waitFor().catch(async (err: Error) => {
    await screenshot(page, 'token-failed');
    throw new Error(`${err.message}\nrequests: ${p.requests.join(' ')}\nerrors: ${p.errors.join(' ')}`);
  });
  assert.equal(await field.getAttribute('type'), 'password');
  await screenshot(page, 'token');
  await field.fill('not-the-token');
  await page.getByRole('button', { name: 'Open the dashboard' }).click();
  await page.getByRole('alert').filter({ hasText: 'refused that token' }).waitFor();
  await page.getByLabel('Access token').fill(token);
  await page.getByRole('button', { name: 'Open the dashboard' }).click();
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
  await page.locator('tr[data-job="200"]').waitFor();
  // kept for the tab: another page of the same tab does not ask again
  await page.goto(`${secured.url}/#/jobs`);
  await page.getByRole('heading', { level: 1, name: 'Jobs and logs' }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('permafrost.token')), token);
  await page.locator('.dot-on').waitFor({ timeout: 10_000 });
  // the running job's log grows on the page without a reload (events through ?token=)
  await page.getByRole('link', { name: /Job 500/ }).click();
  await page.getByRole('heading', { name: /^Live log of the run at / }).waitFor({ timeout: 30_000 });
  const live = page.locator('[data-run-log]');
  await live.filter({ hasText: 'working on part 2' }).waitFor({ timeout: 20_000 });
  const loads = p.requests.length;
  await live.filter({ hasText: 'working on part 5' }).waitFor({ timeout: 20_000 });
  assert.ok(
    p.requests.slice(loads).every((u) => !u.includes('/log')),
    'the new lines came as events, not by reading the log again',
  );
  await screenshot(page, 'jobs-live-log');
  // this daemon runs without --ui-actions: the Restore page shows the plan and its cost, and no way to start it
  const status = JSON.parse(await cli(['collection-status', '--json', s3Url])) as StatusJson;
  const firstSet = status.chains[0]!.sets[0]!.endTime;
  await page.goto(`${secured.url}/#/restore?target=${targets.get(s3Url)!.id}&time=${firstSet}`);
  await page.locator('[data-plan-requests]').waitFor();
  assert.ok(Number(await txt(page.locator('[data-plan-requests]'))) > 0, 'the first chain is still in Deep Archive');
  await page.locator('[data-actions-off]').waitFor();
  assert.equal(await page.locator('[data-start-thaw]').count(), 0);
  assert.ok(!(await page.content()).includes(token), 'the token is not in the page');
  const withToken = p.requests.filter((u) => u.includes(token));
  assert.ok(
    withToken.length > 0 && withToken.every((u) => new URL(u).pathname === '/api/events'),
    'the token is in a URL only for EventSource',
  );
  onlyDaemonOrigin(p, secured.url);
  assert.ok(!secured.stderr().includes(token), 'the daemon does not log the token');
  await p.context.close();
  // a new tab (a new session) asks again
  const q = await openPage(browser);
  await q.page.goto(`${secured.url}/`);
  await q.page.getByLabel('Access token').waitFor();
  await q.context.close();
});
