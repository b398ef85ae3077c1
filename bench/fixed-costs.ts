/**
 * Measures permafrost's fixed costs one by one (issue 18): Node's start, the launcher, module
 * loading, the compression thread's start, WebAssembly compilation, the target lock, one durable
 * upload, and backups of 1, 1,000 and N files, for one or more builds, alternating them, and prints
 * a Markdown table of medians. CPU time (user+sys of the whole process) is the figure to compare on
 * a shared machine; wall time is printed next to it. See bench/README.md.
 *
 *   npx node bench/fixed-costs.ts [--files 10000] [--repeat 7] [--root /tmp/permafrost-fixed]
 *        [--build LABEL=DIR]... [--env LABEL=NAME=VALUE]... [--only a,b] [--out FILE] [--old-node PATH]
 *
 * A build is a permafrost directory with bin/ and a compiled dist/ (default: this repository).
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { defaultSpec, generateDataset, mutateDataset } from './generate.ts';
import { shebangOf } from './shebang.ts';

const REPO = resolve(import.meta.dirname, '..');
const NODE = join(REPO, 'node_modules/.bin/node');

function args(name: string): string[] {
  const out: string[] = [];
  process.argv.forEach((a, i) => {
    if (a === name && process.argv[i + 1] !== undefined) out.push(process.argv[i + 1]!);
  });
  return out;
}
const one = (name: string, fallback: string): string => args(name).at(-1) ?? fallback;

const files = Number(one('--files', '10000'));
const repeat = Number(one('--repeat', '7'));
const root = resolve(one('--root', '/tmp/permafrost-fixed'));
const only = args('--only').flatMap((s) => s.split(','));
const outFile = one('--out', '');

interface Build {
  readonly label: string;
  readonly dir: string;
  readonly env: Record<string, string>;
  readonly nodeFlags: string[];
}
const builds: Build[] = (args('--build').length > 0 ? args('--build') : [`worktree=${REPO}`]).map((spec) => {
  const eq = spec.indexOf('=');
  const label = spec.slice(0, eq);
  const dir = resolve(spec.slice(eq + 1));
  const env: Record<string, string> = {};
  for (const e of args('--env')) {
    const [l, ...kv] = e.split('=');
    if (l === label) env[kv[0]!] = kv.slice(1).join('=');
  }
  const shebang = shebangOf(join(dir, 'bin/permafrost.js'));
  return { label, dir, env: { ...shebang.env, ...env }, nodeFlags: shebang.nodeFlags };
});

/** `cmd` under bash's `time`: wall, user and system seconds to the millisecond (GNU time prints hundredths). */
function timed(argv: string[], env: Record<string, string>, cwd?: string): { wall: number; cpu: number; out: string } {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const script = `TIMEFORMAT='%3R %3U %3S'; { time ${argv.map(q).join(' ')} >"$PF_LOG" 2>&1 ; } 2>"$PF_TIME"; exit $?`;
  const log = join(root, 'last.log');
  const timeFile = join(root, 'last.time');
  const r = spawnSync('bash', ['-c', script], { env: { ...process.env, ...env, PF_LOG: log, PF_TIME: timeFile }, ...(cwd ? { cwd } : {}) });
  const out = readFileSync(log, 'utf8');
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}):\n${out.slice(-2000)}`);
  const [wall, user, sys] = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
  return { wall: wall! * 1000, cpu: (user! + sys!) * 1000, out };
}

/** A probe measured inside one fresh process (probes below): its own CPU and wall milliseconds. */
function probe(b: Build, kind: string): { wall: number; cpu: number } {
  // a file, not --eval: a worker thread inherits --input-type, which a file entry point rejects
  const file = join(root, `probe-${kind}.mjs`);
  writeFileSync(file, PROBES[kind]!);
  const r = spawnSync(NODE, [...b.nodeFlags, file], {
    env: { ...process.env, ...b.env, PROBE_BUILD: b.dir, PROBE_SCRATCH: join(root, 'probe') },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`probe ${kind} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { wall: number; cpu: number };
}

