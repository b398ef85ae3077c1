/**
 * The schedule on an injected clock: docker-duplicity's periods at that image's times over a
 * simulated month, time zones, custom CRONTAB_<NAME> periods, and runs that outlast firings
 * (the periods due meanwhile run once afterwards, never concurrently).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Schedule, DEFAULT_PERIODS, type Period } from '../../src/daemon/schedule.ts';
import { schedulerLoop, type Clock } from '../../src/daemon/scheduler.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A clock that jumps to wherever the loop sleeps until; `advance` is how long each run takes. */
function fakeClock(start: number): Clock & { t: number } {
  const c = {
    t: start,
    now: () => c.t,
    async sleepUntil(at: number, signal: AbortSignal) {
      if (!signal.aborted && at !== Infinity) c.t = Math.max(c.t, at);
    },
  };
  return c;
}

interface RunRecord {
  period: string;
  at: number;
  startedAt: number;
}

/** Runs the loop from `start` until `end` on the fake clock; each run takes `runMs(period)`. */
async function simulate(
  periods: readonly Period[],
  start: number,
  end: number,
  runMs: (period: string) => number = () => 60_000,
  timezone?: string,
): Promise<RunRecord[]> {
  const clock = fakeClock(start);
  const abort = new AbortController();
  const runs: RunRecord[] = [];
  await schedulerLoop({
    schedule: new Schedule(periods, timezone),
    clock,
    signal: abort.signal,
    run: async (period, at) => {
      if (clock.t >= end) {
        abort.abort();
        return;
      }
      runs.push({ period, at, startedAt: clock.t });
      clock.t += runMs(period);
    },
  });
  return runs;
}

const named = (names: readonly string[]): Period[] => names.map((name) => ({ name, cron: DEFAULT_PERIODS[name]! }));
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

test("docker-duplicity's times over November 2026 (UTC): daily 02:00 Monday to Saturday, weekly 01:00 Sunday, monthly 05:00 on the 1st", async () => {
  const start = Date.UTC(2026, 10, 1, 0, 0); // Sunday 1 November 2026, 00:00 UTC
  const end = Date.UTC(2026, 11, 1, 6, 0);
  const runs = await simulate(named(['daily', 'weekly', 'monthly']), start, end);
  // Expected, by walking the calendar day by day.
  const expected: string[] = [];
  for (let day = start; day < end; day += DAY) {
    const d = new Date(day);
    if (d.getUTCDay() === 0) expected.push(`weekly ${iso(day + HOUR)}`);
    else expected.push(`daily ${iso(day + 2 * HOUR)}`);
    if (d.getUTCDate() === 1) expected.push(`monthly ${iso(day + 5 * HOUR)}`);
  }
  assert.deepEqual(
    runs.map((r) => `${r.period} ${iso(r.at)}`),
    expected,
  );
  assert.ok(
    runs.every((r) => r.startedAt === r.at),
    'each run starts at its firing',
  );
});

test('hourly and 15min; two periods due at the same minute run one after the other, in table order', async () => {
  const start = Date.UTC(2026, 10, 2, 0, 0);
  const runs = await simulate(named(['15min', 'hourly', 'daily']), start, start + 3 * HOUR + 60_000, () => 1000);
  const at0200 = runs.filter((r) => r.at === start + 2 * HOUR).map((r) => r.period);
  assert.deepEqual(at0200, ['15min', 'hourly', 'daily']);
  assert.equal(runs.filter((r) => r.period === '15min').length, 12);
  assert.equal(runs.filter((r) => r.period === 'hourly').length, 3);
  for (let i = 1; i < runs.length; i++) assert.ok(runs[i]!.startedAt >= runs[i - 1]!.startedAt + 1000, 'runs never overlap');
});

test('a run that outlasts other firings: each period due meanwhile runs once afterwards, in the order it fell due', async () => {
  const start = Date.UTC(2026, 10, 2, 1, 30); // Monday 01:30 UTC
  // The daily run takes 5 hours; hourly fires 5 times meanwhile, 15min 20 times.
  const runs = await simulate(named(['15min', 'hourly', 'daily']), start, start + 7 * HOUR, (p) => (p === 'daily' ? 5 * HOUR : 1000));
  const daily = runs.find((r) => r.period === 'daily')!;
  assert.equal(iso(daily.at), '2026-11-02T02:00:00Z');
  const after = runs.filter((r) => r.startedAt >= daily.startedAt + 5 * HOUR);
  // Right after the long run: 15min (first due at 02:15) then hourly (03:00), once each.
  assert.deepEqual(
    after.slice(0, 2).map((r) => [r.period, iso(r.at)]),
    [
      ['15min', '2026-11-02T02:15:00Z'],
      ['hourly', '2026-11-02T03:00:00Z'],
    ],
  );
  assert.equal(after[0]!.startedAt, daily.startedAt + 5 * HOUR);
  // Then back on schedule.
  assert.deepEqual(
    after.slice(2, 4).map((r) => [r.period, iso(r.at)]),
    [
      ['15min', '2026-11-02T07:15:00Z'],
      ['15min', '2026-11-02T07:30:00Z'],
    ],
  );
});

test('the time zone decides the wall-clock time (TZ=Europe/Berlin: 02:00 local is 01:00 UTC in winter, 00:00 UTC in summer)', async () => {
  const winter = await simulate(named(['daily']), Date.UTC(2026, 11, 1), Date.UTC(2026, 11, 2), undefined, 'Europe/Berlin');
  assert.deepEqual(
    winter.map((r) => iso(r.at)),
    ['2026-12-01T01:00:00Z'],
  );
  const summer = await simulate(named(['daily']), Date.UTC(2026, 5, 30, 12), Date.UTC(2026, 6, 1, 12), undefined, 'Europe/Berlin');
  assert.deepEqual(
    summer.map((r) => iso(r.at)),
    ['2026-07-01T00:00:00Z'],
  );
});

test('custom periods and cron expressions; a schedule with nothing to fire', () => {
  const s = new Schedule(
    [
      { name: 'daily2', cron: '30 14 * * *' },
      { name: '0 */6 * * *', cron: '0 */6 * * *' },
    ],
    'UTC',
  );
  const from = Date.UTC(2026, 10, 2, 13, 0);
  assert.deepEqual(s.next(from), { at: Date.UTC(2026, 10, 2, 14, 30), periods: ['daily2'] });
  assert.deepEqual(s.next(Date.UTC(2026, 10, 2, 14, 30)), { at: Date.UTC(2026, 10, 2, 18, 0), periods: ['0 */6 * * *'] });
  assert.deepEqual(
    s.due(from, from + 6 * HOUR).map((d) => d.period),
    ['daily2', '0 */6 * * *'],
  );
  assert.equal(new Schedule([], 'UTC').next(from), null);
});
