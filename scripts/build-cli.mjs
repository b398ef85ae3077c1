// Bundles the CLI (src/) into dist/bundle/, which bin/permafrost.js runs: Node then resolves and
// links a few dozen files instead of ~120 modules (docs/performance.md, "Start-up").
// - ESM with code splitting: each verb's code stays behind its `await import()`, so a run loads
//   only its own chunks (test/cli/startup-modules.test.ts checks which source modules it loads,
//   through modules.json below).
// - The worker threads are single files of their own, named as the modules that start them expect
//   (`new URL('./thread-file-worker.js', import.meta.url)`); all files sit in one folder two levels
//   below the project, as dist/cli/*.js do, so `../../package.json` and `../ui/` still resolve.
// - npm packages stay outside (loaded from node_modules when needed, as before).
// - Source maps: a stack shown at debug verbosity is mapped back to src/ through them
//   (src/cli/source-mapped-stack.ts).
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'bundle');
const src = (p) => join(root, 'src', p);

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
const common = {
  outdir: out,
  entryNames: '[name]',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: ['node22'],
  packages: 'external',
  sourcemap: 'linked',
  sourcesContent: false,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
};
const cli = await build({ ...common, entryPoints: { main: src('cli/main.ts') }, splitting: true, chunkNames: 'chunk-[hash]' });
// Each thread one file of its own, without the CLI's chunks: a thread loads only its code.
const threadEntries = {
    'thread-file-worker': src('archive/thread-file-worker.ts'),
    'deflate-pool-worker': src('archive/deflate-pool-worker.ts'),
    'restore-worker': src('fs/restore-worker.ts'),
    'stat-ahead-worker': src('fs/stat-ahead-worker.ts'),
};
const threads = await build({ ...common, entryPoints: threadEntries });
const outputs = { ...cli.metafile.outputs, ...threads.metafile.outputs };

// A thread whose file is missing would fail only when a run first starts it: refuse the build
// when a `new Worker(new URL('./NAME...'))` in src/ has no entry above.
const started = new Set();
for (const file of await readdir(join(root, 'src'), { recursive: true })) {
  if (!file.endsWith('.ts')) continue;
  const text = await readFile(join(root, 'src', file), 'utf8');
  for (const m of text.matchAll(/new Worker\(new URL\(`\.\/([\w-]+)\$\{ext\}`/g)) started.add(m[1]);
}
const missing = [...started].filter((name) => !(name in threadEntries));
if (missing.length > 0) throw new Error(`build-cli: worker thread(s) not bundled: ${missing.join(', ')} (add them to the threads' entryPoints)`);

// Which source modules each output file holds, for the start-up test.
const modules = {};
for (const [file, o] of Object.entries(outputs)) {
  if (file.endsWith('.map')) continue;
  modules[relative(out, join(root, file))] = Object.keys(o.inputs).sort();
}
await writeFile(join(out, 'modules.json'), `${JSON.stringify(modules, null, 1)}\n`);
const files = Object.keys(modules);
const kib = Object.values(outputs).reduce((n, o) => n + o.bytes, 0) / 1024;
console.log(`dist/bundle: ${files.length} files, ${kib.toFixed(0)} KiB with source maps`);
