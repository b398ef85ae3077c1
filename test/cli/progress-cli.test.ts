/**
 * --progress and the statistics as a user sees them: the CLI run on a 300 MiB file with a
 * passphrase, its stdout and stderr read through one pipe (so that their order is the order of
 * the writes) and each line stamped with the time it arrived. Progress must move DURING the large
 * file, come at least every --progress-rate seconds, end (100%) before the statistics, and give a
 * sane rate and ETA on its first line; on a pseudo-terminal (util-linux `script`) every redraw
 * fits 80 columns with its ETA, and the redraws are few. The statistics' times are checked
 * against the wall clock around the run, for a full and an incremental. Restore and verify too.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { PERMAFROST_BIN } from '../support/permafrost.ts';

const hooks = fileCleanup();
const MiB = 1024 * 1024;
const BIG = 300 * MiB;
const PASSPHRASE = 'progress test passphrase';

let work: string;
let src: string;
let url: string;
let cache: string;

interface Line {
  readonly text: string;
  /** ms since the epoch when it arrived */
  readonly at: number;
}

interface TimedRun {
  readonly code: number;
  readonly lines: Line[];
  /** the raw bytes, for the terminal test */
  readonly raw: string;
  readonly startedAt: number;
  readonly endedAt: number;
}

/** Runs `argv` with stdout and stderr on one pipe, stamping each line with its arrival time. */
function runTimed(file: string, argv: readonly string[], env: Record<string, string> = {}): Promise<TimedRun> {
  return new Promise((resolve, reject) => {
    const startedAt = Date.now();
    const child = spawn('sh', ['-c', 'exec "$@" 2>&1', 'sh', file, ...argv], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, TZ: 'UTC', LC_ALL: 'C.UTF-8', PASSPHRASE, ...env },
    });
    const lines: Line[] = [];
    let raw = '';
    let partial = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const at = Date.now();
      raw += chunk;
      const parts = (partial + chunk).split('\n');
      partial = parts.pop()!;
      for (const p of parts) lines.push({ text: p, at });
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (partial !== '') lines.push({ text: partial, at: Date.now() });
      resolve({ code: code ?? -1, lines, raw, startedAt, endedAt: Date.now() });
    });
  });
}

const permafrostArgs = (...args: string[]): string[] => [PERMAFROST_BIN, ...args, '--archive-dir', cache];
const describeRun = (r: TimedRun): string => r.lines.map((l) => `${l.at - r.startedAt}ms ${l.text}`).join('\n');

interface ProgressLine {
  readonly at: number;
  readonly percent: number;
  readonly files: number;
  readonly bytes: number;
  readonly rate: number | undefined;
  readonly eta: number | undefined;
}

const UNIT: Record<string, number> = { B: 1, KiB: 1024, MiB, GiB: 1024 * MiB };
const bytesOf = (n: string, unit: string): number => Number(n) * UNIT[unit]!;

