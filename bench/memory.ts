/**
 * Where a permafrost run's peak RSS goes (issue 18): runs the CLI under /usr/bin/time, reads
 * /proc/PID/smaps every 100 ms, and prints the breakdown at the highest RSS seen, with what each
 * thread's V8 reported (bench/memory-preload.mjs).
 *
 *   npx node bench/memory.ts [--flags "--max-semi-space-size=2"] -- full --no-encryption SRC file://TARGET ...
 *
 * `--flags` are the Node options (default: those of bin/permafrost.js's #! line, as users run it).
 * The categories are read from the mappings: the node binary's pages (file-backed, shared with
 * every node process), glibc's main arena (`[heap]`: the main thread's malloc, where ArrayBuffer
 * memory goes), the other threads' malloc arenas (anonymous mappings on a 64 MiB boundary),
 * V8's heap pages (anonymous 256 KiB mappings) and the rest.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arg } from './arg.ts';
import { shebangOf } from './shebang.ts';

const REPO = new URL('..', import.meta.url).pathname;
const BIN = join(REPO, 'bin/permafrost.js');
const NODE = join(REPO, 'node_modules/.bin/node');

interface Mapping {
  readonly start: bigint;
  readonly size: number;
  readonly name: string;
  readonly perms: string;
  rss: number;
}

function readSmaps(pid: number): Mapping[] {
  const maps: Mapping[] = [];
  let cur: Mapping | null = null;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const start = BigInt(`0x${head[1]}`);
      cur = { start, size: Number(BigInt(`0x${head[2]}`) - start) / 1024, perms: head[3]!, name: head[4] || '[anon]', rss: 0 };
      maps.push(cur);
    } else if (cur && line.startsWith('Rss:')) cur.rss = Number(line.split(/\s+/)[1]);
  }
  return maps;
}

const ARENA_ALIGN = 64n * 1024n * 1024n;

function category(m: Mapping): string {
  if (m.name.endsWith('/bin/node')) return 'node binary (file pages, shared)';
  if (m.name.startsWith('/')) return 'shared libraries';
  if (m.name === '[heap]') return "main thread's malloc arena ([heap]; ArrayBuffers)";
  if (m.name === '[anon]' && m.perms === 'rw-p') {
    if (m.start % ARENA_ALIGN === 0n && m.size < 65 * 1024) return "other threads' malloc arenas";
    if (m.size === 256) return 'V8 heap pages (all isolates)';
  }
  return 'other (stacks, code, large objects)';
}

async function main(): Promise<void> {
  const dash = process.argv.indexOf('--');
  if (dash < 0) throw new Error('usage: npx node bench/memory.ts [--flags "..."] -- PERMAFROST-ARGS...');
  const shebang = shebangOf(BIN);
  const flags = arg('--flags', shebang.nodeFlags.join(' '))
    .split(/\s+/)
    .filter((f) => f !== '');
  const out = join(tmpdir(), `pf-memory-${process.pid}`);
  const preload = new URL('./memory-preload.mjs', import.meta.url).href;
  const timeFile = `${out}.time`;
  const argv = [NODE, ...flags, '--import', preload, BIN, ...process.argv.slice(dash + 1)];
  const child = spawn('/usr/bin/time', ['-f', '%e %U %S %M', '-o', timeFile, ...argv], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, ...shebang.env, PF_MEMORY_OUT: out },
  });
  let peak: { rss: number; maps: Mapping[] } = { rss: 0, maps: [] };
  const poll = setInterval(() => {
    try {
      const kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
      const maps = readSmaps(kids[0]!);
      const rss = maps.reduce((a, m) => a + m.rss, 0);
      if (rss > peak.rss) peak = { rss, maps };
    } catch {
      /* not started yet, or gone */
    }
  }, 100);
  const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
  clearInterval(poll);
  const [wall, user, sys, maxKiB] = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
  console.log(
    `exit ${code}; ${wall} s wall, ${(user! + sys!).toFixed(2)} s CPU (user ${user}, sys ${sys}); peak RSS ${(maxKiB! / 1024).toFixed(0)} MiB (/usr/bin/time)`,
  );
  const by = new Map<string, number>();
  for (const m of peak.maps) by.set(category(m), (by.get(category(m)) ?? 0) + m.rss);
  console.log(`\nAt the highest RSS sampled (${(peak.rss / 1024).toFixed(0)} MiB):\n\n| part | MiB |\n|---|---:|`);
  for (const [k, v] of [...by].sort((a, b) => b[1] - a[1])) console.log(`| ${k} | ${(v / 1024).toFixed(1)} |`);
  const files = readdirSync(tmpdir()).filter((f) => f.startsWith(`pf-memory-${process.pid}.`) && f.endsWith('.json'));
  console.log("\nPer thread (V8), MiB: max over the run, and at the thread's highest process RSS\n");
  for (const f of files.sort()) {
    const t = JSON.parse(readFileSync(join(tmpdir(), f), 'utf8')) as {
      thread: number;
      max: Record<string, number>;
      atPeak: Record<string, unknown>;
    };
    console.log(
      `- thread ${t.thread}${t.thread === 0 ? ' (main)' : ''}: max ${JSON.stringify(t.max)}; at peak ${JSON.stringify(t.atPeak)}`,
    );
    rmSync(join(tmpdir(), f));
  }
  if (existsSync(timeFile)) rmSync(timeFile);
  process.exitCode = code;
}

await main();
