import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatBytes } from '../../src/core/format-bytes.ts';
import { RateMeter, barLine, formatDuration, plainLine, withProgress, type ProgressStream } from '../../src/cli/progress.ts';
import type { ProgressState, Reporter } from '../../src/ops/reporter.ts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

class Collector implements Reporter {
  lines: string[] = [];
  progressCalls = 0;
  error(m: string): void {
    this.lines.push(`error:${m}`);
  }
  warning(m: string): void {
    this.lines.push(`warning:${m}`);
  }
  notice(m: string): void {
    this.lines.push(`notice:${m}`);
  }
  info(m: string): void {
    this.lines.push(`info:${m}`);
  }
  debug(m: string): void {
    this.lines.push(`debug:${m}`);
  }
  record(level: string, code: number, extra: string, human: string): void {
    this.lines.push(`record:${level} ${code} ${extra}|${human}`);
  }
  progress(): void {
    this.progressCalls++;
  }
}

class FakeStream implements ProgressStream {
  text = '';
  writes = 0;
  readonly isTTY: boolean;
  readonly columns: number;
  constructor(isTTY: boolean, columns = 120) {
    this.isTTY = isTTY;
    this.columns = columns;
  }
  write(chunk: string): boolean {
    this.text += chunk;
    this.writes++;
    return true;
  }
}

const state = (over: Partial<ProgressState>): ProgressState => ({ phase: 'full backup', filesDone: 0, bytesDone: 0, ...over });

/** The redraws of a bar: the text between carriage returns, without the erase-to-end escape. */
const redraws = (text: string): string[] =>
  text
    .split(/[\r\n]/)
    .map((s) => s.replaceAll('\u001b[K', ''))
    .filter((s) => s !== '');

describe('progress lines', () => {
  test('units and durations', () => {
    assert.equal(formatBytes(1536), '1.50 KiB');
    assert.equal(formatDuration(7), '7s');
    assert.equal(formatDuration(125), '2m05s');
    assert.equal(formatDuration(3 * 3600 + 60 * 7), '3h07m');
    assert.equal(formatDuration(3 * 86400 + 5 * 3600), '3d05h');
  });

  test('throughput follows a sliding window of bytes, and is unknown for the first second', () => {
    const m = new RateMeter();
    m.add(0, 0);
    m.add(500, MiB);
    assert.equal(m.rate(), undefined, 'half a second says nothing yet');
    assert.equal(m.finalRate(), 2 * MiB, 'but a short run still gets a last rate');
    m.add(1000, MiB);
    assert.equal(m.rate(), MiB);
    // a long stall then fast data: the old samples leave the 10 s window
    m.add(20_000, MiB);
    m.add(30_000, 11 * MiB);
    assert.equal(m.rate(), MiB);
  });

  test('plain line: counts, bytes, rate, ETA; ETA 0 when done, "-" while unknown, absent without a byte total', () => {
    assert.equal(
      plainLine(state({ filesDone: 3, filesTotal: 10, bytesDone: 3 * MiB, bytesTotal: 10 * MiB }), MiB),
      'Progress (full backup) 30%: 3/10 files  3.00 MiB/10.0 MiB  1.00 MiB/s  ETA 7s',
    );
    assert.equal(
      plainLine(state({ filesDone: 3, filesTotal: 10, bytesDone: 3 * MiB, bytesTotal: 10 * MiB }), undefined),
      'Progress (full backup) 30%: 3/10 files  3.00 MiB/10.0 MiB  ETA -',
    );
    assert.equal(
      plainLine(state({ filesDone: 10, filesTotal: 10, bytesDone: 10 * MiB, bytesTotal: 10 * MiB }), undefined),
      'Progress (full backup) 100%: 10/10 files  10.0 MiB/10.0 MiB  ETA 0s',
    );
    assert.equal(plainLine(state({ filesDone: 3, bytesDone: 3 * MiB }), MiB), 'Progress (full backup): 3 files  3.00 MiB  1.00 MiB/s');
    assert.equal(
      plainLine({ phase: 'thaw', filesDone: 2, filesTotal: 8, itemLabel: 'volumes ready', bytesDone: 0 }, undefined),
      'Progress (thaw) 25%: 2/8 volumes ready',
    );
  });

  test('bar line fits every width with the percentage, bytes and ETA; the bar shrinks first', () => {
    const s = state({ filesDone: 12_345, filesTotal: 99_999, bytesDone: 1023 * GiB, bytesTotal: 1536 * GiB });
    for (let width = 30; width <= 200; width++) {
      const line = barLine(s, 987.6 * MiB, width);
      assert.ok(line.length <= width - 1, `${width}: ${JSON.stringify(line)} is ${line.length}`);
      assert.match(line, /66%/, `${width}: ${line}`);
      assert.match(line, /ETA 8m52s/, `${width}: ${line}`);
      if (width >= 40) assert.match(line, /1023 GiB\/1\.50 TiB/, `${width}: ${line}`);
    }
    assert.match(barLine(s, 987.6 * MiB, 80), /^full backup \[=+-+\] {2}66% {2}1023 GiB\/1\.50 TiB +988 MiB\/s {2}ETA 8m52s$/);
    assert.match(barLine(s, 987.6 * MiB, 160), /\[={27}-{13}\].*ETA 8m52s {3}12345\/99999 files$/, 'the bar at most 40 wide');
    // the layout does not move as the numbers change
    const a = barLine(state({ bytesDone: 5 * MiB, bytesTotal: 300 * MiB }), 40 * MiB, 80);
    const b = barLine(state({ bytesDone: 150 * MiB, bytesTotal: 300 * MiB }), 4 * MiB, 80);
    assert.equal(a.indexOf('ETA'), b.indexOf('ETA'));
  });
});

