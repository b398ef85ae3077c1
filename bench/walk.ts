/**
 * What the source walk costs, and what the alternatives to synchronous lstat would give (issue 18):
 * readdir + lstat of every entry of a tree, as the backup's walk (src/fs/walk.ts) and as bare loops.
 *
 *   npx node bench/walk.ts --dir /tmp/permafrost-bench/ds [--repeat 3] [--variants a,b,...]
 *
 * Each variant runs in a fresh process (so UV_THREADPOOL_SIZE applies and every variant starts
 * with the same JIT state), in turn, `--repeat` times, the order reversed every other round. The
 * tree should be in the page cache (the first round reads it; look at the later rounds). Reported:
 * wall time and CPU time (user + sys of the whole process, the thread pool included) of the walk
 * alone, not of the process start.
 */
import { spawnSync } from 'node:child_process';
import { lstat, readdir } from 'node:fs/promises';
import { lstatSync, readdirSync } from 'node:fs';
import { walkSource } from '../src/fs/walk.ts';
import { Selection } from '../src/fs/selection.ts';
import { arg } from './arg.ts';

interface Variant {
  readonly id: string;
  readonly describe: string;
  readonly env?: Record<string, string>;
  /** walks `root`; returns the number of entries lstat'ed */
  readonly run: (root: Buffer) => Promise<number>;
}

const SLASH = Buffer.from('/');

/** readdir + bigint lstat of every entry, depth first, names sorted (the walk's order and calls). */
function bareSync(root: Buffer, opts: { withFileTypes: boolean; bigint: boolean }): number {
  let n = 0;
  const visit = (dir: Buffer): void => {
    const prefix = Buffer.concat([dir, SLASH]);
    if (opts.withFileTypes) {
      // the type comes with the listing, but change detection still needs every lstat
      const ents = readdirSync(dir, { encoding: 'buffer', withFileTypes: true });
      ents.sort((a, b) => Buffer.compare(a.name, b.name));
      for (const e of ents) {
        const p = Buffer.concat([prefix, e.name]);
        lstatSync(p, { bigint: opts.bigint });
        n++;
        if (e.isDirectory()) visit(p);
      }
      return;
    }
    const names = readdirSync(dir, { encoding: 'buffer' });
    names.sort(Buffer.compare);
    for (const name of names) {
      const p = Buffer.concat([prefix, name]);
      const st = lstatSync(p, { bigint: opts.bigint });
      n++;
      if (st.isDirectory()) visit(p);
    }
  };
  visit(root);
  return n;
}

/** The same with every lstat of a directory started at once on the thread pool (in a window). */
async function bareAsync(root: Buffer, window: number): Promise<number> {
  let n = 0;
  const visit = async (dir: Buffer): Promise<void> => {
    const prefix = Buffer.concat([dir, SLASH]);
    const names = await readdir(dir, { encoding: 'buffer' });
    names.sort(Buffer.compare);
    for (let at = 0; at < names.length; at += window) {
      const slice = names.slice(at, at + window);
      const paths = slice.map((name) => Buffer.concat([prefix, name]));
      const stats = await Promise.all(paths.map((p) => lstat(p, { bigint: true })));
      n += stats.length;
      for (let i = 0; i < stats.length; i++) if (stats[i]!.isDirectory()) await visit(paths[i]!);
    }
  };
  await visit(root);
  return n;
}

async function viaWalk(
  root: Buffer,
  statMode: 'sync' | 'async' | 'adaptive',
  statConcurrency?: number,
  statThread = false,
): Promise<number> {
  let n = 0;
  for await (const _ of walkSource(root, Selection.all(root), () => {}, { statMode, statConcurrency, statThread })) n++;
  return n - 1; // the root
}

