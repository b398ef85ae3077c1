import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatBytes } from '../../src/core/format-bytes.ts';
import { RateMeter, describeProgress, formatDuration, withProgress, type ProgressStream } from '../../src/cli/progress.ts';
import type { ProgressState, Reporter } from '../../src/ops/reporter.ts';

const MiB = 1024 * 1024;

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
  readonly isTTY: boolean;
  readonly columns: number;
  constructor(isTTY: boolean, columns = 120) {
    this.isTTY = isTTY;
    this.columns = columns;
  }
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

const state = (over: Partial<ProgressState>): ProgressState => ({ phase: 'backup', filesDone: 0, bytesDone: 0, ...over });

describe('progress', () => {
  test('units and durations', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1023), '1023 B');
    assert.equal(formatBytes(1536), '1.50 KiB');
    assert.equal(formatBytes(3 * MiB), '3.00 MiB');
    assert.equal(formatBytes(150 * 1024 * MiB), '150 GiB');
    assert.equal(formatDuration(7), '7s');
    assert.equal(formatDuration(125), '2m05s');
    assert.equal(formatDuration(3 * 3600 + 60 * 7), '3h07m');
    assert.equal(formatDuration(3 * 86400 + 5 * 3600), '3d05h');
  });

  test('throughput follows the recent window', () => {
    const m = new RateMeter();
    m.add(0, 0);
    assert.equal(m.rate(), undefined);
    m.add(1000, MiB);
    assert.equal(m.rate(), MiB);
    // a long stall then fast data: the old samples leave the 10 s window
    m.add(20_000, MiB);
    m.add(30_000, 11 * MiB);
    assert.equal(m.rate(), MiB);
  });

  test('ETA only when the byte total is known', () => {
    assert.equal(describeProgress(state({ filesDone: 3, bytesDone: 3 * MiB }), MiB), '3 files  3.00 MiB  1.00 MiB/s');
    assert.equal(
      describeProgress(state({ filesDone: 3, filesTotal: 10, bytesDone: 3 * MiB, bytesTotal: 10 * MiB }), MiB),
      '3/10 files  3.00 MiB/10.0 MiB  1.00 MiB/s  ETA 7s',
    );
  });

  test('without a terminal: plain notice lines at most every interval, and a last one on stop', () => {
    const inner = new Collector();
    let now = 0;
    const p = withProgress(inner, { stream: new FakeStream(false), intervalSeconds: 3, now: () => now });
    for (let t = 0; t <= 7000; t += 500) {
      now = t;
      p.progress(state({ filesDone: t / 500, filesTotal: 100, bytesDone: (t / 1000) * MiB, bytesTotal: 10 * MiB }));
    }
    assert.deepEqual(inner.lines, [
      'notice:Progress (backup) 30%: 6/100 files  3.00 MiB/10.0 MiB  1.00 MiB/s  ETA 7s',
      'notice:Progress (backup) 60%: 12/100 files  6.00 MiB/10.0 MiB  1.00 MiB/s  ETA 4s',
    ]);
    assert.equal(inner.progressCalls, 15, 'the inner reporter still sees every state');
    p.stop();
    assert.equal(inner.lines.length, 3);
    assert.match(inner.lines[2]!, /^notice:Progress \(backup\) 70%: 14\/100 files {2}7\.00 MiB\/10\.0 MiB/);
    p.stop();
    assert.equal(inner.lines.length, 3, 'stop is idempotent');
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

  test('on a terminal: a bar with counts, sizes and ETA; messages clear its line first', () => {
    const inner = new Collector();
    const tty = new FakeStream(true, 150);
    let now = 0;
    const p = withProgress(inner, { stream: tty, now: () => now });
    p.progress(state({ filesDone: 1, filesTotal: 4, bytesDone: 0, bytesTotal: 4 * MiB, currentPath: 'dir/evil\u001b[2Jname' }));
    assert.match(tty.text, /backup \[-+\] +0% {2}1\/4 files {2}0 B\/4\.00 MiB {2}dir\/evil\?\[2Jname/);
    const before = tty.text.length;
    p.notice('hello');
    assert.equal(tty.text.slice(before), '\r\u001b[2K');
    assert.deepEqual(inner.lines, ['notice:hello']);
    now = 2000;
    p.progress(state({ filesDone: 2, filesTotal: 4, bytesDone: 2 * MiB, bytesTotal: 4 * MiB }));
    p.stop();
    assert.match(tty.text, /backup \[=+-+\] +50% {2}2\/4 files {2}2\.00 MiB\/4\.00 MiB {2}1\.00 MiB\/s {2}ETA 2s/);
    assert.doesNotMatch(tty.text, /\u001b\[2J/, 'control characters from file names are neutralised');
  });
});
