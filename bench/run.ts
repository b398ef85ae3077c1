/**
 * Runs permafrost and its peers on one generated dataset, scenario by scenario, and appends a
 * Markdown report to bench/RESULTS.md. See bench/README.md for the options and what is measured.
 *
 *   npx node bench/run.ts --dataset small --files 100000 [--scenarios full,restore,restore-file,incremental]
 *        [--tools permafrost,permafrost-nocomp,duplicity,restic,duplicity3] [--repeat N] [--build]
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  statfsSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { defaultSpec, generateDataset, listFiles, mutateDataset, removeDataset } from './generate.ts';
import { shebangOf } from './shebang.ts';
import type { DatasetKind, DatasetSpec } from './generate.ts';

const TIME = '/usr/bin/time';
const MiB = 1 << 20;
const REPO = resolve(import.meta.dirname, '..');
const SCENARIOS = ['full', 'restore', 'restore-file', 'incremental', 'restore-inc'] as const;
type Scenario = (typeof SCENARIOS)[number];
const SCENARIO_TITLES: Record<Scenario, string> = {
  full: 'Full backup',
  restore: 'Full restore (of the full backup)',
  'restore-file': 'Single-file restore',
  incremental: 'Incremental backup after mutating 1% of the files',
  'restore-inc': 'Full restore of the latest state (after the incremental)',
};

interface Cmd {
  readonly argv: readonly string[];
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
}

/** Where one tool keeps its state for this run. */
interface Workspace {
  readonly target: string;
  readonly cache: string;
  readonly restore: string;
}

interface Tool {
  readonly id: string;
  readonly describe: string;
  readonly prepare?: (ws: Workspace) => Cmd;
  readonly backup: (ws: Workspace, src: string, kind: 'full' | 'incremental') => Cmd;
  readonly restore: (ws: Workspace, dest: string) => Cmd;
  readonly restoreFile: (ws: Workspace, rel: string, dest: string) => Cmd;
  /** where restoreFile puts the file */
  readonly restoredFile: (dest: string, rel: string) => string;
}

interface Options {
  readonly spec: DatasetSpec;
  readonly scenarios: readonly Scenario[];
  readonly tools: readonly string[];
  readonly repeat: number;
  readonly root: string;
  readonly out: string;
  readonly keep: boolean;
  readonly build: boolean;
  /** a git revision to compile and measure, or 'worktree' for the repository's dist/ */
  readonly rev: string;
  readonly volsize?: number;
  readonly restoreFile?: string;
  readonly timeoutSec: number;
  readonly note?: string;
  readonly duplicity3: string;
  /** --no-baselines: skip the sha1sum and dd measurements */
  readonly noBaselines: boolean;
}

interface Measurement {
  readonly tool: string;
  readonly scenario: Scenario;
  readonly rep: number;
  readonly wall: number;
  readonly user: number;
  readonly sys: number;
  readonly maxRssKiB: number;
  readonly exit: number | string;
  /** CPU seconds the rest of the machine used during the run: a measure of interference */
  readonly otherCpu: number;
  readonly log: string;
}

interface ToolResult {
  best?: Measurement;
  runs: Measurement[];
  storedBytes?: number;
  objects?: number;
  cacheBytes?: number;
  addedBytes?: number;
  addedObjects?: number;
  check?: string;
}

function sh(argv: readonly string[], opts: { cwd?: string; env?: Record<string, string> } = {}): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', cwd: opts.cwd, env: { ...process.env, ...opts.env } });
  if (r.error) throw new Error(`${argv.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${(r.stderr || r.stdout).trim().split('\n').pop() ?? ''}`);
  return r.stdout.trim();
}

