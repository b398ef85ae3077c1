#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=2 --heap-growing-percent=20
// `dup ARGS`, docker-duplicity's helper, in the image (/usr/local/bin/dup): permafrost with OPTIONS
// and OPTIONS_EXTRA before ARGS. Both are expanded by the shell as that image's dup does
// (`$(hostname -f)`, `$(date ...)`; no filename globbing), the same way as the daemon's jobs, and
// a command substitution that fails stops it with exit 2 instead of leaving an empty word (which
// would turn `archive-$(hostname -f)-` into `archive--`, a new chain). permafrost runs in this
// process.
import { fileURLToPath } from 'node:url';

const { expandOptions } = await import('../dist/daemon/job-command.js');
let options;
try {
  options = [
    ...(await expandOptions(process.env.OPTIONS ?? '', process.env, 'OPTIONS')),
    ...(await expandOptions(process.env.OPTIONS_EXTRA ?? '', process.env, 'OPTIONS_EXTRA')),
  ];
} catch (err) {
  process.stderr.write(`dup: ${err.message}\n`);
  process.exit(2);
}
process.argv = [process.argv[0], fileURLToPath(new URL('./permafrost.js', import.meta.url)), ...options, ...process.argv.slice(2)];
await import('./permafrost.js');
