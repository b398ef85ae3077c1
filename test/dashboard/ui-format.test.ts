/** The dashboard's formatting of times, durations, waits and dollars (ui/format.ts), run in Node. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, formatHours, formatTime, formatUsd, toSeconds } from '../../ui/format.ts';

test('API times: epoch seconds, ISO strings and duplicity time strings are the same instant; absent or unreadable is null', () => {
  const t = 1_796_639_511;
  assert.equal(toSeconds(t), t);
  assert.equal(toSeconds('2026-12-07T10:31:51.000Z'), t);
  assert.equal(toSeconds('20261207T103151Z'), t);
  for (const v of [null, undefined, '', 'yesterday']) assert.equal(toSeconds(v), null);
  assert.equal(formatTime(t), '2026-12-07 10:31 UTC');
  assert.equal(formatTime(t, true), '2026-12-07 10:31:51 UTC');
  assert.equal(formatTime(null), '—');
});

test('dollars: cents from a cent up, two significant digits below (a small bill is not "$0.00"), nothing for no value', () => {
  assert.equal(formatUsd(0), '$0');
  assert.equal(formatUsd(1234.5), '$1,234.50');
  assert.equal(formatUsd(0.01), '$0.01');
  assert.equal(formatUsd(0.000006624393165111542), '$0.0000066');
  assert.equal(formatUsd(-0.25), '-$0.25');
  assert.equal(formatUsd(null), '—');
  assert.equal(formatUsd(Number.NaN), '—');
});

test('durations and waits read as the reports write them', () => {
  assert.equal(formatDuration(0.243), '0.2s');
  assert.equal(formatDuration(42), '42s');
  assert.equal(formatDuration(41 * 60 + 12), '41m 12s');
  assert.equal(formatDuration(3 * 3600 + 5 * 60), '3h 05m');
  assert.equal(formatDuration(2 * 86400 + 4 * 3600), '2d 4h');
  assert.equal(formatDuration(null), '—');
  assert.equal(formatHours([12, 12]), '12 h');
  assert.equal(formatHours([3, 5]), '3–5 h');
  assert.equal(formatHours([0, 48]), 'up to 48 h');
  assert.equal(formatHours([0.25, 3]), '15 min–3 h');
  assert.equal(formatHours(13.5), '13.5 h');
});