function durationOf(s: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(s);
  assert.ok(m, `a duration: ${s}`);
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

/** `Progress (phase) 42%: 1/52 files  126 MiB/300 MiB  45.0 MiB/s  ETA 4s` */
function progressLines(r: TimedRun, phase: string): ProgressLine[] {
  const re = new RegExp(
    `^Progress \\(${phase}\\) (\\d+)%: (\\d+)/\\d+ \\w+  ([\\d.]+) (B|KiB|MiB|GiB)/[\\d.]+ (?:B|KiB|MiB|GiB)(?:  ([\\d.]+) (B|KiB|MiB|GiB)/s)?(?:  ETA (-|\\w+))?$`,
  );
  return r.lines
    .filter((l) => l.text.startsWith(`Progress (${phase})`))
    .map((l) => {
      const m = re.exec(l.text);
      assert.ok(m, `a progress line: ${l.text}`);
      return {
        at: l.at,
        percent: Number(m[1]),
        files: Number(m[2]),
        bytes: bytesOf(m[3]!, m[4]!),
        rate: m[5] ? bytesOf(m[5], m[6]!) : undefined,
        eta: m[7] && m[7] !== '-' ? durationOf(m[7]) : undefined,
      };
    });
}

const indexOf = (r: TimedRun, pred: (text: string) => boolean): number => r.lines.findIndex((l) => pred(l.text));

/**
 * The large file's progress: lines whose file count stays put while the bytes grow, at least
 * every `rate` seconds (with slack for a busy machine), well before the process ends.
 */
function assertProgressInsideLargeFile(r: TimedRun, lines: ProgressLine[], rateSeconds: number, atLeast = 2): void {
  // the large file sorts first, so its lines are those short of its size (a line between its end
  // and the small files' says 99% with one more file done)
  const inside = lines.filter((l) => l.percent > 0 && l.bytes < BIG);
  assert.ok(inside.length >= atLeast, `at least ${atLeast} lines during the large file:\n${describeRun(r)}`);
  for (let i = 1; i < inside.length; i++) {
    assert.ok(inside[i]!.bytes > inside[i - 1]!.bytes, `bytes grow:\n${describeRun(r)}`);
    assert.equal(inside[i]!.files, inside[0]!.files, `inside one file:\n${describeRun(r)}`);
  }
  const last = lines[lines.length - 1]!;
  assert.ok(inside[0]!.at < last.at - 100, `the first line comes during the work, not at its end:\n${describeRun(r)}`);
  for (let i = 1; i < lines.length; i++) {
    const gap = lines[i]!.at - lines[i - 1]!.at;
    assert.ok(gap <= rateSeconds * 1000 + 1500, `a line at least every ${rateSeconds} s (gap ${gap} ms):\n${describeRun(r)}`);
  }
  assert.equal(last.percent, 100, describeRun(r));
}

/**
 * The first line with a rate, against what the run then did. Lines in the first second of the work
 * (a --progress-rate below 1) have none: `ETA -`, never a guess.
 */
function assertFirstLineSane(r: TimedRun, lines: ProgressLine[], total: number): void {
  const first = lines.find((l) => l.rate !== undefined);
  const done = lines.find((l) => l.percent === 100)!;
  assert.ok(
    first?.rate !== undefined && first.eta !== undefined && first !== done,
    `a line before the end has a rate and an ETA:\n${describeRun(r)}`,
  );
  for (const l of lines.slice(0, lines.indexOf(first))) assert.equal(l.eta, undefined, `no ETA without a rate:\n${describeRun(r)}`);
  const actualRate = (done.bytes - first.bytes) / ((done.at - first.at) / 1000);
  // within 8x: the first second includes the worker's start, slow on a loaded machine; the bug this
  // catches was off by 100x and more (a rate from files done, not bytes)
  assert.ok(
    first.rate > actualRate / 8 && first.rate < actualRate * 8,
    `first rate ${first.rate} against ${actualRate} B/s measured after it:\n${describeRun(r)}`,
  );
  const left = (done.at - first.at) / 1000;
  assert.ok(first.eta <= left * 4 + 2 && first.eta >= left / 4 - 2, `first ETA ${first.eta} s, ${left} s left in fact`);
  assert.ok(first.bytes < total);
}

/** StartTime/EndTime/ElapsedTime against the wall clock around the run. */
function assertStatisticsTimes(r: TimedRun): void {
  const text = r.lines.map((l) => l.text);
  const stat = (name: string): { value: number; pretty: string } => {
    const line = text.find((t) => t.startsWith(`${name} `));
    assert.ok(line, `${name} in:\n${text.join('\n')}`);
    const m = /^\w+ (\d+\.\d\d) \((.*)\)$/.exec(line);
    assert.ok(m, line);
    return { value: Number(m[1]), pretty: m[2]! };
  };
  const start = stat('StartTime');
  const end = stat('EndTime');
  const elapsed = stat('ElapsedTime');
  assert.ok(start.value >= r.startedAt / 1000 - 0.01, `StartTime ${start.value} is not before the run began (${r.startedAt / 1000})`);
  assert.ok(start.value <= r.lines[0]!.at / 1000 + 0.01, 'StartTime is before the first output');
  assert.ok(end.value <= r.endedAt / 1000 + 0.01, `EndTime ${end.value} is not after the run ended (${r.endedAt / 1000})`);
  const statsAt = r.lines.find((l) => l.text.startsWith('StartTime '))!.at;
  assert.ok(end.value >= statsAt / 1000 - 1, `EndTime ${end.value} is when the work ended (statistics printed at ${statsAt / 1000})`);
  assert.ok(end.value - start.value > 0.5, 'a run of several seconds');
  assert.ok(Math.abs(elapsed.value - (end.value - start.value)) <= 0.011, `ElapsedTime = EndTime - StartTime: ${text.join('\n')}`);
  assert.match(start.pretty, /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}$/);
  assert.match(elapsed.pretty, /^(\d+ minutes? )?\d+\.\d\d seconds$|^\d+ minutes?$/);
}

