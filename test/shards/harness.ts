/**
 * Sharded targets through the CLI: N worker processes started side by side, each told its index
 * the way the engines do (JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX), on file:// or S3 (moto).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from '../support/cli.ts';
import { PERMAFROST_BIN, runPermafrost } from '../support/permafrost.ts';
import { buildTree, type EntrySpec } from '../support/tree.ts';

export type IndexVariable = 'JOB_COMPLETION_INDEX' | 'AWS_BATCH_JOB_ARRAY_INDEX';
export const T0 = 1_800_000_000;
export const HOUR = 3600;

export interface ShardedSetup {
  readonly url: string;
  readonly archiveDir: string;
  /** environment every run gets (S3: endpoint and credentials) */
  readonly env: Readonly<Record<string, string>>;
}

/** The environment of one worker: its index in `variable`, the other index variable cleared. */
export function workerEnv(setup: ShardedSetup, variable: IndexVariable, index: number): Record<string, string> {
  return { ...setup.env, JOB_COMPLETION_INDEX: '', AWS_BATCH_JOB_ARRAY_INDEX: '', [variable]: String(index) };
}

export function common(setup: ShardedSetup): string[] {
  return ['--no-encryption', '--archive-dir', setup.archiveDir];
}

/** Runs the workers `indexes` of a backup side by side; resolves with each one's result, in order. */
export function backupWorkers(
  setup: ShardedSetup,
  indexes: readonly number[],
  shards: number,
  args: readonly string[],
  variable: IndexVariable = 'JOB_COMPLETION_INDEX',
): Promise<RunResult[]> {
  return Promise.all(
    indexes.map((i) => runPermafrost([...args, '--shards', String(shards), ...common(setup)], workerEnv(setup, variable, i))),
  );
}

export function assertOk(r: RunResult, what: string): void {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n$ ${r.command}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
}

/** One worker as a child process we can kill (kill -9 in the tests). */
export function startWorker(setup: ShardedSetup, index: number, shards: number, args: readonly string[]): ChildProcess {
  return spawn(process.execPath, [PERMAFROST_BIN, ...args, '--shards', String(shards), ...common(setup)], {
    stdio: 'ignore',
    env: { ...process.env, TZ: 'UTC', ...workerEnv(setup, 'JOB_COMPLETION_INDEX', index) },
  });
}

/** A tree with one directory holding about half the bytes, and many small directories. */
export function skewedTree(root: string, opts: { bigFiles?: number; bigSize?: number; seed?: number } = {}): void {
  const entries: EntrySpec[] = [];
  const n = opts.bigFiles ?? 24;
  const size = opts.bigSize ?? 40_000;
  for (let i = 0; i < n; i++)
    entries.push({
      kind: 'file',
      path: `huge/part-${String(i).padStart(3, '0')}`,
      size,
      seed: (opts.seed ?? 1) * 1000 + i,
      mtime: T0 - 5000 + i,
    });
  for (let d = 0; d < 12; d++) {
    entries.push({ kind: 'dir', path: `d${d}`, mtime: T0 - 9000 + d, mode: 0o750 });
    for (let i = 0; i < 6; i++)
      entries.push({
        kind: 'file',
        path: `d${d}/f${i}.txt`,
        size: 1000 + ((d * 37 + i * 101) % 13) * 1000,
        seed: d * 100 + i,
        mtime: T0 - 7000 + d * 10 + i,
      });
  }
  entries.push({ kind: 'symlink', path: 'd0/link', target: '../huge/part-000' });
  entries.push({ kind: 'dir', path: 'empty', mtime: T0 - 100 });
  entries.push({ kind: 'dir', path: 'huge', mtime: T0 - 4000 });
  buildTree(root, { entries, root: { mtime: T0 - 1 } });
}

/** A copy of a tree with metadata (cp -a), to compare a later restore with. */
export function snapshot(from: string, to: string): void {
  execFileSync('cp', ['-a', from, to]);
}

/** The catalogue of a file:// sharded target. */
export function catalogueOf(remote: string): { generations: { generation: number; complete?: number; done: Record<string, unknown> }[] } {
  return JSON.parse(readFileSync(join(remote, 'permafrost-shards', 'catalogue.json'), 'utf8'));
}

/** Waits until `dir` holds at least `count` files (a worker is mid-upload). */
export async function waitForFiles(dir: string, count: number, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (existsSync(dir) && readdirSync(dir).length >= count) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${dir} did not get ${count} files within ${timeoutMs} ms`);
}