function tryOutput(argv: readonly string[]): string | undefined {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  return r.status === 0 ? `${r.stdout}${r.stderr}`.trim() : undefined;
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

function showCmd(cmd: Cmd): string {
  const env = Object.entries(cmd.env ?? {})
    .map(([k, v]) => `${k}=${quote(v)} `)
    .join('');
  const line = `${env}${cmd.argv.map(quote).join(' ')}`;
  return cmd.cwd ? `(cd ${quote(cmd.cwd)} && ${line})` : line;
}

const RESTIC_ENV = { RESTIC_PASSWORD: 'bench' };

function duplicityLike(
  id: string,
  bin: readonly string[],
  describe: string,
  extra: readonly string[],
  pathOption = '--file-to-restore',
): Tool {
  const common = (ws: Workspace): string[] => ['--no-encryption', '--archive-dir', ws.cache, '--name', 'bench', ...extra];
  return {
    id,
    describe,
    backup: (ws, src, kind) => ({ argv: [...bin, kind, ...common(ws), src, `file://${ws.target}`] }),
    restore: (ws, dest) => ({ argv: [...bin, 'restore', ...common(ws), `file://${ws.target}`, dest] }),
    restoreFile: (ws, rel, dest) => ({ argv: [...bin, 'restore', ...common(ws), pathOption, rel, `file://${ws.target}`, dest] }),
    restoredFile: (dest) => dest,
  };
}

function makeTools(opts: Options, permafrostDir: string): Map<string, Tool> {
  const volsize = opts.volsize === undefined ? [] : ['--volsize', String(opts.volsize)];
  const bin = join(permafrostDir, 'bin/permafrost.js');
  // the environment and Node options of the bin's shebang line (`#!/usr/bin/env -S VAR=x node ...`): what users run
  const { env: binEnv, nodeFlags } = shebangOf(bin);
  const envPrefix = Object.entries(binEnv).map(([k, v]) => `${k}=${v}`);
  const pf = [...(envPrefix.length > 0 ? ['/usr/bin/env', ...envPrefix] : []), join(REPO, 'node_modules/.bin/node'), ...nodeFlags, bin];
  const restic = (ws: Workspace, ...args: string[]): string[] => ['restic', '-r', ws.target, '--cache-dir', ws.cache, ...args];
  const tools: Tool[] = [
    duplicityLike('permafrost', pf, 'permafrost, gzip volumes (level 1, its default)', volsize),
    duplicityLike('permafrost-gzip6', pf, "permafrost --compress-level 6 (duplicity's level)", ['--compress-level', '6', ...volsize]),
    duplicityLike('permafrost-nocomp', pf, 'permafrost --no-compression', ['--no-compression', ...volsize]),
    duplicityLike('duplicity', ['/usr/bin/duplicity'], 'duplicity 0.8.22, gzip volumes', volsize),
    // 2.0 renamed --file-to-restore
    duplicityLike('duplicity3', [opts.duplicity3], 'duplicity 3.x, gzip volumes', volsize, '--path-to-restore'),
    {
      id: 'restic',
      describe: 'restic, local repository (always encrypted; zstd "auto" compression)',
      prepare: (ws) => ({ argv: restic(ws, 'init'), env: RESTIC_ENV }),
      // run from inside the source so that snapshot paths are relative, like the duplicity archives
      backup: (ws, src) => ({ argv: restic(ws, 'backup', '--host', 'bench', '.'), cwd: src, env: RESTIC_ENV }),
      restore: (ws, dest) => ({ argv: restic(ws, 'restore', 'latest', '--target', dest), env: RESTIC_ENV }),
      restoreFile: (ws, rel, dest) => ({
        argv: restic(ws, 'restore', 'latest', '--target', dest, '--include', `/${rel}`),
        env: RESTIC_ENV,
      }),
      restoredFile: (dest, rel) => join(dest, rel),
    },
  ];
  return new Map(tools.map((t) => [t.id, t]));
}

/** busy CPU ticks of the whole machine (USER_HZ = 100 on Linux) */
function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / 100;
}

function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

function measure(cmd: Cmd, tool: string, scenario: Scenario, rep: number, logDir: string, timeoutSec: number): Measurement {
  // flush the previous run's dirty pages now, not during this run
  spawnSync('sync');
  const base = join(logDir, `${scenario}-${tool}-${rep}`);
  const timeFile = `${base}.time`;
  const log = `${base}.log`;
  const fd = openSync(log, 'w');
  const busyBefore = machineBusySeconds();
  let r: ReturnType<typeof spawnSync>;
  try {
    r = spawnSync(TIME, ['-f', '%e %U %S %M', '-o', timeFile, ...cmd.argv], {
      cwd: cmd.cwd,
      env: { ...process.env, ...cmd.env },
      stdio: ['ignore', fd, fd],
      timeout: timeoutSec * 1000,
      killSignal: 'SIGKILL',
    });
  } finally {
    closeSync(fd);
  }
  const busy = machineBusySeconds() - busyBefore;
  const lines = existsSync(timeFile) ? readFileSync(timeFile, 'utf8').trim().split('\n') : [];
  const [wall = NaN, user = NaN, sys = NaN, rss = NaN] = (lines.at(-1) ?? '').split(' ').map(Number);
  const exit = r.error ? `error: ${r.error.message}` : r.signal ? `signal ${r.signal}` : (r.status ?? -1);
  return { tool, scenario, rep, wall, user, sys, maxRssKiB: rss, exit, otherCpu: Math.max(0, busy - user - sys), log };
}

function tail(path: string, n: number): string {
  return readFileSync(path, 'utf8').trim().split('\n').slice(-n).join(' / ');
}

/** total size and number of regular files under dir */
function treeSize(dir: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  if (!existsSync(dir)) return { bytes, files };
  const visit = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) visit(p);
      else if (e.isFile()) {
        bytes += lstatSync(p).size;
        files++;
      }
    }
  };
  visit(dir);
  return { bytes, files };
}