/** Lines after the statistics block's footer: none may follow it. */
function assertStatisticsLast(r: TimedRun): void {
  const header = indexOf(r, (t) => t.startsWith('--------------[ Backup Statistics ]'));
  const lastProgress = r.lines.findLastIndex((l) => l.text.startsWith('Progress ('));
  assert.ok(
    header > 0 && lastProgress >= 0 && lastProgress < header,
    `the last progress line comes before the statistics:\n${describeRun(r)}`,
  );
  const footer = r.lines.findIndex((l, i) => i > header && /^-{49}$/.test(l.text));
  assert.ok(footer > header, describeRun(r));
  assert.deepEqual(
    r.lines.slice(footer + 1).filter((l) => l.text !== ''),
    [],
    `nothing after the statistics:\n${describeRun(r)}`,
  );
}

before(() => {
  work = tmpDir(hooks, 'progress-cli');
  src = join(work, 'src');
  cache = join(work, 'cache');
  url = `file://${join(work, 'target')}`;
  mkdirSync(join(src, 'small'), { recursive: true });
  for (let i = 0; i < 20; i++) writeFileSync(join(src, 'small', `f${i}.txt`), `small file ${i}\n`);
  // text that compresses as real text does: words from a fixed pseudo-random list, in 4 MiB
  // blocks that differ (deflate sees 32 KiB back, so no block is a cheap repeat of another)
  let seed = 12345;
  const next = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  const words = Array.from({ length: 4000 }, () =>
    Array.from({ length: 2 + (next() % 8) }, () => String.fromCharCode(97 + (next() % 16))).join(''),
  );
  const block = Buffer.alloc(4 * MiB);
  const fd = openSync(join(src, 'big.txt'), 'w');
  try {
    for (let written = 0; written < BIG; written += block.length) {
      let at = 0;
      while (at < block.length) at += block.write(`${words[next() % words.length]!} `, at, 'latin1');
      writeSync(fd, block);
    }
  } finally {
    closeSync(fd);
  }
});

