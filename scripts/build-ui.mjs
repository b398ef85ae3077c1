// Bundles the dashboard (ui/) into dist/ui/: index.html, app.js and app.css, minified, with
// everything the page needs inside (no CDN: the daemon serves these three files and nothing else).
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'ui');

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
const result = await build({
  entryPoints: { app: join(root, 'ui', 'main.tsx') },
  outdir: out,
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});
await copyFile(join(root, 'ui', 'index.html'), join(out, 'index.html'));
const sizes = Object.entries(result.metafile.outputs).map(([file, o]) => `${file.replace(/^.*\//, '')} ${(o.bytes / 1024).toFixed(1)} KiB`);
console.log(`dist/ui: ${sizes.join(', ')}`);
