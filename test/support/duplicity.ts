/**
 * Real duplicity, both versions our users run: 0.8.22 (Debian 12's /usr/bin/duplicity, the format's
 * reference) and 3.x (from PyPI, in the venv that scripts/install-test-deps.sh makes at
 * .cache/duplicity3). Override the paths with PERMAFROST_DUP08 and PERMAFROST_DUP3.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cliTool } from './cli.ts';
import type { BackupTool } from './cli.ts';

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DUP08_PATH = process.env['PERMAFROST_DUP08'] ?? '/usr/bin/duplicity';
export const DUP3_PATH = process.env['PERMAFROST_DUP3'] ?? `${PROJECT_ROOT}.cache/duplicity3/bin/duplicity`;
export const INSTALL_HINT = 'install with: bash scripts/install-test-deps.sh';

export const dup08: BackupTool = cliTool('duplicity 0.8.22', DUP08_PATH, [], 'duplicity-0.8');
export const dup3: BackupTool = cliTool('duplicity 3.x', DUP3_PATH, [], 'duplicity-3');
export const duplicities: readonly BackupTool[] = [dup08, dup3];

let checked: string | undefined;

/**
 * Fails (throws: a missing tool must fail the suite, not skip it) unless both duplicity binaries
 * run and report the expected major versions. Returns their version lines. Cached.
 */
export function requireDuplicity(): string {
  if (checked !== undefined) return checked;
  const lines = [check(DUP08_PATH, /^duplicity 0\.8\.22\b/, 'duplicity 0.8.22'), check(DUP3_PATH, /^duplicity 3\./, 'duplicity 3.x')];
  checked = lines.join('; ');
  return checked;
}

function check(path: string, want: RegExp, what: string): string {
  if (!existsSync(path)) throw new Error(`${what} is missing (${path}); ${INSTALL_HINT}`);
  let out: string;
  try {
    out = execFileSync(path, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 }).trim();
  } catch (e) {
    throw new Error(`${what} at ${path} does not run (${(e as Error).message.split('\n')[0]}); ${INSTALL_HINT}`);
  }
  if (!want.test(out)) throw new Error(`${path} reports "${out}", expected ${what}; ${INSTALL_HINT}`);
  return out;
}