describe('withProgress', () => {
  test('without a terminal: notice lines every interval, counted from the first state; a last one at the end', () => {
    const inner = new Collector();
    const err = new FakeStream(false);
    let now = 0;
    const p = withProgress(inner, { stream: err, intervalSeconds: 3, now: () => now });
    for (let t = 0; t <= 7000; t += 500) {
      now = t;
      p.progress(state({ filesDone: 1, filesTotal: 2, bytesDone: (t / 1000) * MiB, bytesTotal: 10 * MiB }));
    }
    // notices, recorded as duplicity records progress: code 16 with bytes, seconds, %, ETA, rate, stalled
    assert.deepEqual(inner.lines, [
      'record:NOTICE 16 3145728 3 30 7 1048576 0|Progress (full backup) 30%: 1/2 files  3.00 MiB/10.0 MiB  1.00 MiB/s  ETA 7s',
      'record:NOTICE 16 6291456 6 60 4 1048576 0|Progress (full backup) 60%: 1/2 files  6.00 MiB/10.0 MiB  1.00 MiB/s  ETA 4s',
    ]);
    assert.equal(err.text, '', 'nothing on the terminal stream when it is not a terminal');
    assert.equal(inner.progressCalls, 15, 'the inner reporter still sees every state');
    now = 7100;
    p.progressDone?.();
    assert.match(
      inner.lines[2]!,
      /^record:NOTICE 16 7340032 7 70 \d \d+ 0\|Progress \(full backup\) 70%: 1\/2 files {2}7\.00 MiB\/10\.0 MiB {2}10\d\d KiB\/s {2}ETA 3s$/,
    );
    p.notice('statistics');
    p.stop();
    assert.equal(inner.lines.length, 4, 'no progress after the end');
    assert.equal(inner.lines[3], 'notice:statistics');
  });

  test('without a record method, the lines are plain notices', () => {
    const lines: string[] = [];
    const inner: Reporter = { error() {}, warning() {}, info() {}, debug() {}, notice: (m) => lines.push(m) };
    let now = 0;
    const p = withProgress(inner, { stream: new FakeStream(false), intervalSeconds: 1, now: () => now });
    p.progress(state({ filesDone: 0, bytesDone: 0, bytesTotal: 2 * MiB }));
    now = 1000;
    p.progress(state({ filesDone: 0, bytesDone: MiB, bytesTotal: 2 * MiB }));
    p.stop();
    assert.deepEqual(lines, ['Progress (full backup) 50%: 0 files  1.00 MiB/2.00 MiB  1.00 MiB/s  ETA 1s']);
  });

  test('messages pass through unchanged', () => {
    const inner = new Collector();
    const p = withProgress(inner, { stream: new FakeStream(false) });
    p.info('A a/b');
    p.record?.('INFO', 10, 'x', 'y');
    p.error('bad');
    assert.deepEqual(inner.lines, ['info:A a/b', 'record:INFO 10 x|y', 'error:bad']);
    p.stop();
  });

  test('on a terminal: redraws only when the text changed, at most 4 a second; fits the width', () => {
    const tty = new FakeStream(true, 80);
    let now = 0;
    const p = withProgress(new Collector(), { stream: tty, now: () => now });
    // 10 s of states every 10 ms: 1000 states
    for (let t = 0; t <= 10_000; t += 10) {
      now = t;
      p.progress(state({ filesDone: 1, filesTotal: 1, bytesDone: Math.floor((t / 10_000) * 300 * MiB), bytesTotal: 300 * MiB }));
    }
    const drawn = redraws(tty.text);
    assert.ok(drawn.length <= 10 * 4 + 1, `${drawn.length} redraws in 10 s`);
    assert.ok(drawn.length >= 30, `${drawn.length} redraws in 10 s`);
    for (const d of drawn) {
      assert.ok(d.length <= 79, d);
      assert.match(d, /ETA (-|\d+s)/, d);
    }
    p.stop();
    assert.ok(tty.text.endsWith('\n'), 'the last bar stays, on its own line');
  });

  test('on a terminal: nothing is written while the text stays the same (a thaw waiting)', () => {
    const tty = new FakeStream(true, 80);
    let now = 0;
    const p = withProgress(new Collector(), { stream: tty, now: () => now });
    for (let t = 0; t <= 60_000; t += 100) {
      now = t;
      p.progress({ phase: 'thaw', filesDone: 3, filesTotal: 9, itemLabel: 'volumes ready', bytesDone: 0 });
    }
    assert.match(tty.text, /^\rthaw \[=+-+\] {2}33% {2}3\/9 volumes ready\u001b\[K$/);
    p.stop();
  });

  test('on a terminal: a message shown clears the bar and the bar comes back; one below the verbosity does nothing', () => {
    const inner = new Collector();
    const tty = new FakeStream(true, 100);
    let now = 0;
    const p = withProgress(inner, { stream: tty, now: () => now, shows: (level) => level !== 'info' });
    p.progress(state({ filesDone: 1, filesTotal: 4, bytesDone: 0, bytesTotal: 4 * MiB }));
    const drawn = tty.text;
    assert.match(drawn, /^\rfull backup \[-+\] +0% +0 B\/4\.00 MiB +ETA -/);
    p.info('A per-file line');
    assert.equal(tty.text, drawn, 'no clear, no redraw for a message that is not printed');
    now = 1000;
    p.notice('hello');
    assert.deepEqual(inner.lines, ['info:A per-file line', 'notice:hello']);
    assert.equal(tty.text.slice(drawn.length), `\r\u001b[K${drawn}`, 'cleared, then drawn again');
    p.stop();
  });

  test('a restore through a thaw: each phase keeps its own rate', () => {
    const inner = new Collector();
    let now = 0;
    const p = withProgress(inner, { stream: new FakeStream(false), intervalSeconds: 1, now: () => now });
    p.progress(state({ phase: 'restore', filesDone: 0, filesTotal: 2, bytesDone: 0, bytesTotal: 4 * MiB }));
    now = 1000;
    p.progress(state({ phase: 'restore', filesDone: 1, filesTotal: 2, bytesDone: MiB, bytesTotal: 4 * MiB }));
    now = 2000;
    p.progress({ phase: 'thaw', filesDone: 1, filesTotal: 2, itemLabel: 'volumes ready', bytesDone: 0 });
    now = 3000;
    p.progress(state({ phase: 'restore', filesDone: 1, filesTotal: 2, bytesDone: 2 * MiB, bytesTotal: 4 * MiB }));
    p.stop();
    assert.deepEqual(
      inner.lines.map((l) => l.split('|')[1]),
      [
        'Progress (restore) 25%: 1/2 files  1.00 MiB/4.00 MiB  1.00 MiB/s  ETA 3s',
        'Progress (thaw) 50%: 1/2 volumes ready',
        'Progress (restore) 50%: 1/2 files  2.00 MiB/4.00 MiB  683 KiB/s  ETA 3s',
      ],
    );
    assert.match(inner.lines[1]!, /^record:NOTICE 16 0 2 50 0 0 0\|/, 'a thaw has no bytes, rate or ETA');
  });
});
