/**
 * The permafrost CLI (`node bin/permafrost.js`, run with this very Node, so Node 24), behind the
 * same uniform API as real duplicity. It speaks duplicity 0.8.22's syntax.
 */
import { cliTool, runCommand } from './cli.ts';
import type { BackupTool, RunResult } from './cli.ts';
import { PROJECT_ROOT } from './duplicity.ts';

export const PERMAFROST_BIN = `${PROJECT_ROOT}bin/permafrost.js`;

export const permafrost: BackupTool = cliTool('permafrost', process.execPath, [PERMAFROST_BIN], 'duplicity-0.8');

/** Raw invocation with any arguments; never throws on a non-zero exit. */
export function runPermafrost(args: readonly string[], env?: Readonly<Record<string, string>>): Promise<RunResult> {
  return runCommand(process.execPath, [PERMAFROST_BIN, ...args], { expectCode: 'any', label: 'permafrost', ...(env ? { env } : {}) });
}
