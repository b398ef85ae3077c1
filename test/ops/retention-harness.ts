/**
 * Shared by the retention comparisons with duplicity 0.8.22 (retention.test.ts) and 3.x
 * (retention-dup3.test.ts): one target with several chains and an orphaned incremental, written by
 * real duplicity 0.8.22; each case runs a tool on its own copy of it (target and cache), first
 * without --force (nothing may change), then with --force, and records what it deleted.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileUrl, runCommand, type RunResult } from '../support/cli.ts';
import { DUP08_PATH } from '../support/duplicity.ts';
import { runPermafrost } from '../support/permafrost.ts';
import { HOUR, T0 } from '../support/pf-target.ts';

export function listDir(dir: string): string[] {
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((n) => n.startsWith('duplicity-'))
        .sort()
    : [];
}

export function stamp(t: number): string {
  return new Date(t * 1000)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

/** Chains (hours after T0): [-2 full, -1 inc] with its full removed (orphaned inc), [0 full, 1 inc, 2 inc], [3 full], [4 full, 5 inc]. */
export async function buildScenario(dir: string): Promise<void> {
  const src = join(dir, 'src');
  mkdirSync(src, { recursive: true });
  const url = fileUrl(join(dir, 'remote'));
  const common = ['--no-encryption', '--archive-dir', join(dir, 'archive'), '--name', 'n'];
  const steps: [number, 'full' | 'incremental'][] = [
    [-2, 'full'],
    [-1, 'incremental'],
    [0, 'full'],
    [1, 'incremental'],
    [2, 'incremental'],
    [3, 'full'],
    [4, 'full'],
    [5, 'incremental'],
  ];
  for (const [h, kind] of steps) {
    writeFileSync(join(src, `f${h + 2}`), `step ${h}\n`.repeat(50));
    // several volumes in the chain starting at 0 h, to check the deletion order within a set
    if (h === 0 || h === 1) writeFileSync(join(src, `random${h}`), randomBytes(2_500_000));
    await runCommand(DUP08_PATH, [kind, ...common, '--volsize', '1', '--current-time', String(T0 + h * HOUR), src, url], {
      label: 'duplicity',
    });
  }
  // make the -1 incremental an orphan: its full set goes (remote and cache)
  const full = stamp(T0 - 2 * HOUR);
  for (const d of [join(dir, 'remote'), join(dir, 'archive', 'n')]) {
    for (const n of readdirSync(d)) if (n.includes(`full.${full}.`) || n.includes(`full-signatures.${full}.`)) rmSync(join(d, n));
  }
}

export interface Copy {
  readonly remote: string;
  readonly archive: string;
  readonly cache: string;
}

export function copyScenario(base: string, label: string, withCache: boolean): Copy {
  const dir = join(base, label);
  mkdirSync(dir, { recursive: true });
  cpSync(join(base, 'scenario', 'remote'), join(dir, 'remote'), { recursive: true });
  if (withCache) cpSync(join(base, 'scenario', 'archive'), join(dir, 'archive'), { recursive: true });
  else mkdirSync(join(dir, 'archive', 'n'), { recursive: true });
  return { remote: join(dir, 'remote'), archive: join(dir, 'archive'), cache: join(dir, 'archive', 'n') };
}

export interface Outcome {
  /** The listing without --force: 0.8.22's text (see listedChains). */
  readonly listed: string;
  /** The chain end times listed without --force, whatever the wording. */
  readonly listedTimes: string[];
  readonly deletedRemote: string[];
  readonly deletedCache: string[];
  readonly forceOutput: string;
  /** Remote files in the order the run deleted them (from its `Deleting` lines). */
  readonly order: string[];
}

/** The chain-time lines of the listing duplicity 0.8.22 prints without --force (permafrost prints the same). */
export function listedChains(out: string): string {
  const m =
    /(Found old backup chains? at the following times?:\n[\s\S]*?\nRerun command with --force option to actually delete\.)|No old backup sets found, nothing deleted\./.exec(
      out,
    );
  return m ? m[0] : `(no listing in)\n${out}`;
}

/** The listed chain times in 0.8.22's wording or 3.x's ("Found old backup chain(s) at the following time:"); [] for none. */
export function listedTimes(out: string): string[] {
  const m =
    /Found old backup chain(?:s|\(s\))? at the following times?:\n([\s\S]*?)\nRerun command with --force option to actually delete\./.exec(
      out,
    );
  if (m) return m[1]!.split('\n');
  assert.match(out, /No old backup sets found, nothing deleted\./);
  return [];
}

/** Runs `tool` (a duplicity binary, or permafrost) on a fresh copy of the scenario, listing then deleting. */
export async function runTool(
  base: string,
  label: string,
  tool: { readonly dup: string | null },
  verbArgs: readonly string[],
  withCache = true,
  damage?: (c: Copy) => void,
): Promise<Outcome> {
  const c = copyScenario(base, label, withCache);
  damage?.(c);
  const args = [
    ...verbArgs,
    '--no-encryption',
    '--archive-dir',
    c.archive,
    '--name',
    'n',
    '--current-time',
    String(T0 + 100 * HOUR),
    fileUrl(c.remote),
  ];
  const what = tool.dup ?? 'permafrost';
  const run = (extra: string[]): Promise<RunResult> =>
    tool.dup !== null ? runCommand(tool.dup, [...args, ...extra], { expectCode: 'any', label: what }) : runPermafrost([...args, ...extra]);
  const remote0 = listDir(c.remote);
  const cache0 = listDir(c.cache);
  const list = await run([]);
  assert.equal(list.code, 0, `${what} ${verbArgs.join(' ')}\n${list.stdout}\n${list.stderr}`);
  assert.deepEqual(listDir(c.remote), remote0, `${what} deleted without --force`);
  assert.deepEqual(listDir(c.cache), cache0, `${what} deleted cache files without --force`);
  // duplicity 3.x logs each deleted file at debug level only (0.8.22 and permafrost: info)
  const forced = await run(['--force', '-v', tool.dup !== null && tool.dup !== DUP08_PATH ? 'debug' : 'info']);
  assert.equal(forced.code, 0, `${what} ${verbArgs.join(' ')} --force\n${forced.stdout}\n${forced.stderr}`);
  const remote1 = new Set(listDir(c.remote));
  const cache1 = new Set(listDir(c.cache));
  const text = list.stdout + list.stderr;
  return {
    listed: listedChains(text),
    listedTimes: listedTimes(text),
    deletedRemote: remote0.filter((n) => !remote1.has(n)),
    deletedCache: cache0.filter((n) => !cache1.has(n)),
    forceOutput: forced.stdout + forced.stderr,
    order: [...(forced.stdout + forced.stderr).matchAll(/^Deleting (\S+)$/gm)]
      .map((m) => m[1]!)
      .filter((p) => (tool.dup !== null ? p.startsWith(`${c.remote}/`) : !p.includes('/')))
      .map((p) => p.slice(p.lastIndexOf('/') + 1)),
  };
}

export const at = (h: number): string => String(T0 + h * HOUR);

/** Files of the chain or set that starts or ends at `h` hours. */
export const chainOf =
  (h: number) =>
  (n: string): boolean =>
    n.includes(`full.${stamp(T0 + h * HOUR)}.`) ||
    n.includes(`full-signatures.${stamp(T0 + h * HOUR)}.`) ||
    n.includes(`.${stamp(T0 + h * HOUR)}.to.`) ||
    n.includes(`.to.${stamp(T0 + h * HOUR)}.`);
