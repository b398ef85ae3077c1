// Loaded with `--import` by bench/memory.ts into the measured process and its worker threads: each
// thread samples process.memoryUsage() every 10 ms and writes its maxima (and the values at the
// moment its process RSS was highest) to $PF_MEMORY_OUT.<threadId>.json. Not part of permafrost.
import { writeFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';
import { threadId } from 'node:worker_threads';

const out = process.env.PF_MEMORY_OUT;
const MiB = (n) => Math.round((n / 1048576) * 10) / 10;
const max = { heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
let atPeak = null;
const sample = () => {
  const m = process.memoryUsage();
  for (const k of Object.keys(max)) max[k] = Math.max(max[k], m[k]);
  if (atPeak === null || m.rss > atPeak.rss) {
    const spaces = Object.fromEntries(getHeapSpaceStatistics().filter((s) => s.space_size > 0).map((s) => [s.space_name, MiB(s.space_size)]));
    atPeak = { rss: m.rss, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, spaces };
  }
};
const flush = () => {
  if (!out || atPeak === null) return;
  const peak = { ...atPeak, rss: MiB(atPeak.rss), heapTotal: MiB(atPeak.heapTotal), external: MiB(atPeak.external), arrayBuffers: MiB(atPeak.arrayBuffers) };
  writeFileSync(`${out}.${threadId}.json`, JSON.stringify({ thread: threadId, max: Object.fromEntries(Object.entries(max).map(([k, v]) => [k, MiB(v)])), atPeak: peak }));
};
setInterval(sample, 10).unref();
// a worker that is terminated gets no exit event: write as it goes
setInterval(flush, 250).unref();
process.on('exit', () => {
  sample();
  flush();
});