// Each probe imports the build's dist/ and times one operation, from a fresh process, with
// process.cpuUsage() (every thread of the process) and performance.now().
const PROBE_HEAD = `
import { pathToFileURL } from 'node:url';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
const dir = process.env.PROBE_BUILD, scratch = process.env.PROBE_SCRATCH;
const load = (p) => import(pathToFileURL(dir + '/dist/' + p).href);
rmSync(scratch, { recursive: true, force: true });
mkdirSync(scratch, { recursive: true });
`;
const PROBES: Record<string, string> = {
  // the compression thread: started, one gzip file opened and closed, the thread stopped
  worker: `${PROBE_HEAD}
const { ThreadFile } = await load('archive/thread-file.js');
const s0 = process.cpuUsage(); const w0 = performance.now();
const f = new ThreadFile(scratch + '/f.gz', { level: 1, sha1: true });
await f.opened(); await f.end();
const c = process.cpuUsage(s0); console.log(JSON.stringify({ wall: performance.now() - w0, cpu: (c.user + c.system) / 1000 }));`,
  // the MD4 WebAssembly module compiled and instantiated (what md4.ts does on first use)
  wasm: `${PROBE_HEAD}
const { MD4_WASM_BASE64 } = await load('codec/rsync/md4-wasm-module.js');
const s0 = process.cpuUsage(); const w0 = performance.now();
new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(MD4_WASM_BASE64, 'base64')));
const c = process.cpuUsage(s0); console.log(JSON.stringify({ wall: performance.now() - w0, cpu: (c.user + c.system) / 1000 }));`,
  // the target lock taken and released on a file:// target (its writes are synced)
  lock: `${PROBE_HEAD}
const { FileBackend } = await load('backend/file-backend.js');
const { TargetLock, DEFAULT_TARGET_LOCK_TIMING } = await load('archive/target-lock.js');
const be = new FileBackend(scratch + '/t', 'file://' + scratch + '/t');
await be.list();
const s0 = process.cpuUsage(); const w0 = performance.now();
const lock = await TargetLock.take(be, { name: 'permafrost-target.lock', operation: 'probe', timing: DEFAULT_TARGET_LOCK_TIMING, warn: () => {} });
await lock.release();
const c = process.cpuUsage(s0); console.log(JSON.stringify({ wall: performance.now() - w0, cpu: (c.user + c.system) / 1000 }));`,
  // one object stored durably on a file:// target: copy, fsync, link into place
  put: `${PROBE_HEAD}
const { FileBackend } = await load('backend/file-backend.js');
const be = new FileBackend(scratch + '/t', 'file://' + scratch + '/t');
writeFileSync(scratch + '/m', Buffer.alloc(4096, 1));
await be.putFile(scratch + '/m', 'warm', { role: 'manifest' });
const s0 = process.cpuUsage(); const w0 = performance.now();
await be.putFile(scratch + '/m', 'probe.manifest', { role: 'manifest' });
const c = process.cpuUsage(s0); console.log(JSON.stringify({ wall: performance.now() - w0, cpu: (c.user + c.system) / 1000 }));`,
};

interface Row {
  readonly id: string;
  readonly title: string;
  readonly run: (b: Build, rep: number) => { wall: number; cpu: number };
}

