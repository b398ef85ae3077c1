#!/usr/bin/env -S node --max-semi-space-size=2
// A small young generation keeps memory flat: a backup makes much short-lived garbage, and V8's
// default lets the heap grow to tens of MiB between collections (see bench/RESULTS.md).
// The published entry point runs the compiled CLI. Node >= 22 is required (see package.json).
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  process.stderr.write(
    `permafrost: Node.js >= 22 is required (this is ${process.version}); run it through npx or npm scripts to use the bundled Node 24\n`,
  );
  process.exit(2);
}
try {
  await import('../dist/cli/main.js');
} catch (err) {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main.js')) {
    process.stderr.write('permafrost: not built yet; run "npm install" (or "npm run build") in the project first\n');
    process.exit(2);
  }
  throw err;
}
