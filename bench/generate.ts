/**
 * Deterministic benchmark datasets: the same arguments always give the same bytes, names and
 * mtimes (a seeded xorshift128, never Math.random), so that anyone can rerun a measurement.
 *
 *   npx node bench/generate.ts small  --out DIR [--files N] [--seed S] [--force]
 *   npx node bench/generate.ts mixed  --out DIR [--files N] [--seed S] [--force]
 *   npx node bench/generate.ts big    --out DIR [--size-mib N] [--seed S] [--force]
 *   npx node bench/generate.ts mutate --out DIR [--seed S] [--round R] [--fraction F]
 *
 * Random buffers are filled 32 bits at a time through a Uint32Array, so the bytes assume a
 * little-endian machine (every machine this is meant to run on).
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export type DatasetKind = 'small' | 'mixed' | 'big';

export interface DatasetSpec {
  readonly kind: DatasetKind;
  /** small files (small, mixed) */
  readonly files: number;
  /** size of the single file of `big` */
  readonly sizeMiB: number;
  readonly seed: number;
}

export interface GenerateSummary {
  readonly files: number;
  readonly dirs: number;
  readonly bytes: number;
}

export interface MutationSummary {
  readonly rewritten: number;
  readonly editedSmall: number;
  readonly editedLarge: number;
  readonly deleted: number;
  readonly added: number;
}

/** 2024-01-01T00:00:00Z: every generated mtime is an offset from it, so runs are repeatable. */
export const BASE_MTIME = 1704067200;
/** Files at least this large are "large": mutate edits them in the middle instead of rewriting. */
const LARGE_FILE = 1 << 20;
const MiB = 1 << 20;
const CHUNK = 16 * MiB;
/** mixed: [MiB, random?] of the large files, about 860 MiB next to 20k small files (~90 MiB). */
const MIXED_LARGE: readonly (readonly [number, boolean])[] = [
  [300, true],
  [200, false],
  [150, true],
  [100, false],
  [64, true],
  [32, false],
  [16, true],
];

export function defaultSpec(kind: DatasetKind): DatasetSpec {
  return { kind, files: kind === 'small' ? 100_000 : kind === 'mixed' ? 20_000 : 0, sizeMiB: 1024, seed: 1 };
}

/** Marsaglia's xorshift128, seeded through splitmix32 so that nearby seeds give unrelated streams. */
export class Xorshift128 {
  private x: number;
  private y: number;
  private z: number;
  private w: number;

