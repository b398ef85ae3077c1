/**
 * Preloaded with `node --import ./bench/cores/thread-cpu.ts`: samples every thread's CPU time
 * (/proc/self/task/TID/stat, utime + stime) every 20 ms, and at exit writes to $THREAD_CPU_OUT
 * the main thread's CPU, every other thread's (by name, as the kernel knows it), and the whole
 * process's (process.cpuUsage: threads that ended between two samples count there), and how
 * many threads of each name it saw. Linux only.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

const out = process.env['THREAD_CPU_OUT'];
if (isMainThread && out) {
  const ticksPerSecond = 100; // CLK_TCK on Linux
  const seen = new Map<string, { name: string; ticks: number }>();
  const sample = () => {
    let tids: string[];
    try {
      tids = readdirSync('/proc/self/task');
    } catch {
      return;
    }
    for (const tid of tids) {
      let stat: string;
      try {
        stat = readFileSync(`/proc/self/task/${tid}/stat`, 'latin1');
      } catch {
        continue;
      }
      const close = stat.lastIndexOf(')');
      const name = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      // fields[0] is field 3 (state): utime is field 14, stime 15
      const ticks = Number(fields[11]) + Number(fields[12]);
      seen.set(tid, { name, ticks });
    }
  };
  const timer = setInterval(sample, 20);
  timer.unref();
  process.on('exit', () => {
    sample();
    const byName: Record<string, number> = {};
    const threads: Record<string, number> = {};
    let mainSeconds = 0;
    for (const [tid, { name, ticks }] of seen) {
      const seconds = ticks / ticksPerSecond;
      if (tid === String(process.pid)) mainSeconds = seconds;
      else {
        byName[name] = (byName[name] ?? 0) + seconds;
        threads[name] = (threads[name] ?? 0) + 1;
      }
    }
    const u = process.cpuUsage();
    writeFileSync(
      out,
      `${JSON.stringify({ mainSeconds, otherThreads: byName, threadCounts: threads, processSeconds: (u.user + u.system) / 1e6 })}\n`,
      {
        flag: 'a',
      },
    );
  });
}
