/**
 * The stdout contract holds by construction only if nothing but the run's Output writes to stdout:
 * no module of src/ names process.stdout or console.log/info/debug/dir/table (which write to stdout),
 * apart from the entry point that hands process.stdout to the Output, and the daemon, which has no
 * --json and prints its own --help and --check.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT as PROJECT_ROOT } from '../support/json-schemas.ts';

const ALLOWED = new Set(['src/cli/main.ts', 'src/cli/commands/daemon-command.ts']);
const WRITERS = /\bprocess\.stdout\b|\bconsole\.(log|info|debug|dir|table|trace)\s*\(/;

function* sources(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* sources(p);
    else if (e.name.endsWith('.ts')) yield p;
  }
}

test('only the entry point (and the daemon) touch process.stdout; nothing calls console.log', () => {
  const offenders: string[] = [];
  let files = 0;
  for (const file of sources(join(PROJECT_ROOT, 'src'))) {
    files++;
    const rel = relative(PROJECT_ROOT, file);
    if (ALLOWED.has(rel)) continue;
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        // comments may name it (output.ts explains the rule)
        if (WRITERS.test(line) && !/^\s*(\*|\/\/)/.test(line)) offenders.push(`${rel}:${i + 1}: ${line.trim()}`);
      });
  }
  assert.ok(files > 100, `read only ${files} files`);
  assert.deepEqual(offenders, [], `write to stdout through the run's Output (src/cli/output.ts):\n${offenders.join('\n')}`);
});