  constructor(seed: number, stream = 0) {
    let s = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(stream >>> 0, 0x85ebca6b)) >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let t = s;
      t = Math.imul(t ^ (t >>> 16), 0x21f0aaad);
      t = Math.imul(t ^ (t >>> 15), 0x735a2d97);
      return (t ^ (t >>> 15)) >>> 0;
    };
    this.x = next() || 1;
    this.y = next();
    this.z = next();
    this.w = next();
  }

  nextU32(): number {
    const t = this.x ^ (this.x << 11);
    this.x = this.y;
    this.y = this.z;
    this.z = this.w;
    this.w = (this.w ^ (this.w >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    return this.w;
  }

  /** an integer in [0, n) */
  below(n: number): number {
    return Math.floor((this.nextU32() / 4294967296) * n);
  }

  /** a float in [0, 1) */
  unit(): number {
    return this.nextU32() / 4294967296;
  }

  /** Fills whole 32-bit words; the hot loop of every random byte, so the state stays in locals. */
  fill(words: Uint32Array): void {
    let x = this.x,
      y = this.y,
      z = this.z,
      w = this.w;
    for (let i = 0; i < words.length; i++) {
      const t = x ^ (x << 11);
      x = y;
      y = z;
      z = w;
      w = (w ^ (w >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
      words[i] = w;
    }
    this.x = x;
    this.y = y;
    this.z = z;
    this.w = w;
  }
}

/** A buffer whose bytes can also be written as aligned 32-bit words. */
function wordBuffer(bytes: number): { buf: Buffer; words: Uint32Array } {
  const ab = new ArrayBuffer(Math.ceil(bytes / 4) * 4);
  return { buf: Buffer.from(ab), words: new Uint32Array(ab) };
}

const CORPUS_BYTES = 8 * MiB;

/**
 * English-looking text from a skewed vocabulary of pseudo-words, compressing about as well as
 * real prose or logs under gzip. Files take slices of it at random offsets; slices of one file are
 * far apart, so a 32 KiB gzip window or a dedup chunker sees no more repetition than in real text.
 */
function makeCorpus(seed: number): Buffer {
  const rng = new Xorshift128(seed, 0xc0);
  const syllables = [
    'ka',
    'lo',
    'mi',
    're',
    'to',
    'sa',
    'nu',
    'ber',
    'ing',
    'tion',
    'der',
    'ma',
    'vi',
    'st',
    'ou',
    'e',
    'a',
    'pro',
    'con',
    'ly',
  ];
  const words: Buffer[] = [];
  for (let i = 0; i < 4096; i++) {
    let w = '';
    const n = 1 + rng.below(4);
    for (let k = 0; k < n; k++) w += syllables[rng.below(syllables.length)];
    words.push(Buffer.from(w));
  }
  const out = Buffer.alloc(CORPUS_BYTES);
  let pos = 0;
  let lineWords = 0;
  const lineLength = (): number => 4 + rng.below(14);
  let target = lineLength();
  while (pos < CORPUS_BYTES) {
    // cubing the uniform draw favours low indices: a few words are very common, as in real text
    const r = rng.unit();
    let piece: Buffer = words[Math.floor(r * r * r * words.length)]!;
    if (rng.below(25) === 0) piece = Buffer.from(String(rng.nextU32() % 100000));
    pos += piece.copy(out, pos);
    lineWords++;
    if (pos >= CORPUS_BYTES) break;
    if (lineWords >= target) {
      out[pos++] = 0x0a;
      lineWords = 0;
      target = lineLength();
    } else {
      out[pos++] = rng.below(12) === 0 ? 0x2c : 0x20;
    }
  }
  return out;
}

/** Fills `dest` with text: slices of 4–64 KiB of the corpus at random offsets. */
function fillText(rng: Xorshift128, corpus: Buffer, dest: Buffer): void {
  let pos = 0;
  while (pos < dest.length) {
    const len = Math.min(dest.length - pos, 4096 + rng.below(60 * 1024));
    const from = rng.below(corpus.length - len);
    pos += corpus.copy(dest, pos, from, from + len);
  }
}

/** One small file's content: a header line naming it (so no two files are equal), then text or random bytes. */
function smallContent(
  rng: Xorshift128,
  corpus: Buffer,
  scratch: { buf: Buffer; words: Uint32Array },
  label: string,
  size: number,
  text: boolean,
): Buffer {
  const out = scratch.buf.subarray(0, size);
  if (text) {
    const from = rng.below(corpus.length - size);
    corpus.copy(out, 0, from, from + size);
  } else {
    rng.fill(scratch.words);
  }
  out.write(`${label}\n`.slice(0, size), 0, 'latin1');
  return out;
}

function writeLargeFile(path: string, size: number, random: boolean, rng: Xorshift128, corpus: Buffer): void {
  const chunk = wordBuffer(Math.min(size, CHUNK));
  const fd = openSync(path, 'w');
  try {
    for (let done = 0; done < size; ) {
      const n = Math.min(chunk.buf.length, size - done);
      if (random) rng.fill(chunk.words);
      else fillText(rng, corpus, chunk.buf.subarray(0, n));
      let off = 0;
      while (off < n) off += writeSync(fd, chunk.buf, off, n - off);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
}

const SMALL_MIN = 1024;
const SMALL_MAX = 8 * 1024;

function smallFileName(i: number, text: boolean): string {
  return `f${String(i).padStart(6, '0')}.${text ? 'txt' : 'bin'}`;
}

/** ~100 files per directory, directories grouped 32 to a parent: g000/d00000/f000000.txt */
function smallFileDir(i: number, files: number): string {
  const dirs = Math.max(1, Math.round(files / 100));
  const d = Math.floor((i * dirs) / files);
  return join(`g${String(Math.floor(d / 32)).padStart(3, '0')}`, `d${String(d).padStart(5, '0')}`);
}

function writeSmallFiles(root: string, files: number, rng: Xorshift128, corpus: Buffer): { bytes: number; dirs: Set<string> } {
  const scratch = wordBuffer(SMALL_MAX);
  const dirs = new Set<string>();
  let bytes = 0;
  for (let i = 0; i < files; i++) {
    const dir = smallFileDir(i, files);
    if (!dirs.has(dir)) {
      mkdirSync(join(root, dir), { recursive: true });
      dirs.add(dir);
    }
    const size = SMALL_MIN + rng.below(SMALL_MAX - SMALL_MIN + 1);
    const text = rng.below(2) === 0;
    const path = join(root, dir, smallFileName(i, text));
    writeFileSync(path, smallContent(rng, corpus, scratch, `file ${i} seed ${rng.nextU32()}`, size, text));
    const mtime = BASE_MTIME + Math.floor(i / 10);
    utimesSync(path, mtime, mtime);
    bytes += size;
  }
  return { bytes, dirs };
}

/** Every directory under root (root included), deepest first, so setting their mtimes sticks. */
function directoriesBottomUp(root: string): string[] {
  const out: string[] = [];
  const visit = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) visit(join(dir, e.name));
    out.push(dir);
  };
  visit(root);
  return out;
}

function setDirMtimes(dirs: Iterable<string>, mtime: number): void {
  for (const d of dirs) utimesSync(d, mtime, mtime);
}

function specFile(out: string): string {
  return `${resolve(out)}.dataset.json`;
}

/** Removes a previous dataset, but only one this generator made (its spec file sits next to it). */
export function removeDataset(out: string): void {
  const dir = resolve(out);
  if (!existsSync(dir)) return;
  if (readdirSync(dir).length > 0 && !existsSync(specFile(dir))) {
    throw new Error(`${dir} is not empty and was not made by bench/generate.ts; not deleting it`);
  }
  rmSync(dir, { recursive: true, force: true });
  rmSync(specFile(dir), { force: true });
}

export function generateDataset(out: string, spec: DatasetSpec): GenerateSummary {
  const root = resolve(out);
  if (existsSync(root) && readdirSync(root).length > 0) throw new Error(`${root} exists and is not empty (use --force to replace it)`);
  mkdirSync(root, { recursive: true });
  const rng = new Xorshift128(spec.seed, 1);
  const corpus = makeCorpus(spec.seed);
  let files = 0;
  let bytes = 0;
  if (spec.kind === 'small' || spec.kind === 'mixed') {
    const small = writeSmallFiles(root, spec.files, rng, corpus);
    files += spec.files;
    bytes += small.bytes;
  }
  if (spec.kind === 'mixed') {
    mkdirSync(join(root, 'large'), { recursive: true });
    for (const [mib, random] of MIXED_LARGE) {
      const path = join(root, 'large', `large-${String(mib).padStart(3, '0')}m.${random ? 'bin' : 'log'}`);
      writeLargeFile(path, mib * MiB, random, rng, corpus);
      utimesSync(path, BASE_MTIME, BASE_MTIME);
      files++;
      bytes += mib * MiB;
    }
  }
  if (spec.kind === 'big') {
    const path = join(root, 'big.bin');
    writeLargeFile(path, spec.sizeMiB * MiB, true, rng, corpus);
    utimesSync(path, BASE_MTIME, BASE_MTIME);
    files++;
    bytes += spec.sizeMiB * MiB;
  }
  const dirs = directoriesBottomUp(root);
  setDirMtimes(dirs, BASE_MTIME);
  writeFileSync(specFile(root), `${JSON.stringify({ ...spec, mutations: [] }, null, 2)}\n`);
  return { files, dirs: dirs.length, bytes };
}

/** Regular files under root as sorted relative paths (byte order, as the backups see them). */
export function listFiles(root: string): string[] {
  const out: string[] = [];
  const visit = (rel: string): void => {
    for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) visit(r);
      else if (e.isFile()) out.push(r);
    }
  };
  visit('');
  return out.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

export interface MutateOptions {
  readonly seed: number;
  /** the n-th mutation of this dataset: it picks the PRNG stream, the new mtime and new file names */
  readonly round: number;
  /** share of the small files touched (default 1%) */
  readonly fraction: number;
}

/**
 * Changes about `fraction` of the small files — per ten touched: five rewritten (new size and
 * content), two edited in the middle (same size), two deleted, one new file added next to one —
 * and edits three 4 KiB regions in the middle of a third of the large files (at least one).
 * Changed files and directories get the mtime BASE_MTIME + round days.
 */
export function mutateDataset(out: string, opts: MutateOptions): MutationSummary {
  const root = resolve(out);
  const rng = new Xorshift128(opts.seed, 1000 + opts.round);
  const corpus = makeCorpus(opts.seed);
  const mtime = BASE_MTIME + opts.round * 86400;
  const all = listFiles(root);
  const sizes = new Map(all.map((f) => [f, statSync(join(root, f)).size] as const));
  const small = all.filter((f) => sizes.get(f)! < LARGE_FILE);
  const large = all.filter((f) => sizes.get(f)! >= LARGE_FILE);
  const touchedDirs = new Set<string>();
  const summary = { rewritten: 0, editedSmall: 0, editedLarge: 0, deleted: 0, added: 0 };
  const scratch = wordBuffer(SMALL_MAX);

  const editMiddle = (rel: string, regions: number, regionBytes: number): void => {
    const size = sizes.get(rel)!;
    const patch = wordBuffer(regionBytes);
    const fd = openSync(join(root, rel), 'r+');
    try {
      for (let k = 1; k <= regions; k++) {
        rng.fill(patch.words);
        const n = Math.min(regionBytes, size);
        writeSync(fd, patch.buf, 0, n, Math.floor((size * k) / (regions + 1) - n / 2));
      }
    } finally {
      closeSync(fd);
    }
    utimesSync(join(root, rel), mtime, mtime);
  };

  const count = small.length === 0 ? 0 : Math.max(1, Math.round(small.length * opts.fraction));
  const picked = pickDistinct(rng, small.length, count);
  picked.forEach((idx, k) => {
    const rel = small[idx]!;
    const path = join(root, rel);
    const kind = k % 10;
    if (kind < 5) {
      const size = SMALL_MIN + rng.below(SMALL_MAX - SMALL_MIN + 1);
      writeFileSync(path, smallContent(rng, corpus, scratch, `rewrite ${rel} round ${opts.round}`, size, rel.endsWith('.txt')));
      utimesSync(path, mtime, mtime);
      summary.rewritten++;
    } else if (kind < 7) {
      editMiddle(rel, 1, 64);
      summary.editedSmall++;
    } else if (kind < 9) {
      unlinkSync(path);
      touchedDirs.add(dirname(path));
      summary.deleted++;
    } else {
      const text = rng.below(2) === 0;
      const added = join(dirname(path), `added-r${opts.round}-${String(k).padStart(6, '0')}.${text ? 'txt' : 'bin'}`);
      const size = SMALL_MIN + rng.below(SMALL_MAX - SMALL_MIN + 1);
      writeFileSync(added, smallContent(rng, corpus, scratch, `added ${k} round ${opts.round}`, size, text));
      utimesSync(added, mtime, mtime);
      touchedDirs.add(dirname(path));
      summary.added++;
    }
  });
  for (const idx of pickDistinct(rng, large.length, large.length === 0 ? 0 : Math.ceil(large.length / 3))) {
    editMiddle(large[idx]!, 3, 4096);
    summary.editedLarge++;
  }
  setDirMtimes(touchedDirs, mtime);

  const spec = specFile(root);
  if (existsSync(spec)) {
    const recorded = JSON.parse(readFileSync(spec, 'utf8')) as { mutations?: unknown[] };
    recorded.mutations = [...(recorded.mutations ?? []), { ...opts, ...summary }];
    writeFileSync(spec, `${JSON.stringify(recorded, null, 2)}\n`);
  }
  return summary;
}

/** `count` distinct indices below n, in a seeded order (a partial Fisher–Yates shuffle). */
function pickDistinct(rng: Xorshift128, n: number, count: number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  const k = Math.min(count, n);
  for (let i = 0; i < k; i++) {
    const j = i + rng.below(n - i);
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.slice(0, k);
}

function parseArgs(argv: readonly string[]): { command: string; values: Map<string, string>; flags: Set<string> } {
  const [command = '', ...rest] = argv;
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--force') flags.add(a);
    else if (a.startsWith('--') && i + 1 < rest.length) values.set(a, rest[++i]!);
    else throw new Error(`unexpected argument ${a}`);
  }
  return { command, values, flags };
}

function intOption(values: Map<string, string>, name: string, fallback: number): number {
  const v = values.get(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} needs a non-negative number, got ${v}`);
  return n;
}

function main(argv: readonly string[]): void {
  const { command, values, flags } = parseArgs(argv);
  const out = values.get('--out');
  if (!out)
    throw new Error(
      'usage: generate.ts small|mixed|big|mutate --out DIR [--files N] [--size-mib N] [--seed S] [--round R] [--fraction F] [--force]',
    );
  const seed = intOption(values, '--seed', 1);
  const started = performance.now();
  if (command === 'mutate') {
    const s = mutateDataset(out, { seed, round: intOption(values, '--round', 1), fraction: intOption(values, '--fraction', 0.01) });
    console.log(`mutated ${out}: ${JSON.stringify(s)} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return;
  }
  if (command !== 'small' && command !== 'mixed' && command !== 'big') throw new Error(`unknown dataset ${command}`);
  const spec = { ...defaultSpec(command), seed };
  const full = { ...spec, files: intOption(values, '--files', spec.files), sizeMiB: intOption(values, '--size-mib', spec.sizeMiB) };
  if (flags.has('--force')) removeDataset(out);
  const s = generateDataset(out, full);
  console.log(
    `generated ${command} in ${out}: ${s.files} files, ${s.dirs} directories, ${(s.bytes / MiB).toFixed(1)} MiB in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}

if (import.meta.main) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    console.error(`generate.ts: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