interface FileDigest {
  readonly size: number;
  readonly mtime: number;
  readonly md5: string;
}

const hashBuf = Buffer.allocUnsafe(8 * MiB);

function digestFile(path: string): FileDigest {
  const st = statSync(path);
  const h = createHash('md5');
  const fd = openSync(path, 'r');
  try {
    for (let n: number; (n = readSync(fd, hashBuf, 0, hashBuf.length, null)) > 0; ) h.update(hashBuf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return { size: st.size, mtime: Math.floor(st.mtimeMs / 1000), md5: h.digest('hex') };
}

/** Reads every file once: the digest checks restores, and the read warms the page cache. */
function digestTree(root: string): Map<string, FileDigest> {
  return new Map(listFiles(root).map((rel) => [rel, digestFile(join(root, rel))] as const));
}

function sameFile(a: FileDigest, b: FileDigest): 'content' | 'mtime' | undefined {
  if (a.size !== b.size || a.md5 !== b.md5) return 'content';
  if (a.mtime !== b.mtime) return 'mtime';
  return undefined;
}

function compareTree(expected: Map<string, FileDigest>, restored: string): string {
  if (!existsSync(restored)) return 'FAIL: nothing restored';
  const got = digestTree(restored);
  const problems: Record<'missing' | 'extra' | 'content' | 'mtime', string[]> = { missing: [], extra: [], content: [], mtime: [] };
  for (const [rel, want] of expected) {
    const have = got.get(rel);
    if (!have) problems.missing.push(rel);
    else {
      const diff = sameFile(want, have);
      if (diff) problems[diff].push(rel);
    }
  }
  for (const rel of got.keys()) if (!expected.has(rel)) problems.extra.push(rel);
  const bad = Object.entries(problems).filter(([, v]) => v.length > 0);
  if (bad.length === 0) return `OK (${got.size} files)`;
  return `FAIL: ${bad.map(([k, v]) => `${v.length} ${k} (e.g. ${v[0]})`).join(', ')}`;
}

function compareFile(want: FileDigest | undefined, path: string): string {
  if (!want) return 'FAIL: no such file in the source';
  if (!existsSync(path)) return 'FAIL: not restored';
  const diff = sameFile(want, digestFile(path));
  return diff ? `FAIL: ${diff} differs` : 'OK';
}

/**
 * The permafrost to measure, in a directory of its own so that others editing or rebuilding the
 * repository during the run cannot change it: by default the committed HEAD, exported with
 * `git archive` and compiled there; with `--rev worktree`, a copy of the repository's dist/ as built.
 */
function preparePermafrost(root: string, rev: string, build: boolean): { dir: string; version: string } {
  const dir = join(root, 'permafrost-build');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
  if (rev !== 'worktree') {
    const commit = sh(['git', '-C', REPO, 'rev-parse', '--verify', `${rev}^{commit}`]);
    const tar = spawnSync(
      'git',
      ['-C', REPO, 'archive', '--format=tar', commit, 'bin', 'src', 'scripts', 'package.json', 'tsconfig.json'],
      {
        maxBuffer: 1 << 30,
      },
    );
    if (tar.status !== 0) throw new Error(`git archive ${commit} failed: ${tar.stderr.toString().trim()}`);
    const untar = spawnSync('tar', ['-x', '-C', dir], { input: tar.stdout });
    if (untar.status !== 0) throw new Error(`tar -x failed: ${untar.stderr.toString().trim()}`);
    symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
    const tsc = spawnSync(join(REPO, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], { cwd: dir, encoding: 'utf8' });
    if (!existsSync(join(dir, 'dist/cli/main.js')))
      throw new Error(`compiling ${commit} failed: ${tsc.stdout.trim().split('\n')[0] ?? ''}`);
    const errors = tsc.status === 0 ? '' : ' — WARNING: tsc reported type errors';
    // the CLI's bundle, which bin/permafrost.js runs, where the commit has one (scripts/build-cli.mjs)
    if (existsSync(join(dir, 'scripts/build-cli.mjs'))) sh([process.execPath, 'scripts/build-cli.mjs'], { cwd: dir });
    return { dir, version: `permafrost ${pkg.version} (git ${commit.slice(0, 10)}, compiled from the commit${errors})` };
  }
  if (build) sh(['npm', 'run', 'build'], { cwd: REPO });
  const main = join(REPO, 'dist/cli/main.js');
  if (!existsSync(main)) throw new Error('permafrost is not built: run `npm run build` in the repository (or pass --build)');
  for (const f of ['bin', 'dist', 'package.json']) cpSync(join(REPO, f), join(dir, f), { recursive: true });
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  const head = tryOutput(['git', '-C', REPO, 'rev-parse', '--short', 'HEAD']) ?? 'unknown';
  const dirty = (tryOutput(['git', '-C', REPO, 'status', '--porcelain', '--', 'src']) ?? '').split('\n').filter(Boolean).length;
  const built = new Date(statSync(main).mtimeMs).toISOString().slice(0, 16);
  const stale = newestMtime(join(REPO, 'src')) > statSync(main).mtimeMs ? ' — WARNING: some src/ file is newer than dist/' : '';
  return {
    dir,
    version: `permafrost ${pkg.version} (working tree at git ${head}${dirty ? ` + ${dirty} uncommitted src/ change(s)` : ''}, dist built ${built}Z${stale})`,
  };
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) newest = Math.max(newest, statSync(join(e.parentPath, e.name)).mtimeMs);
  }
  return newest;
}

