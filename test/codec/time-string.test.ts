import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseTimeSpec, stringToTime, timeToString, tryParseTimeSpec } from '../../src/codec/time-string.ts';
import { runPython, withTz } from './python-oracle.ts';

/**
 * Zones with DST north and south, half- and quarter-hour offsets, and negative half-hour zones
 * (which trip duplicity's divmod quirk). Zones with "negative DST" in tzdata (Europe/Dublin) are
 * left out: glibc calls Irish winter time DST, which JavaScript cannot see (see time-string.ts).
 */
const ZONES = [
  'UTC',
  'Europe/Berlin',
  'America/New_York',
  'Australia/Sydney',
  'Asia/Kolkata',
  'America/St_Johns',
  'Asia/Kathmandu',
  'Pacific/Chatham',
  'America/Sao_Paulo',
];

/** Local-time results are compared from 1987 on: earlier, these zones changed standard offsets or used LMT, which V8 rounds to whole minutes. */
const FIRST_LOCAL_YEAR = 1987;

test('timeToString: spec VERIFIED values', () => {
  assert.equal(timeToString(1700000000), '20231114T221320Z');
  assert.equal(timeToString(1704153600), '20240102T000000Z');
  assert.equal(timeToString(1704240000), '20240103T000000Z');
  assert.throws(() => timeToString(1.5), RangeError);
  assert.throws(() => timeToString(-40000000000), RangeError);
});

test('timeToString and stringToTime agree with dup_time.timetostring / stringtotime on epochs', () => {
  const epochs = fc.sample(fc.integer({ min: -2177452800, max: 4102444799 }), { numRuns: 2000, seed: 3 });
  const py = runPython<{ s: string[]; t: (number | null)[] }>(
    `result = {'s': [dup_time.timetostring(t) for t in data], 't': [dup_time.stringtotime(dup_time.timetostring(t)) for t in data]}`,
    epochs,
  );
  epochs.forEach((t, i) => {
    assert.equal(timeToString(t), py.s[i], `timetostring(${t})`);
    assert.equal(stringToTime(timeToString(t)), py.t[i], `stringtotime(${py.s[i]})`);
  });
});

// Pieces of time strings, valid and not: digits (ASCII and Arabic-Indic), white space, signs,
// underscores, out-of-range fields, and zones in both duplicity's and the user's spelling.
const year = fc.oneof(
  { arbitrary: fc.integer({ min: FIRST_LOCAL_YEAR, max: 2099 }).map(String), weight: 6 },
  fc.constantFrom('1900', '2100', '2099', '٢٠٢٣', ' 2023', '2_023', '+2023', '99'),
);
const two = (min: number, max: number): fc.Arbitrary<string> =>
  fc.oneof(
    { arbitrary: fc.integer({ min, max }).map((n) => String(n).padStart(2, '0')), weight: 12 },
    { arbitrary: fc.integer({ min, max }).map(String), weight: 1 },
    { arbitrary: fc.constantFrom('00', '-0', '+1', ' 1', '1 ', '٣', '٠٣', '_1', '99', '60', '61', '62', '32', '13', '24', ''), weight: 1 },
  );
const zone = fc.constantFrom(
  'Z',
  'Z',
  '',
  '',
  '+01:00',
  '+01:00',
  '-05:00',
  '+10:00',
  '-03:30',
  '-04:30',
  '+05:45',
  '+12:45',
  '-00:00',
  '+1:00',
  '+01:0',
  'z',
  '+01_00',
  '+01.00',
  '+٠١:٠٠',
  '-00:-5',
  ' +01:00',
  '+01:00x',
  'UTC',
  '+ 1:00',
);
const sep = fc.constantFrom(':', ':', ':', '_', '.', '::', '');

const oldStyle = fc
  .tuple(year, two(1, 12), two(1, 31), two(0, 23), two(0, 59), two(0, 59), zone, sep)
  .map(([y, mo, d, h, mi, s, z, sp]) => ({
    s: `${y}-${mo}-${d}T${h}${sp === '' ? ':' : sp}${mi}${sp === '' ? ':' : sp}${s}${z.replaceAll(':', sp === '' ? ':' : sp)}`,
    sep: sp,
  }));
const newStyle = fc
  .tuple(fc.integer({ min: 1, max: 4102444799 }), fc.nat(16), fc.constantFrom('', 'X', 'T', '0', ' ', '\n', '٣', 't', 'Z'), sep)
  .map(([t, at, ch, sp]) => {
    const s = timeToString(t);
    return { s: s.slice(0, at) + ch + s.slice(at + (ch === '' ? 1 : 1)), sep: sp };
  });
const noise = fc
  .tuple(fc.array(fc.constantFrom('2', '0', '1', 'T', '-', ':', 'Z', '+', ' ', '_', '٣', 'a'), { maxLength: 25 }), sep)
  .map(([cs, sp]) => ({ s: cs.join(''), sep: sp }));