const VARIANTS: Variant[] = [
  {
    id: 'walk-adaptive',
    describe: "walkSource, default mode (synchronous while calls are fast: the backup's)",
    run: (r) => viaWalk(r, 'adaptive'),
  },
  {
    id: 'walk-thread',
    describe: 'walkSource, default mode, lstat on a stat-ahead thread of its own (statThread)',
    run: (r) => viaWalk(r, 'adaptive', undefined, true),
  },
  { id: 'walk-sync', describe: 'walkSource, statMode sync', run: (r) => viaWalk(r, 'sync') },
  { id: 'walk-async-32', describe: 'walkSource, statMode async, window 32, 4 pool threads', run: (r) => viaWalk(r, 'async', 32) },
  {
    id: 'walk-async-32-t8',
    describe: 'walkSource, statMode async, window 32, UV_THREADPOOL_SIZE=8',
    env: { UV_THREADPOOL_SIZE: '8' },
    run: (r) => viaWalk(r, 'async', 32),
  },
  {
    id: 'walk-async-32-t2',
    describe: 'walkSource, statMode async, window 32, UV_THREADPOOL_SIZE=2',
    env: { UV_THREADPOOL_SIZE: '2' },
    run: (r) => viaWalk(r, 'async', 32),
  },
  {
    id: 'bare-sync',
    describe: 'readdirSync + lstatSync(bigint), bare loop',
    run: async (r) => bareSync(r, { withFileTypes: false, bigint: true }),
  },
  {
    id: 'bare-sync-number',
    describe: 'readdirSync + lstatSync (number stats: loses the ns times)',
    run: async (r) => bareSync(r, { withFileTypes: false, bigint: false }),
  },
  {
    id: 'bare-sync-dirents',
    describe: 'readdirSync(withFileTypes) + lstatSync(bigint), bare loop',
    run: async (r) => bareSync(r, { withFileTypes: true, bigint: true }),
  },
  { id: 'bare-async-64', describe: 'readdir + 64 lstat(bigint) at a time on the pool (4 threads)', run: (r) => bareAsync(r, 64) },
  {
    id: 'bare-async-64-t8',
    describe: 'readdir + 64 lstat(bigint) at a time, UV_THREADPOOL_SIZE=8',
    env: { UV_THREADPOOL_SIZE: '8' },
    run: (r) => bareAsync(r, 64),
  },
];

/** The main thread's CPU time alone (what a walk on the main thread holds up). */
function mainThreadCpuSeconds(): number {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1e6;
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function child(id: string, dir: string): Promise<void> {
  const v = VARIANTS.find((x) => x.id === id);
  if (!v) throw new Error(`unknown variant ${id}`);
  const cpu0 = cpuSeconds();
  const main0 = mainThreadCpuSeconds();
  const t0 = performance.now();
  const n = await v.run(Buffer.from(dir));
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds() - cpu0;
  const mainCpu = mainThreadCpuSeconds() - main0;
  process.stdout.write(`${JSON.stringify({ id, n, wall, cpu, mainCpu })}\n`);
}

function main(): void {
  const dir = arg('--dir', '');
  if (dir === '') throw new Error('usage: npx node bench/walk.ts --dir DIR [--repeat N] [--variants a,b]');
  const repeat = Number(arg('--repeat', '3'));
  const wanted = arg('--variants', VARIANTS.map((v) => v.id).join(',')).split(',');
  const chosen = VARIANTS.filter((v) => wanted.includes(v.id));
  const results = new Map<string, { wall: number; cpu: number; mainCpu: number; n: number }[]>();
  for (let r = 0; r < repeat; r++) {
    const order = r % 2 === 0 ? chosen : [...chosen].reverse();
    for (const v of order) {
      const out = spawnSync(process.execPath, [...process.execArgv, new URL(import.meta.url).pathname, '--child', v.id, '--dir', dir], {
        env: { ...process.env, ...v.env },
        encoding: 'utf8',
      });
      if (out.status !== 0) throw new Error(`${v.id} failed: ${out.stderr}`);
      const res = JSON.parse(out.stdout.trim().split('\n').at(-1)!) as { n: number; wall: number; cpu: number; mainCpu: number };
      results.set(v.id, [...(results.get(v.id) ?? []), res]);
      process.stderr.write(`round ${r + 1}: ${v.id} ${res.wall.toFixed(3)} s wall, ${res.cpu.toFixed(3)} s CPU\n`);
    }
  }
  const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(2)).join(' / ');
  const min = (xs: number[]): number => Math.min(...xs);
  console.log(`Entries: ${results.values().next().value?.[0]?.n ?? 0}; load average at the end: ${readLoad()}\n`);
  console.log('| variant | wall s (each round) | CPU s (each round) | main thread CPU s (each round) | best CPU s |');
  console.log('|---|---|---|---|---:|');
  for (const v of chosen) {
    const rs = results.get(v.id)!;
    console.log(
      `| \`${v.id}\`: ${v.describe} | ${fmt(rs.map((x) => x.wall))} | ${fmt(rs.map((x) => x.cpu))} | ${fmt(rs.map((x) => x.mainCpu))} | ${min(rs.map((x) => x.cpu)).toFixed(2)} |`,
    );
  }
}

function readLoad(): string {
  return spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.split(' ').slice(0, 3).join(' ');
}

if (process.argv.includes('--child')) await child(arg('--child', ''), arg('--dir', ''));
else main();
