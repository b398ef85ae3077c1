/**
 * `npm run lint:layers` (dependency-cruiser with .dependency-cruiser.mjs) holds src/ to the layering
 * of README "Architecture". These tests run the same tool and config on small trees, so a config
 * that stopped seeing imports (a parser that is not installed, a rule that matches nothing) fails
 * here instead of passing everything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpDir } from '../support/tmp.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DEPCRUISE = join(ROOT, 'node_modules/.bin/depcruise');
const CONFIG = join(ROOT, '.dependency-cruiser.mjs');

function cruise(cwd: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [DEPCRUISE, '--config', CONFIG, '--output-type', 'err', 'src'], { cwd }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, out: stdout + stderr });
    });
  });
}

function writeTree(root: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

test('the source tree keeps the layering', async () => {
  const { code, out } = await cruise(ROOT);
  assert.equal(code, 0, out);
  assert.match(out, /no dependency violations found \((\d{3,}) modules/);
  // an environment warning (‼) means the tool read the sources without swc, TypeScript's parser here
  assert.doesNotMatch(out, /‼/, out);
});

test('an upward, sideways, type-only, circular, unlayered or unresolvable import fails, naming the rule and the import', async (t) => {
  const dir = tmpDir(t, 'layers');
  writeTree(dir, {
    'src/ops/op.ts': 'export const op = 1;\n',
    'src/core/up.ts': "import { op } from '../ops/op.ts';\nexport const up = op;\n",
    'src/backend/store.ts': 'export const store = 1;\n',
    'src/fs/side.ts': "import { store } from '../backend/store.ts';\nexport const side = store;\n",
    'src/archive/set.ts': 'export type SetName = string;\n',
    'src/codec/name.ts': "import type { SetName } from '../archive/set.ts';\nexport type Name = SetName;\n",
    'src/command-line/grammar.ts': "import { op } from '../ops/op.ts';\nexport const grammar = op;\n",
    'src/command-line/words.ts': "import { report } from '../daemon/report.ts';\nexport const words = report;\n",
    'src/daemon/report.ts': "import { grammar } from '../command-line/grammar.ts';\nexport const report = grammar;\n",
    'src/core/ping.ts': "import { pong } from './pong.ts';\nexport const ping = (): number => pong();\n",
    'src/core/pong.ts': "import { ping } from './ping.ts';\nexport const pong = (): number => ping();\n",
    'src/util/helper.ts': "import { ping } from '../core/ping.ts';\nexport const helper = ping;\n",
    'src/pricing/table.ts': "import { gone } from './gone.ts';\nexport const table = gone;\n",
  });
  const { code, out } = await cruise(dir);
  assert.notEqual(code, 0, out);
  for (const line of [
    'error core-imports-only-below: src/core/up.ts → src/ops/op.ts',
    'error fs-imports-only-below: src/fs/side.ts → src/backend/store.ts',
    'error codec-imports-only-below: src/codec/name.ts → src/archive/set.ts',
    'error command-line-imports-only-below: src/command-line/words.ts → src/daemon/report.ts',
    'error folder-in-no-layer: src/util/helper.ts → src/core/ping.ts',
    'error not-to-unresolvable: src/pricing/table.ts → ./gone.ts',
  ]) {
    assert.ok(out.includes(line), `expected "${line}" in:\n${out}`);
  }
  assert.match(out, /error no-import-cycles: src\/core\/(ping|pong)\.ts → \s+src\/core\/(pong|ping)\.ts →/);
  // the command-line layer may import ops, and the daemon the command-line layer
  assert.ok(!out.includes('src/command-line/grammar.ts → src/ops/op.ts'), out);
  assert.ok(!out.includes('src/daemon/report.ts →'), out);
});

test('imports that point down pass', async (t) => {
  const dir = tmpDir(t, 'layers');
  writeTree(dir, {
    'src/core/index.ts': 'export const index = 1;\n',
    'src/codec/name.ts': "import { index } from '../core/index.ts';\nexport const name = index;\n",
    'src/crypto/key.ts': "import { name } from '../codec/name.ts';\nexport const key = name;\n",
    'src/archive/set.ts': "import type { key } from '../crypto/key.ts';\nexport const set = 1 as typeof key;\n",
    'src/ops/op.ts': "import { set } from '../archive/set.ts';\nexport const op = set;\n",
    'src/command-line/grammar.ts': "import { op } from '../ops/op.ts';\nexport const grammar = op;\n",
    'src/daemon/job.ts': "import { grammar } from '../command-line/grammar.ts';\nexport const job = grammar;\n",
    'src/cli/main.ts':
      "import { job } from '../daemon/job.ts';\nimport { index } from '../core/index.ts';\nexport const main = job + index;\n",
  });
  const { code, out } = await cruise(dir);
  assert.equal(code, 0, out);
  assert.match(out, /no dependency violations found \(8 modules, 8 dependencies cruised\)/);
});
