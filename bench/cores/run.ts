/**
 * --jobs A against --jobs B on one source tree, alternating, `--repeat` times each: wall and CPU
 * time (GNU time), peak RSS, and the main thread's CPU against the whole process's (the
 * thread-cpu.ts preload). The serial fraction, main-thread CPU over process CPU, gives the
 * Amdahl projection bench/RESULTS.md shows. Runs the CLI built in dist/ (`npm run build`).
 *
 *   npx node bench/cores/run.ts --source DIR [--jobs 1,2] [--repeat 3] [--root /tmp/permafrost-cores]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    source: { type: 'string' },
    jobs: { type: 'string', default: '1,2' },
    repeat: { type: 'string', default: '3' },
    root: { type: 'string', default: '/tmp/permafrost-cores' },
    'extra-args': { type: 'string', default: '' },
  },
});
if (!values.source) throw new Error('--source DIR is required');
const repo = fileURLToPath(new URL('../../', import.meta.url));
const jobsList = values.jobs.split(',').map(Number);
const repeat = Number(values.repeat);
const root = values.root;
rmSync(root, { recursive: true, force: true });
mkdirSync(join(root, 'trash'), { recursive: true });

interface Run {
  jobs: number;
  wall: number;
  cpu: number;
  rssMiB: number;
  main: number;
  process: number;
  others: Record<string, number>;
}
const runs: Run[] = [];
let n = 0;
for (let r = 0; r < repeat; r++) {
  const order = r % 2 === 0 ? jobsList : [...jobsList].reverse();
  for (const jobs of order) {
    const target = join(root, 'target');
    const cache = join(root, 'cache');
    const cpuOut = join(root, `cpu-${n}.json`);
    execFileSync('sync');
    const timeOut = join(root, `time-${n}.txt`);
    execFileSync(
      '/usr/bin/time',
      [
        '-o',
        timeOut,
        '-f',
        '%e %U %S %M',
        process.execPath,
        '--max-semi-space-size=2',
        '--import',
        join(repo, 'bench/cores/thread-cpu.ts'),
        join(repo, 'bin/permafrost.js'),
        'full',
        '--no-encryption',
        '--archive-dir',
        cache,
        '--name',
        'bench',
        '--jobs',
        String(jobs),
        ...(values['extra-args'] ? values['extra-args'].split(' ') : []),
        values.source,
        `file://${target}`,
      ],
      { env: { ...process.env, THREAD_CPU_OUT: cpuOut }, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const [wall, user, sys, rss] = readFileSync(timeOut, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number) as [
      number,
      number,
      number,
      number,
    ];
    const t = JSON.parse(readFileSync(cpuOut, 'utf8')) as {
      mainSeconds: number;
      processSeconds: number;
      otherThreads: Record<string, number>;
    };
    const run: Run = {
      jobs,
      wall,
      cpu: user + sys,
      rssMiB: rss / 1024,
      main: t.mainSeconds,
      process: t.processSeconds,
      others: t.otherThreads,
    };
    runs.push(run);
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
    console.log(
      `jobs ${jobs}: wall ${wall.toFixed(2)} s, CPU ${run.cpu.toFixed(2)} s, peak RSS ${run.rssMiB.toFixed(0)} MiB, main thread ${run.main.toFixed(2)} s of ${run.process.toFixed(2)} s (${((100 * run.main) / run.process).toFixed(0)}%), load ${load}; ${JSON.stringify(Object.fromEntries(Object.entries(t.otherThreads).map(([k, v]) => [k, Math.round(v * 100) / 100])))}`,
    );
    // what is deleted is moved aside, so that no run pays for another's deletions (bench/README.md)
    renameSync(target, join(root, 'trash', `target-${n}`));
    renameSync(cache, join(root, 'trash', `cache-${n}`));
    n++;
  }
}
for (const jobs of jobsList) {
  const mine = runs.filter((r) => r.jobs === jobs);
  const med = (f: (r: Run) => number) => mine.map(f).sort((a, b) => a - b)[Math.floor(mine.length / 2)]!;
  const s = med((r) => r.main / r.process);
  console.log(
    `jobs ${jobs} median of ${mine.length}: wall ${med((r) => r.wall).toFixed(2)} s, CPU ${med((r) => r.cpu).toFixed(2)} s, main thread ${med((r) => r.main).toFixed(2)} s, serial fraction ${s.toFixed(2)}; Amdahl speed-up at 4/8/16 cores: ${[4, 8, 16].map((c) => (1 / (s + (1 - s) / c)).toFixed(2)).join(' / ')}`,
  );
}
rmSync(root, { recursive: true, force: true });
