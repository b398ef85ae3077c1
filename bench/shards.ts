/**
 * Sharded backups: the wall time of a full backup of one dataset by N=1 and by N=2 worker
 * processes started at once (each told its index by JOB_COMPLETION_INDEX), alternated and
 * repeated, with the serial part (the plan's walk and write, the catalogue's conditional writes)
 * as each worker reports it (--json: planMs, catalogueMs). Projects N = 16 and 64 from the
 * measured per-worker throughput and serial part. Prints a Markdown section; it does not edit
 * bench/RESULTS.md.
 *
 *   npx node bench/shards.ts [--files 40000] [--repeat 3] [--root /tmp/permafrost-shards-bench]
 *
 * Measures the worktree's build (run `npm run build` first); file:// target, gzip, no encryption.
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { arg } from './arg.ts';
import { defaultSpec, generateDataset } from './generate.ts';

const REPO = resolve(import.meta.dirname, '..');
const BIN = join(REPO, 'bin', 'permafrost.js');
const files = Number(arg('--files', '40000'));
const repeat = Number(arg('--repeat', '3'));
const root = arg('--root', '/tmp/permafrost-shards-bench');
// --pin: worker i runs on core i (taskset), one core per worker, as on a machine per worker; without
// it one worker already spreads over both cores of this machine (main thread and compression thread)
const pin = process.argv.includes('--pin');

interface WorkerReport {
  planMs: number;
  catalogueMs: number;
  elapsedMs: number;
  sourceBytes: number;
  planMadeHere: boolean;
}
interface Run {
  n: number;
  wallMs: number;
  workers: WorkerReport[];
}

function worker(index: number, n: number, src: string, url: string, archive: string): Promise<WorkerReport> {
  return new Promise((res, rej) => {
    const argv = [BIN, 'full', '--shards', String(n), '--json', '--no-encryption', '--archive-dir', archive, src, url];
    const child = spawn(
      pin ? 'taskset' : process.execPath,
      pin ? ['-c', String(index % availableParallelism()), process.execPath, ...argv] : argv,
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, JOB_COMPLETION_INDEX: String(index) },
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('close', (code) =>
      code === 0 ? res(JSON.parse(out.trim().split('\n').at(-1)!)) : rej(new Error(`worker ${index}/${n} exit ${code}: ${err}`)),
    );
  });
}

async function once(n: number, src: string, k: number): Promise<Run> {
  const dir = join(root, `run-${n}-${k}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const t0 = performance.now();
  const workers = await Promise.all(Array.from({ length: n }, (_, i) => worker(i, n, src, `file://${dir}/target`, join(dir, 'archive'))));
  const wallMs = performance.now() - t0;
  rmSync(dir, { recursive: true, force: true });
  return { n, wallMs, workers };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

rmSync(root, { recursive: true, force: true });
mkdirSync(root, { recursive: true });
const src = join(root, 'data');
const summary = generateDataset(src, { ...defaultSpec('small'), files });
const started = new Date();
const runs: Run[] = [];
for (let k = 0; k < repeat; k++) {
  // alternate the order, so that load from other processes on the machine falls on both
  for (const n of k % 2 === 0 ? [1, 2] : [2, 1]) {
    const r = await once(n, src, k);
    runs.push(r);
    process.stderr.write(`N=${n} run ${k + 1}: ${(r.wallMs / 1000).toFixed(2)} s\n`);
  }
}
rmSync(root, { recursive: true, force: true });

const of = (n: number) => runs.filter((r) => r.n === n);
const t1 = median(of(1).map((r) => r.wallMs)) / 1000;
const t2 = median(of(2).map((r) => r.wallMs)) / 1000;
const planS = median(runs.map((r) => Math.max(...r.workers.map((w) => w.planMs)))) / 1000;
const catS = median(runs.map((r) => Math.max(...r.workers.map((w) => w.catalogueMs)))) / 1000;
const mib = summary.bytes / 2 ** 20;
// per worker: the parallel part of N=1's run
const parallelS = Math.max(0.001, t1 - planS - catS);
const perWorker = mib / parallelS;
const project = (n: number) => planS + catS * n + parallelS / n;
const best = (n: number) => Math.min(...of(n).map((r) => r.wallMs)) / 1000;
const row = (n: number, t: number) =>
  `| ${n} | ${t.toFixed(2)} | ${best(n).toFixed(2)} | ${(mib / t).toFixed(1)} | ${(t1 / t).toFixed(2)}× | ${(best(1) / best(n)).toFixed(2)}× |`;
// planning scales with entries (a stat-level walk), the rest with bytes per worker
const entries = summary.files + summary.dirs;
const scaled = (n: number, factor: number) => planS * factor + catS * n + (parallelS * factor) / n;
const lines = [
  `## Shards: N workers on one machine, ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
  '',
  `\`npx node bench/shards.ts --files ${files} --repeat ${repeat}${pin ? ' --pin' : ''}\`: ${summary.files} files, ${mib.toFixed(1)} MiB (the *small* dataset), full backups to file:// (gzip, no encryption), N worker processes started at once; medians of ${repeat} alternated runs.`,
  '',
  '| N | wall s (median) | wall s (best) | MiB/s (median) | speed-up (medians) | speed-up (best runs) |',
  '|---|---|---|---|---|---|',
  row(1, t1),
  row(2, t2),
  '',
  `Runs (s): N=1 ${of(1)
    .map((r) => (r.wallMs / 1000).toFixed(2))
    .join(', ')}; N=2 ${of(2)
    .map((r) => (r.wallMs / 1000).toFixed(2))
    .join(', ')}.`,
  `Serial part, per run (median, slowest worker): the plan ${planS.toFixed(2)} s (one worker's stat-level walk and the create-only write; the others wait for it), the catalogue ${(catS * 1000).toFixed(0)} ms.`,
  '',
  `Projection, for the same data per worker rate (${perWorker.toFixed(1)} MiB/s per worker, one core each) and a catalogue whose conditional writes all collide (N × ${(catS * 1000).toFixed(0)} ms, pessimistic):`,
  '',
  `| N | this dataset: wall s | speed-up | 1000× the data (${((entries * 1000) / 1e6).toFixed(0)}M entries, ${((mib * 1000) / 1024).toFixed(0)} GiB): wall s | speed-up |`,
  '|---|---|---|---|---|',
  ...[1, 2, 16, 64].map(
    (n) =>
      `| ${n} | ${project(n).toFixed(2)} | ${(project(1) / project(n)).toFixed(1)}× | ${scaled(n, 1000).toFixed(0)} | ${(scaled(1, 1000) / scaled(n, 1000)).toFixed(1)}× |`,
  ),
  '',
  'The model: wall(N) = plan + N × catalogue + parallel / N, with the plan scaling with entries and the parallel part with bytes; it assumes each worker has its own core and the source and target keep up (N × the per-worker rate), which one 2-core machine cannot show.',
  '',
];
process.stdout.write(`${lines.join('\n')}\n`);