const bin = (b: Build) => join(b.dir, 'bin/permafrost.js');
const pf = (b: Build, ...a: string[]) => [NODE, ...b.nodeFlags, bin(b), ...a];
const ds = (n: number) => join(root, `ds-${n}`);
// the machine's own Node, if older than 22: bin/permafrost.js hands over to the project's Node 24
const OLD_NODE = one('--old-node', '/usr/bin/node');
const oldNode = existsSync(OLD_NODE)
  ? (spawnSync(OLD_NODE, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout?.trim() ?? '')
  : '';

function backupArgs(b: Build, kind: string, src: string, ws: string): string[] {
  return pf(b, kind, '--no-encryption', '--archive-dir', join(ws, 'cache'), '--name', 'bench', src, `file://${join(ws, 'target')}`);
}
function fresh(ws: string): string {
  rmSync(ws, { recursive: true, force: true });
  mkdirSync(ws, { recursive: true });
  return ws;
}
const ws = (b: Build, what: string) => join(root, 'ws', b.label, what);

const rows: Row[] = [
  { id: 'node', title: 'Node 24 process start (`node -e ""`)', run: (b: Build) => timed([NODE, ...b.nodeFlags, '-e', ''], b.env) },
  { id: 'version', title: '`permafrost --version` (start, launcher, CLI modules)', run: (b: Build) => timed(pf(b, '--version'), b.env) },
  ...(oldNode !== '' && Number(oldNode.split('.')[0]) < 22
    ? [
        {
          id: 'old-node',
          title: `\`--version\` from the PATH's Node ${oldNode} (the launcher starts Node 24)`,
          run: (b: Build) => timed([OLD_NODE, bin(b), '--version'], b.env),
        },
      ]
    : []),
  { id: 'worker', title: 'compression thread: start, one file, stop (in-process)', run: (b: Build) => probe(b, 'worker') },
  { id: 'wasm', title: 'MD4 WebAssembly compile + instantiate (in-process)', run: (b: Build) => probe(b, 'wasm') },
  { id: 'lock', title: 'target lock take + release, file:// (in-process)', run: (b: Build) => probe(b, 'lock') },
  { id: 'put', title: 'one 4 KiB object stored: copy, fsync, link (in-process)', run: (b: Build) => probe(b, 'put') },
  {
    id: 'full-1',
    title: 'full backup of 1 file',
    run: (b: Build) => timed(backupArgs(b, 'full', ds(1), fresh(ws(b, 'one'))), b.env),
  },
  {
    id: 'inc-1',
    title: 'incremental of that file, unchanged',
    run: (b: Build) => timed(backupArgs(b, 'incremental', ds(1), ws(b, 'one')), b.env),
  },
  {
    id: 'full-1k',
    title: 'full backup of 1,000 files',
    run: (b: Build) => timed(backupArgs(b, 'full', ds(1000), fresh(ws(b, '1k'))), b.env),
  },
  {
    id: 'full-n',
    title: `full backup of ${files.toLocaleString('en')} files`,
    run: (b: Build) => timed(backupArgs(b, 'full', ds(files), fresh(ws(b, 'n'))), b.env),
  },
  {
    id: 'inc-n',
    title: `incremental of ${files.toLocaleString('en')} files after 1% changed`,
    run: (b: Build) => {
      // as bench/run.ts: a full of a copy, the copy changed in place (its other files keep their
      // inode and ctime, which the change detection compares), then the timed incremental
      const w = fresh(ws(b, 'inc'));
      const src = join(w, 'src');
      cpSync(ds(files), src, { recursive: true, preserveTimestamps: true });
      writeFileSync(`${src}.dataset.json`, readFileSync(join(root, `ds-${files}.dataset.json`)));
      timed(backupArgs(b, 'full', src, w), b.env);
      mutateDataset(src, { seed: 1, round: 1, fraction: 0.01 });
      spawnSync('sync');
      return timed(backupArgs(b, 'incremental', src, w), b.env);
    },
  },
].filter((r) => only.length === 0 || only.includes(r.id));

function prepare(): void {
  mkdirSync(root, { recursive: true });
  for (const n of [1, 1000, files]) {
    if (existsSync(join(root, `ds-${n}.dataset.json`))) continue;
    if (n === 1) {
      mkdirSync(ds(1), { recursive: true });
      writeFileSync(join(ds(1), 'a.txt'), 'one file\n');
      writeFileSync(join(root, 'ds-1.dataset.json'), '{}');
      continue;
    }
    generateDataset(ds(n), { ...defaultSpec('small'), files: n });
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

prepare();
const started = new Date();
const results = new Map<string, { wall: number[]; cpu: number[] }>();
for (let rep = 0; rep < repeat; rep++) {
  const order = rep % 2 === 0 ? builds : [...builds].reverse();
  for (const row of rows) {
    for (const b of order) {
      // an incremental needs its full first
      if (row.id === 'inc-1' && !existsSync(join(ws(b, 'one'), 'target'))) timed(backupArgs(b, 'full', ds(1), fresh(ws(b, 'one'))), b.env);
      spawnSync('sync');
      const m = row.run(b, rep);
      const key = `${row.id}\0${b.label}`;
      const r = results.get(key) ?? { wall: [], cpu: [] };
      r.wall.push(m.wall);
      r.cpu.push(m.cpu);
      results.set(key, r);
    }
  }
  process.stderr.write(`repetition ${rep + 1}/${repeat} done\n`);
}

const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const header = `| cost (median of ${repeat}; ms) | ${builds.map((b) => `${b.label} CPU | ${b.label} wall`).join(' | ')} |`;
const lines = [
  `## Fixed costs, ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
  '',
  `${cpus().length} cores, load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} at the end; builds: ${builds
    .map(
      (b) =>
        `${b.label} = ${b.dir}${
          Object.keys(b.env).length
            ? ` (${Object.entries(b.env)
                .map(([k, v]) => `${k}=${v}`)
                .join(' ')})`
            : ''
        }`,
    )
    .join(', ')}.`,
  '',
  '```sh',
  `npx node bench/fixed-costs.ts ${process.argv.slice(2).join(' ')}`,
  '```',
  '',
  header,
  `|---|${builds.map(() => '---:|---:').join('|')}|`,
  ...rows.map((row) => {
    const cells = builds.map((b) => {
      const r = results.get(`${row.id}\0${b.label}`)!;
      return `${fmt(median(r.cpu))} | ${fmt(median(r.wall))}`;
    });
    return `| ${row.title} | ${cells.join(' | ')} |`;
  }),
  '',
];
const text = lines.join('\n');
process.stdout.write(`${text}\n`);
if (outFile) appendFileSync(outFile, `\n${text}`);
