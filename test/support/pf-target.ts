/**
 * End-to-end scenarios through the permafrost CLI against a file:// target: one working directory
 * per test holding the target, the archive dir (cache) and whatever the test restores, plus the
 * assertions every fault test makes about how a run failed.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from './cli.ts';
import { fileUrl } from './cli.ts';
import { runPermafrost } from './permafrost.ts';
import { tmpDir, type AfterHook } from './tmp.ts';

/** --current-time of a scenario's first backup (2027-01-15, so never "now" by accident). */
export const T0 = 1_800_000_000;
export const HOUR = 3600;

export interface PfTarget {
  /** Working directory; everything below lives in it. */
  readonly work: string;
  readonly remote: string;
  readonly url: string;
  /** --archive-dir given to every run. */
  readonly archiveDir: string;
  /** The cache proper: `<archiveDir>/<name>`. */
  readonly cache: string;
  /**
   * Runs `permafrost <args>` with `--no-encryption --archive-dir <archiveDir> --name test` put
   * first (options may go anywhere, as in duplicity; the command is the first positional).
   */
  run(...args: string[]): Promise<RunResult>;
  /** The same, without the options added. */
  raw(...args: string[]): Promise<RunResult>;
  /** Names at the target, sorted; [] when it does not exist. */
  files(): string[];
  /** A fresh path under `work` (not created). */
  path(name: string): string;
}

export function newTarget(t: AfterHook, label: string): PfTarget {
  const work = tmpDir(t, label);
  const remote = join(work, 'remote');
  const archiveDir = join(work, 'archive');
  let n = 0;
  return {
    work,
    remote,
    url: fileUrl(remote),
    archiveDir,
    cache: join(archiveDir, 'test'),
    run: (...args) => runPermafrost(['--no-encryption', '--archive-dir', archiveDir, '--name', 'test', ...args]),
    raw: (...args) => runPermafrost(args),
    files: () => (existsSync(remote) ? readdirSync(remote).sort() : []),
    path: (name) => join(work, `${name}-${n++}`),
  };
}

/** Text of a run for assertion messages. */
export function describeRun(r: RunResult): string {
  return `$ ${r.command}\nexit ${r.code}\n--- stdout ---\n${r.stdout.slice(-4000)}\n--- stderr ---\n${r.stderr.slice(-4000)}`;
}

export function assertOk(r: RunResult, what = ''): void {
  assert.equal(r.code, 0, `${what ? `${what}: ` : ''}expected success\n${describeRun(r)}`);
}

/**
 * The run failed with `code` and said why on exactly one line of stderr matching `message`, with
 * no stack trace anywhere (default verbosity).
 */
export function assertFails(r: RunResult, code: number, message: RegExp): void {
  assert.equal(r.code, code, `expected exit ${code}\n${describeRun(r)}`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `expected one line on stderr\n${describeRun(r)}`);
  assert.match(lines[0]!, message, describeRun(r));
  assert.doesNotMatch(`${r.stdout}\n${r.stderr}`, /^\s+at .*[:(]/m, `stack trace shown\n${describeRun(r)}`);
  assert.doesNotMatch(lines[0]!, /internal error/, describeRun(r));
}