function machineInfo(): string[] {
  const model = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const free = tryOutput(['free', '-g'])
    ?.split('\n')
    .find((l) => l.startsWith('Mem:'))
    ?.trim()
    .split(/\s+/);
  return [
    `CPU: ${tryOutput(['nproc']) ?? cpus().length} × ${model}`,
    `memory (free -g): total ${free?.[1] ?? (totalmem() / 2 ** 30).toFixed(0)} GiB, available ${free?.[6] ?? '?'} GiB`,
    `kernel: ${tryOutput(['uname', '-r']) ?? '?'}; file system of the run: ${tryOutput(['df', '-hT', '/tmp'])?.split('\n')[1]?.split(/\s+/)[1] ?? '?'}`,
  ];
}

/** the version of the Python named by a script's #! line */
function interpreterVersion(script: string): string {
  const shebang = /^#!\s*(\S+)/.exec(readFileSync(script, 'utf8').split('\n')[0] ?? '')?.[1];
  return (shebang && tryOutput([shebang, '--version'])) ?? 'unknown interpreter';
}

function toolVersions(tools: readonly string[], opts: Options, permafrostVersion: string): string[] {
  const out = [`${permafrostVersion}, Node ${tryOutput([join(REPO, 'node_modules/.bin/node'), '--version']) ?? '?'}`];
  if (tools.includes('duplicity'))
    out.push(`${tryOutput(['/usr/bin/duplicity', '--version']) ?? '?'} (${interpreterVersion('/usr/bin/duplicity')})`);
  if (tools.includes('duplicity3'))
    out.push(`${tryOutput([opts.duplicity3, '--version']) ?? '?'} (${interpreterVersion(opts.duplicity3)})`);
  if (tools.includes('restic'))
    out.push(
      `${tryOutput(['restic', 'version']) ?? '?'} (repository format 2, zstd compression "auto", AES-256 encryption that cannot be turned off)`,
    );
  return out;
}

function datasetKey(spec: DatasetSpec): string {
  return spec.kind === 'big' ? `big-${spec.sizeMiB}m` : `${spec.kind}-${spec.files}`;
}

/** Ordering the tools differently on each repetition spreads drift (other load, heat) over all of them. */
function order<T>(items: readonly T[], rep: number): T[] {
  return rep % 2 === 0 ? [...items] : [...items].reverse();
}

function fmt(n: number | undefined, digits = 1): string {
  return n === undefined || Number.isNaN(n) ? '–' : n.toFixed(digits);
}

function mib(bytes: number | undefined): string {
  return bytes === undefined ? '–' : (bytes / MiB).toFixed(1);
}

/** sys time is worth seeing apart: restores of many small files are mostly the kernel creating files */
function cpu(m: Measurement): string {
  return `${fmt(m.user + m.sys, 2)} (${fmt(m.user, 2)}, ${fmt(m.sys, 2)})`;
}