test('stringToTime agrees with dup_time.stringtotime across zones and separators', () => {
  const cases = fc.sample(fc.oneof(oldStyle, oldStyle, newStyle, noise), { numRuns: 1500, seed: 11 });
  const py = runPython<Record<string, (number | null)[]>>(
    `
result = {}
for tz in data['zones']:
    set_tz(tz)
    out = []
    for c in data['cases']:
        config.time_separator = c['sep']
        out.append(dup_time.stringtotime(c['s']))
    result[tz] = out
`,
    { zones: ZONES, cases },
  );
  let parsed = 0;
  for (const tz of ZONES) {
    withTz(tz, () => {
      cases.forEach((c, i) => {
        const ours = stringToTime(c.s, c.sep);
        if (ours !== null) parsed++;
        assert.equal(ours, py[tz]![i], `TZ=${tz} sep=${JSON.stringify(c.sep)} stringtotime(${JSON.stringify(c.s)})`);
      });
    });
  }
  assert.ok(parsed > cases.length, `enough cases parse (${parsed})`);
});

const interval = fc
  .array(
    fc.tuple(
      fc.oneof(fc.nat(400).map(String), fc.constantFrom('0', '007', '99999999')),
      fc.constantFrom('s', 'm', 'h', 'D', 'W', 'M', 'Y', 'd', 'H', 'x', ''),
    ),
    { minLength: 1, maxLength: 4 },
  )
  .map((parts) => parts.map(([n, u]) => n + u).join(''));
const dateOnly = fc
  .tuple(year, two(1, 12), two(1, 31), fc.constantFrom('-', '/'), fc.constantFrom('-', '/'), fc.constantFrom('ymd', 'mdy', 'ymdz'))
  .map(([y, mo, d, s1, s2, form]) =>
    form === 'ymd' ? `${y}${s1}${mo}${s2}${d}` : form === 'mdy' ? `${mo}${s1}${d}${s2}${y}` : `${y}${mo}${d}Z`,
  );
const w3 = fc
  .tuple(year, two(1, 12), two(1, 31), two(0, 23), two(0, 59), two(0, 59), zone)
  .map(([y, mo, d, h, mi, s, z]) => `${y}-${mo}-${d}T${h}:${mi}:${s}${z}`);
const spec = fc.oneof(
  fc.constantFrom('now', 'NOW', 'now ', '', '0', '123\n', '1700000000', ' 5', '1D\n', '2001-03-23\n', '1h30m', '3D2h', '4W', '2Y', '1M'),
  fc.nat().map(String),
  interval,
  dateOnly,
  w3,
  noise.map((n) => n.s),
);

test('parseTimeSpec agrees with dup_time.genstrtotime across zones', () => {
  const cases = fc
    .sample(fc.tuple(spec, fc.integer({ min: 1_000_000_000, max: 2_000_000_000 }), fc.constantFrom(':', ':', '_')), {
      numRuns: 1500,
      seed: 5,
    })
    .map(([s, now, sp]) => ({ s, now, sep: sp }));
  const py = runPython<Record<string, (number | string | null)[]>>(
    `
result = {}
for tz in data['zones']:
    set_tz(tz)
    out = []
    for c in data['cases']:
        config.time_separator = c['sep']
        try: out.append(dup_time.genstrtotime(c['s'], override_curtime=c['now']))
        except dup_time.TimeException: out.append(None)
    result[tz] = out
`,
    { zones: ZONES, cases },
  );
  let parsed = 0;
  for (const tz of ZONES) {
    withTz(tz, () => {
      cases.forEach((c, i) => {
        const ours = tryParseTimeSpec(c.s, c.now, { timeSeparator: c.sep });
        if (ours !== null) parsed++;
        // Beyond 2^53 Python keeps exact big integers; these are refused here instead.
        const want = py[tz]![i];
        assert.equal(
          ours,
          typeof want === 'number' && !Number.isSafeInteger(want) ? null : want,
          `TZ=${tz} sep=${JSON.stringify(c.sep)} now=${c.now} genstrtotime(${JSON.stringify(c.s)})`,
        );
      });
    });
  }
  assert.ok(parsed > cases.length * 2, `enough cases parse (${parsed})`);
});

test('parseTimeSpec: documented forms, and a one-line error naming the bad string', () => {
  const now = 1700000000;
  withTz('UTC', () => {
    assert.equal(parseTimeSpec('now', now), now);
    assert.equal(parseTimeSpec('1699990000', now), 1699990000);
    assert.equal(parseTimeSpec('4W', now), now - 4 * 7 * 86400);
    assert.equal(parseTimeSpec('1h30m', now), now - 5400);
    assert.equal(parseTimeSpec('3D2h', now), now - 3 * 86400 - 7200);
    assert.equal(parseTimeSpec('1M', now), now - 30 * 86400);
    assert.equal(parseTimeSpec('1Y', now), now - 365 * 86400);
    assert.equal(parseTimeSpec('2023-11-14', now), parseTimeSpec('2023/11/14', now));
    assert.equal(parseTimeSpec('11/14/2023', now), parseTimeSpec('2023-11-14T00:00:00Z', now));
  });
  // Local dates are standard time all year: Berlin midnight is 23:00 UTC in July too.
  withTz('Europe/Berlin', () => {
    assert.equal(parseTimeSpec('2023-07-01', 0 + 1), parseTimeSpec('2023-06-30T23:00:00Z', 1));
    assert.equal(parseTimeSpec('2023-07-01T00:00:00', 1), parseTimeSpec('2023-06-30T23:00:00Z', 1));
  });
  for (const bad of ['yesterday', '1d', '2023-13-01', '1h 30m', 'now\nnow']) {
    assert.throws(
      () => parseTimeSpec(bad, now),
      (e: Error) => e.message.includes(JSON.stringify(bad)) && !e.message.includes('\n') && /interval/.test(e.message),
    );
  }
});
