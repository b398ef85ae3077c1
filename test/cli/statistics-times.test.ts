/**
 * The time lines of the statistics block against duplicity 0.8.22's own statistics.py
 * (StatsObj.get_timestats_string), run by the Python that runs /usr/bin/duplicity, in this
 * process's time zone.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { statisticsTimeLines } from '../../src/cli/statistics-times.ts';

function duplicityPython(): string {
  assert.ok(
    existsSync('/usr/bin/duplicity'),
    'duplicity 0.8.22 is missing: apt-get install duplicity (or bash scripts/install-test-deps.sh)',
  );
  const m = /^#!\s*(\S+)/.exec(readFileSync('/usr/bin/duplicity', 'utf8').split('\n', 1)[0]!);
  assert.ok(m, '/usr/bin/duplicity has no #! line');
  return m[1]!;
}

const ORACLE = `
import json, sys
from duplicity import statistics
out = []
for start, end in json.load(sys.stdin):
    s = statistics.StatsObj()
    s.StartTime = start / 1000
    s.EndTime = end / 1000
    out.append(s.get_timestats_string())
print(json.dumps(out))
`;

test('StartTime, EndTime and ElapsedTime are written as duplicity writes them', () => {
  const base = 1_796_639_514_000;
  const elapsed = [
    0, 4, 5, 125, 375, 999, 1000, 1004, 38_820, 59_999, 60_000, 60_500, 61_000, 62_500, 119_000, 3_600_000, 3_661_500, 7_322_250,
    90_061_000,
  ];
  const cases: [number, number][] = [];
  for (const e of elapsed) for (const offset of [0, 125, 375, 999]) cases.push([base + offset, base + offset + e]);
  const expected = JSON.parse(
    execFileSync(duplicityPython(), ['-c', ORACLE], { input: JSON.stringify(cases), encoding: 'utf8', env: { ...process.env } }),
  ) as string[];
  cases.forEach(([start, end], i) => {
    assert.equal(`${statisticsTimeLines(start, end).join('\n')}\n`, expected[i], `start ${start}, end ${end}`);
  });
});