function table(scenario: Scenario, tools: readonly string[], results: Map<string, ToolResult>): string[] {
  const backup = scenario === 'full' || scenario === 'incremental';
  const head = ['tool', 'wall s', '× duplicity', 'CPU s: user+sys (user, sys)', 'peak RSS MiB'];
  if (scenario === 'full') head.push('stored MiB', 'objects', 'local cache MiB');
  if (scenario === 'incremental') head.push('added MiB', 'added objects');
  head.push('other load CPU s', backup ? 'exit' : 'restore check');
  const ref = results.get('duplicity')?.best?.wall;
  const rows = tools.map((id) => {
    const r = results.get(id)!;
    const m = r.best;
    const ok = m?.exit === 0;
    const row = [
      id,
      ok ? fmt(m.wall, 2) : `FAILED (${m?.exit ?? 'not run'})`,
      ok && ref && id !== 'duplicity' ? `${(m.wall / ref).toFixed(2)}×` : '',
      m ? cpu(m) : '–',
      m ? fmt(m.maxRssKiB / 1024, 0) : '–',
    ];
    if (scenario === 'full') row.push(mib(r.storedBytes), String(r.objects ?? '–'), mib(r.cacheBytes));
    if (scenario === 'incremental') row.push(mib(r.addedBytes), String(r.addedObjects ?? '–'));
    row.push(m ? fmt(m.otherCpu, 1) : '–', backup ? String(m?.exit ?? '–') : (r.check ?? '–'));
    return row;
  });
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

function parseOptions(argv: readonly string[]): Options {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--keep' || a === '--build' || a === '--no-baselines') flags.add(a);
    else if (a.startsWith('--') && i + 1 < argv.length) values.set(a, argv[++i]!);
    else throw new Error(`unexpected argument ${a}`);
  }
  const num = (name: string): number | undefined => {
    const v = values.get(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} needs a non-negative integer, got ${v}`);
    return n;
  };
  const kind = values.get('--dataset') ?? 'small';
  if (kind !== 'small' && kind !== 'mixed' && kind !== 'big') throw new Error(`--dataset must be small, mixed or big, not ${kind}`);
  const base = defaultSpec(kind as DatasetKind);
  const spec = {
    ...base,
    files: num('--files') ?? base.files,
    sizeMiB: num('--size-mib') ?? base.sizeMiB,
    seed: num('--seed') ?? base.seed,
  };
  const scenarios = (values.get('--scenarios') ?? 'full,restore,restore-file,incremental').split(',');
  for (const s of scenarios)
    if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`unknown scenario ${s} (one of ${SCENARIOS.join(', ')})`);
  const defaultTools = ['permafrost', 'permafrost-nocomp', 'duplicity', ...(onPath('restic') ? ['restic'] : [])];
  return {
    spec,
    // every other scenario starts from the full backup, so it always runs (and is reported)
    scenarios: SCENARIOS.filter((s) => s === 'full' || scenarios.includes(s)),
    tools: values.get('--tools')?.split(',') ?? defaultTools,
    repeat: Math.max(1, num('--repeat') ?? 1),
    root: resolve(values.get('--root') ?? '/tmp/permafrost-bench'),
    out: resolve(values.get('--out') ?? join(REPO, 'bench/RESULTS.md')),
    keep: flags.has('--keep'),
    noBaselines: flags.has('--no-baselines'),
    build: flags.has('--build'),
    rev: values.get('--rev') ?? 'HEAD',
    volsize: num('--volsize'),
    restoreFile: values.get('--restore-file'),
    timeoutSec: num('--timeout') ?? 3600,
    note: values.get('--note'),
    duplicity3: values.get('--duplicity3') ?? join(REPO, '.cache/duplicity3/bin/duplicity'),
  };
}

function preflight(opts: Options): void {
  if (!existsSync(TIME)) throw new Error(`${TIME} is missing: apt-get install time`);
  for (const t of opts.tools) {
    if (t === 'restic' && !onPath('restic'))
      throw new Error('restic is not installed: apt-get install restic (or leave it out of --tools)');
    if (t === 'duplicity' && !existsSync('/usr/bin/duplicity')) throw new Error('/usr/bin/duplicity is missing: apt-get install duplicity');
    if (t === 'duplicity3' && !existsSync(opts.duplicity3)) throw new Error(`${opts.duplicity3} is missing (pass --duplicity3 PATH)`);
  }
  mkdirSync(opts.root, { recursive: true });
  const fs = statfsSync(opts.root);
  const free = fs.bavail * fs.bsize;
  const data = opts.spec.kind === 'big' ? opts.spec.sizeMiB * MiB : opts.spec.kind === 'mixed' ? 1024 * MiB : opts.spec.files * 6 * 1024;
  // the dataset, then per tool a backup and a restore of at most its size
  const need = data * (1 + 2.2 * opts.tools.length);
  if (free < need) throw new Error(`${opts.root} has ${mib(free)} MiB free; this run needs about ${mib(need)} MiB`);
}

/**
 * Deletes nothing while runs are measured. ext4 without a journal (this VM's root file system)
 * does not reuse an inode for a minute after its deletion, five more while its inode table block
 * is dirty (recently_deleted() in fs/ext4/ialloc.c), and every file creation in the meantime
 * scans past the freed inodes: a restore of 100k files after another tool's 100k files were
 * deleted spent 30–50 s of system time in that scan, a clean one 3–5 s. Which tool paid depended
 * on the order of the tools. So what the runner would delete is renamed into a trash directory (a
 * rename frees no inode) and deleted at the end, and a restore starts only once the large
 * deletions made before (this run's start, or the end of an earlier run, recorded in a stamp file
 * under --root) are RECENT_DELETE_S old.
 */
class DeferredDeletes {
  readonly #trash: string;
  readonly #stamp: string;
  #count = 0;
  #lastDelete: number;

  constructor(root: string, key: string) {
    this.#trash = join(root, `${key}-trash`);
    this.#stamp = join(root, 'last-large-delete');
    this.#lastDelete = existsSync(this.#stamp) ? Number(readFileSync(this.#stamp, 'utf8')) || 0 : 0;
  }

  /**
   * Deletes `path` now (before anything is measured; also at the end) with `remove` (default: rm
   * -rf) and remembers when.
   */
  deleteNow(path: string, remove: (path: string) => void = (p) => rmSync(p, { recursive: true, force: true })): void {
    if (!existsSync(path)) return;
    const files = treeSize(path).files;
    remove(path);
    if (files >= LARGE_DELETE) {
      this.#lastDelete = Date.now();
      writeFileSync(this.#stamp, `${this.#lastDelete}\n`);
    }
  }

  /** Moves `path` out of the way, to be deleted by `empty`. */
  discard(path: string): void {
    if (!existsSync(path)) return;
    mkdirSync(this.#trash, { recursive: true });
    renameSync(path, join(this.#trash, String(++this.#count)));
  }

  /** Waits until the last deletion is old enough not to slow file creation down. */
  settle(say: (s: string) => void): void {
    const wait = this.#lastDelete + RECENT_DELETE_S * 1000 - Date.now();
    if (wait <= 0) return;
    say(
      `waiting ${(wait / 1000).toFixed(0)} s: inodes deleted less than ${RECENT_DELETE_S} s ago slow file creation down on ext4 without a journal`,
    );
    spawnSync('sync');
    spawnSync('sleep', [String(Math.ceil(wait / 1000))]);
  }

  empty(): void {
    this.deleteNow(this.#trash);
  }
}

/**
 * `cp -a`: the files' times to the nanosecond (cpSync's preserveTimestamps keeps milliseconds).
 * permafrost's chain index is keyed by its cached signature files' mtimes in ns (docs/chain-index.md):
 * a copy with other times is another cache to it, and every repeated incremental rebuilt the index.
 */
function copyWithTimes(from: string, to: string): void {
  const r = spawnSync('cp', ['-a', from, to], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cp -a ${from} ${to} failed: ${r.stderr}`);
}

/** ext4 skips inodes freed less than 60 s ago, 360 s while their inode table block is dirty. */
const RECENT_DELETE_S = 370;
/** Deleting fewer files than this does not slow file creation down measurably. */
const LARGE_DELETE = 1000;

function main(): void {
  const opts = parseOptions(process.argv.slice(2));
  const known = makeTools(opts, '');
  for (const t of opts.tools) if (!known.has(t)) throw new Error(`unknown tool ${t} (one of ${[...known.keys()].join(', ')})`);
  preflight(opts);
  const started = new Date();
  const loadAtStart = loadAverage();
  const say = (s: string): void =>
    void process.stdout.write(`[${((Date.now() - started.getTime()) / 1000).toFixed(0).padStart(5)}s] ${s}\n`);

  const pf = preparePermafrost(opts.root, opts.rev, opts.build);
  const tools = makeTools(opts, pf.dir);
  const key = datasetKey(opts.spec);
  const runDir = join(opts.root, key);
  const data = join(runDir, 'data');
  const logDir = join(runDir, 'logs');
  const deletes = new DeferredDeletes(opts.root, key);
  deletes.empty();
  deletes.deleteNow(data, removeDataset);
  deletes.deleteNow(runDir);
  mkdirSync(logDir, { recursive: true });

  say(`generating ${key} in ${data}`);
  const gen = generateDataset(data, opts.spec);
  say(`${gen.files} files, ${gen.dirs} directories, ${mib(gen.bytes)} MiB; reading it once (digest + page-cache warm-up)`);
  let digest = digestTree(data);
  const sorted = [...digest.keys()];
  const oneFile = opts.restoreFile ?? sorted[Math.floor((sorted.length * 3) / 4)]!;

  // What the machine itself does with this much data, for the targets stated against it: reading
  // and hashing it (sha1sum), and writing as many bytes durably (dd with an fsync at the end)
  const baselines: { what: string; cmd: Cmd; m: Measurement }[] = [];
  if (!opts.noBaselines) {
    const ddFile = join(runDir, 'dd-baseline');
    for (const [what, cmd] of [
      [
        'read and hash it: sha1sum of every file',
        { argv: ['sh', '-c', 'find . -type f -print0 | xargs -0 sha1sum > /dev/null'], cwd: data },
      ],
      [
        `write as many bytes durably: dd, ${Math.ceil(gen.bytes / 1048576)} MiB, fsync at the end`,
        { argv: ['dd', 'if=/dev/zero', `of=${ddFile}`, 'bs=1M', `count=${Math.ceil(gen.bytes / 1048576)}`, 'conv=fsync'] },
      ],
    ] as const) {
      const m = measure(cmd, 'baseline', 'full', baselines.length, logDir, opts.timeoutSec);
      baselines.push({ what, cmd, m });
      say(`baseline: ${what}: wall ${fmt(m.wall, 2)} s, cpu ${fmt(m.user + m.sys, 2)} s`);
    }
    rmSync(ddFile, { force: true });
  }

  const ws = new Map<string, Workspace>(
    opts.tools.map((id) => [
      id,
      { target: join(runDir, id, 'target'), cache: join(runDir, id, 'cache'), restore: join(runDir, id, 'restore') },
    ]),
  );
  const results = new Map<Scenario, Map<string, ToolResult>>();
  const commands = new Map<string, string>();
  const run = (
    scenario: Scenario,
    setup: (id: string) => void,
    cmdOf: (tool: Tool, w: Workspace) => Cmd,
    after: (id: string, m: Measurement, r: ToolResult) => void,
  ): void => {
    const byTool = new Map(opts.tools.map((id) => [id, { runs: [] } as ToolResult]));
    results.set(scenario, byTool);
    for (let rep = 0; rep < opts.repeat; rep++) {
      for (const id of order(opts.tools, rep)) {
        const tool = tools.get(id)!;
        const w = ws.get(id)!;
        setup(id);
        const cmd = cmdOf(tool, w);
        commands.set(`${scenario} ${id}`, showCmd(cmd));
        const m = measure(cmd, id, scenario, rep, logDir, opts.timeoutSec);
        const r = byTool.get(id)!;
        r.runs.push(m);
        if (m.exit !== 0) say(`${scenario} ${id}: FAILED (${m.exit}): ${tail(m.log, 3)}`);
        if (!r.best || (m.exit === 0 && (r.best.exit !== 0 || m.wall < r.best.wall))) r.best = m;
        after(id, m, r);
        say(
          `${scenario.padEnd(12)} ${id.padEnd(18)} wall ${fmt(m.wall, 2)} s, cpu ${fmt(m.user + m.sys, 2)} s, rss ${fmt(m.maxRssKiB / 1024, 0)} MiB, other ${fmt(m.otherCpu)} s${r.check ? `, ${r.check}` : ''}`,
        );
      }
    }
  };

  run(
    'full',
    (id) => {
      const w = ws.get(id)!;
      deletes.discard(join(runDir, id));
      mkdirSync(w.cache, { recursive: true });
      const prep = tools.get(id)!.prepare?.(w);
      if (prep) {
        sh(prep.argv, { env: { ...prep.env } });
        commands.set(`prepare ${id}`, showCmd(prep));
      }
    },
    (tool, w) => tool.backup(w, data, 'full'),
    (id, _m, r) => {
      const w = ws.get(id)!;
      const t = treeSize(w.target);
      r.storedBytes = t.bytes;
      r.objects = t.files;
      r.cacheBytes = treeSize(w.cache).bytes;
    },
  );

  const restoreAndCheck = (scenario: Scenario): void => {
    deletes.settle(say);
    run(
      scenario,
      (id) => deletes.discard(ws.get(id)!.restore),
      (tool, w) => tool.restore(w, w.restore),
      (id, m, r) => {
        if (m.rep === 0) r.check = m.exit === 0 ? compareTree(digest, ws.get(id)!.restore) : 'not restored';
        if (r.check?.startsWith('FAIL')) say(`${scenario} ${id}: ${r.check}`);
        deletes.discard(ws.get(id)!.restore);
      },
    );
  };

  if (opts.scenarios.includes('restore')) restoreAndCheck('restore');
  if (opts.scenarios.includes('restore-file')) {
    run(
      'restore-file',
      (id) => deletes.discard(ws.get(id)!.restore),
      (tool, w) => tool.restoreFile(w, oneFile, w.restore),
      (id, m, r) => {
        if (m.rep === 0)
          r.check =
            m.exit === 0 ? compareFile(digest.get(oneFile), tools.get(id)!.restoredFile(ws.get(id)!.restore, oneFile)) : 'not restored';
        deletes.discard(ws.get(id)!.restore);
      },
    );
  }

  let mutation = '';
  if (opts.scenarios.includes('incremental')) {
    const s = mutateDataset(data, { seed: opts.spec.seed, round: 1, fraction: 0.01 });
    mutation = `mutate (seed ${opts.spec.seed}, round 1, 1%): ${s.rewritten} rewritten, ${s.editedSmall} small files edited in the middle, ${s.editedLarge} large files edited in 3 places, ${s.deleted} deleted, ${s.added} added`;
    say(mutation);
    digest = digestTree(data);
    const before = new Map<string, { bytes: number; files: number }>();
    for (const id of opts.tools) {
      before.set(id, treeSize(ws.get(id)!.target));
      // repetitions must all start from the full backup
      if (opts.repeat > 1) for (const d of ['target', 'cache'] as const) copyWithTimes(ws.get(id)![d], `${ws.get(id)![d]}.pre`);
    }
    run(
      'incremental',
      (id) => {
        if (opts.repeat === 1 || !existsSync(`${ws.get(id)!.target}.pre`)) return;
        const w = ws.get(id)!;
        for (const d of [w.target, w.cache]) {
          deletes.discard(d);
          copyWithTimes(`${d}.pre`, d);
        }
      },
      (tool, w) => tool.backup(w, data, 'incremental'),
      (id, _m, r) => {
        const t = treeSize(ws.get(id)!.target);
        r.addedBytes = t.bytes - before.get(id)!.bytes;
        r.addedObjects = t.files - before.get(id)!.files;
      },
    );
    if (opts.scenarios.includes('restore-inc')) restoreAndCheck('restore-inc');
  }

  const finished = new Date();
  const report = [
    '',
    `## ${key}: ${gen.files} files, ${mib(gen.bytes)} MiB — ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    ...machineInfo().map((l) => `- ${l}`),
    `- load average (1/5/15 min) at start ${loadAtStart}, at end ${loadAverage()}; "other load CPU s" is the CPU time the rest of the machine used during each run (from /proc/stat): when it is not near 0, the machine was shared and the wall times are pessimistic`,
    ...toolVersions(opts.tools, opts, pf.version).map((l) => `- ${l}`),
    `- dataset: \`npx node bench/generate.ts ${opts.spec.kind} --out DIR --seed ${opts.spec.seed}${opts.spec.kind === 'big' ? ` --size-mib ${opts.spec.sizeMiB}` : ` --files ${opts.spec.files}`}\`; ${gen.dirs} directories`,
    `- method: every file of the dataset was read once before the first run (to digest it for the restore checks), so the source is in the page cache for every tool; \`sync\` before each run; ${opts.repeat === 1 ? 'one run per tool' : `best (lowest wall time) of ${opts.repeat} runs, tools alternating`}; measured by \`${TIME} -f '%e %U %S %M'\`; restores are checked file by file (size, MD5, mtime to the second) against the source`,
    `- whole run: ${((finished.getTime() - started.getTime()) / 60000).toFixed(1)} min`,
    ...(opts.note ? [`- note: ${opts.note}`] : []),
  ];
  if (baselines.length > 0) {
    report.push('', '### Baselines (the machine alone, same data)', '', '| what | command | wall s | CPU s |', '|---|---|---:|---:|');
    for (const b of baselines)
      report.push(`| ${b.what} | \`${showCmd(b.cmd).replaceAll('|', '\\|')}\` | ${fmt(b.m.wall, 2)} | ${fmt(b.m.user + b.m.sys, 2)} |`);
  }
  for (const [scenario, byTool] of results) {
    report.push('', `### ${SCENARIO_TITLES[scenario]}`, '');
    if (scenario === 'restore-file') report.push(`File: \`${oneFile}\` (${digest.get(oneFile)?.size ?? '?'} bytes)`, '');
    if (scenario === 'incremental') report.push(mutation, '');
    report.push(...table(scenario, opts.tools, byTool));
    for (const [id, r] of byTool) {
      for (const m of r.runs)
        if (m.exit !== 0) report.push('', `${id} ${scenario} run ${m.rep + 1} failed (${m.exit}): \`${tail(m.log, 3)}\``);
    }
  }
  report.push('', '<details><summary>Commands</summary>', '', '```');
  for (const [what, cmd] of commands) report.push(`# ${what}`, cmd);
  report.push('```', '', '</details>', '');
  if (!existsSync(opts.out))
    appendFileSync(
      opts.out,
      '# permafrost benchmark results\n\nEach section is appended by `bench/run.ts`; bench/README.md says how to rerun it.\n',
    );
  appendFileSync(opts.out, report.join('\n'));
  process.stdout.write(report.join('\n'));
  say(`appended to ${opts.out}`);

  // the tools' own output stays available after the data is gone
  const keptLogs = join(opts.root, 'logs', `${key}-${started.toISOString().replace(/[:.]/g, '-')}`);
  cpSync(logDir, keptLogs, { recursive: true });
  const raw = [...results].map(([scenario, byTool]) => ({ scenario, tools: Object.fromEntries(byTool) }));
  writeFileSync(
    join(keptLogs, 'results.json'),
    `${JSON.stringify({ spec: opts.spec, permafrost: pf.version, started, oneFile, results: raw }, null, 2)}\n`,
  );
  say(`tool output in ${keptLogs}`);
  deletes.empty();
  if (!opts.keep) {
    deletes.deleteNow(data, removeDataset);
    deletes.deleteNow(runDir);
    say(`deleted ${runDir}`);
  } else say(`kept ${runDir}`);
}

if (import.meta.main) {
  try {
    main();
  } catch (err) {
    console.error(`run.ts: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