describe('--progress and statistics, as run by a user', () => {
  test('full backup, not on a terminal: progress inside the large file, then the statistics with this run’s times', async () => {
    const log = join(work, 'full.log');
    // duplicity's deflate level on one thread: a few seconds of work on any machine, so that the
    // lines inside the file and the first measured rate come before the end (at level 1 on two
    // threads a quiet machine backs the file up in about a second)
    const r = await runTimed(
      process.execPath,
      permafrostArgs('full', '--progress', '--progress-rate', '0.2', '--compress-level', '6', '--jobs', '1', '--log-file', log, src, url),
    );
    assert.equal(r.code, 0, describeRun(r));
    // --log-file: each line as duplicity records its progress (code 16, six whole numbers)
    const records = [...readFileSync(log, 'utf8').matchAll(/^NOTICE 16 (\d+) \d+ (\d+) \d+ \d+ [01]\n\. (Progress \(full backup\) .*)$/gm)];
    assert.equal(records.length, progressLines(r, 'full backup').length);
    const lastRecord = records.at(-1)!;
    assert.equal(lastRecord[2], '100');
    assert.ok(Number(lastRecord[1]) >= BIG, lastRecord[0]);
    assert.doesNotMatch(r.raw, /\u001b\[/, 'no terminal control sequences in a pipe');
    const lines = progressLines(r, 'full backup');
    assertProgressInsideLargeFile(r, lines, 0.2);
    assertFirstLineSane(r, lines, BIG);
    assertStatisticsLast(r);
    assertStatisticsTimes(r);
  });

  test('incremental: StartTime is when this run began, not the previous backup', async () => {
    writeFileSync(join(src, 'small', 'f0.txt'), 'changed\n');
    await new Promise((res) => setTimeout(res, 1100));
    const r = await runTimed(process.execPath, permafrostArgs('incremental', '--progress', src, url));
    assert.equal(r.code, 0, describeRun(r));
    assertStatisticsLast(r);
    const start = Number(/^StartTime (\S+)/m.exec(r.raw)![1]);
    assert.ok(start >= r.startedAt / 1000 - 0.01, `StartTime ${start}, run began at ${r.startedAt / 1000}:\n${r.raw}`);
    const end = Number(/^EndTime (\S+)/m.exec(r.raw)![1]);
    assert.ok(end <= r.endedAt / 1000 + 0.01 && end >= start);
  });

  test('restore and verify --compare-data, not on a terminal: bytes written of the total, inside the large file', async () => {
    const dest = join(work, 'restored');
    let r = await runTimed(process.execPath, permafrostArgs('restore', '--progress', '--progress-rate', '0.2', url, dest));
    assert.equal(r.code, 0, describeRun(r));
    let lines = progressLines(r, 'restore');
    // a restore reads faster than a backup writes: one line inside the file may be all there is
    assertProgressInsideLargeFile(r, lines, 0.2, 1);
    assert.ok(lines[lines.length - 1]!.bytes >= BIG);
    const summary = indexOf(r, (t) => t.startsWith('Restored '));
    assert.ok(summary > r.lines.findLastIndex((l) => l.text.startsWith('Progress (')), describeRun(r));

    r = await runTimed(process.execPath, permafrostArgs('verify', '--compare-data', '--progress', '--progress-rate', '0.2', url, src));
    assert.equal(r.code, 0, describeRun(r));
    lines = progressLines(r, 'verify');
    assertProgressInsideLargeFile(r, lines, 0.2, 1);
    assert.ok(indexOf(r, (t) => t.startsWith('Verify complete')) > r.lines.findLastIndex((l) => l.text.startsWith('Progress (')));

    r = await runTimed(process.execPath, permafrostArgs('verify', '--progress', url, src));
    assert.equal(r.code, 0, describeRun(r));
    assert.match(r.raw, /^Progress \(verify\) 100%: (\d+)\/\1 objects {2}[\d.]+ MiB\/[\d.]+ MiB/m);
    assert.ok(indexOf(r, (t) => t.startsWith('Verify complete')) > r.lines.findLastIndex((l) => l.text.startsWith('Progress (')));
  });

  test('on an 80-column pseudo-terminal: every redraw fits with its ETA, and redraws are bounded', async () => {
    assert.ok(spawnSync('script', ['--version']).status === 0, 'util-linux script is missing: apt-get install util-linux');
    const quote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;
    const cmd = `stty cols 80 rows 24; exec ${[process.execPath, ...permafrostArgs('full', '--progress', src, `${url}-tty`)].map(quote).join(' ')}`;
    const r = await runTimed('script', ['-qfec', cmd, '/dev/null']);
    assert.equal(r.code, 0, r.raw);
    const text = r.raw.replaceAll('\r\n', '\n');
    const barPart = text.slice(0, text.indexOf('--------------[ Backup Statistics ]'));
    const draws = barPart
      .split(/[\r\n]/)
      .map((s) => s.replaceAll('\u001b[K', ''))
      .filter((s) => s.startsWith('full backup') || s.startsWith('['));
    assert.ok(draws.length >= 3, `redraws during the backup:\n${JSON.stringify(barPart)}`);
    for (const d of draws) {
      assert.ok(d.length <= 79, `${d.length} columns: ${d}`);
      assert.match(d, /\d+%.*ETA (-|\w+)$/, d);
    }
    assert.match(draws[draws.length - 1]!, /100%.*300 MiB\/300 MiB.*ETA 0s/);
    const seconds = (r.endedAt - r.startedAt) / 1000;
    assert.ok(draws.length <= seconds * 4 + 4, `${draws.length} redraws in ${seconds} s`);
    const escapes = barPart.split('\u001b[K').length - 1 + barPart.split('\r').length - 1;
    const barBytes = draws.reduce((n, d) => n + d.length, 0) + escapes * 3;
    assert.ok(barBytes <= (seconds * 4 + 4) * 84, `${barBytes} bytes of redraws in ${seconds} s`);
    process.stdout.write(`# pseudo-terminal: ${draws.length} redraws, ${barBytes} bytes of bar output in ${seconds.toFixed(1)} s\n`);
    // the statistics follow the bar's last line, on their own lines
    assert.match(text, /ETA 0s(\u001b\[K)?\n--------------\[ Backup Statistics \]/);
  });
});
