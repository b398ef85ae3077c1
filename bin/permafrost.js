#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=2 --heap-growing-percent=20
// A small young generation keeps memory flat: a backup makes much short-lived garbage, and V8's
// default lets the heap grow to tens of MiB between collections; a fixed growing factor of 1.2 keeps
// the old generation near its live size too (V8's own factor grew it to 3x: see bench/RESULTS.md).
// Two malloc arenas, not one per thread that allocates: the arenas of the worker and V8 helper
// threads kept 10-25 MiB of freed memory resident (same CPU; bench/RESULTS.md, session 6 round 2).
// The published entry point runs the compiled CLI. Node >= 22 is required (see package.json).
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  // An older Node from the PATH (Debian 12's default, `./bin/permafrost.js`): run the project's
  // own Node 24 (the `node` devDependency) when it is installed, else say what to do.
  const { existsSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  const bundled = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(bundled)) {
    process.stderr.write(
      `permafrost: Node.js >= 22 is required (this is ${process.version}); run "npm install" in the project (it brings Node 24), or install Node 24\n`,
    );
    process.exit(2);
  }
  const { spawn } = await import('node:child_process');
  const child = spawn(
    bundled,
    ['--max-semi-space-size=2', '--heap-growing-percent=20', fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  // Ctrl-C and a terminal hangup reach the child directly (same process group): wait for it. A
  // SIGTERM is sent to this pid alone (kill, a service manager): pass it on, once, so that the run
  // gives up its target lock (a second signal would end it at once).
  process.on('SIGINT', () => {});
  process.on('SIGHUP', () => {});
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
} else {
  // The bundle of scripts/build-cli.mjs (`npm run build`): a few dozen files load faster than the
  // ~120 modules tsc writes (docs/performance.md, "Start-up"). tsc's output is run instead when it
  // is newer (a build by `npx tsc` alone), so that a stale bundle never runs.
  const { statSync } = process.getBuiltinModule('node:fs');
  const mtime = (path) => statSync(new URL(path, import.meta.url), { throwIfNoEntry: false })?.mtimeMs ?? -1;
  const bundled = mtime('../dist/bundle/main.js');
  const main = bundled >= 0 && bundled >= mtime('../dist/cli/main.js') ? '../dist/bundle/main.js' : '../dist/cli/main.js';
  try {
    await import(main);
  } catch (err) {
    if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main.js')) {
      process.stderr.write('permafrost: not built yet; run "npm install" (or "npm run build") in the project first\n');
      process.exit(2);
    }
    throw err;
  }
}
