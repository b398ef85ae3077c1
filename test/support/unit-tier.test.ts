/**
 * Keeps the quick tier (test/unit-tier.list, npm run test:unit) honest: every file listed exists,
 * and neither it nor a test helper it imports starts a process other than cp, mkfifo or sh, so
 * none needs duplicity, gpg, rdiff, clang, a python3 oracle, moto or the permafrost CLI.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = resolve(import.meta.dirname, '../..');
const LIST = join(ROOT, 'test/unit-tier.list');
/** Commands the tier may start: coreutils and the shell, present on any machine the tests run on. */
const ALLOWED_COMMANDS = new Set(['cp', 'mkfifo', 'sh', '/bin/sh']);

function listed(): string[] {
  return readFileSync(LIST, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** The test-side files `file` reaches by relative imports (src/ is not followed: it starts processes only when configured to). */
function testClosure(file: string): string[] {
  const seen = new Set<string>();
  const todo = [resolve(ROOT, file)];
  while (todo.length > 0) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    for (const m of readFileSync(f, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.\.?\/[^']+)'/g)) {
      const target = resolve(dirname(f), m[1]!);
      if (relative(join(ROOT, 'test'), target).startsWith('..')) continue;
      todo.push(target);
    }
  }
  return [...seen].map((f) => relative(ROOT, f)).sort();
}

/** Processes a file may start that the tier does not allow: each as `file: call`. */
function disallowedProcesses(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  if (!text.includes('node:child_process')) return [];
  const out: string[] = [];
  for (const m of text.matchAll(/(?<![.\w])(spawn|spawnSync|execFile|execFileSync|execSync|exec|fork)\(\s*([^,)]*)/g)) {
    const command = /^'([^']*)'$/.exec(m[2]!.trim())?.[1];
    if (command === undefined || !ALLOWED_COMMANDS.has(command)) out.push(`${file}: ${m[1]}(${m[2]!.trim()}`);
  }
  return out;
}

function violations(file: string): string[] {
  return testClosure(file).flatMap(disallowedProcesses);
}

describe('the quick tier (test/unit-tier.list)', () => {
  it('lists existing test files, each once', () => {
    const files = listed();
    assert.ok(files.length > 0);
    assert.deepEqual(
      files.filter((f) => !f.startsWith('test/') || !f.endsWith('.test.ts') || !existsSync(join(ROOT, f))),
      [],
      'paths that are not test files',
    );
    assert.deepEqual(
      files.filter((f, i) => files.indexOf(f) !== i),
      [],
      'listed twice',
    );
  });

  it('holds no test that starts duplicity, gpg, python3, moto or the CLI, directly or through a helper', () => {
    assert.deepEqual(listed().flatMap(violations), []);
  });

  it('the check finds such tests (a CLI and duplicity test, a python3 oracle, gpg, moto)', () => {
    for (const file of [
      'test/cli/commands.test.ts',
      'test/codec/manifest.test.ts',
      'test/crypto/encryption.test.ts',
      'test/s3/backend.test.ts',
    ]) {
      assert.notDeepEqual(violations(file), [], file);
    }
  });
});
