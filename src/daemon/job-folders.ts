/**
 * The local folders the daemon's `dup` jobs write: the cache (`--archive-dir`) and the folder of
 * `--log-file`. In compose they are bind mounts (./config, ./logs) that Docker creates as root
 * when missing; checked at start with the state folder, so that the fix is said once, before the
 * first night's backup fails on it.
 */
import { dirname } from 'node:path';
import { parseCommandLine } from '../command-line/parse-command-line.ts';
import type { DaemonConfig } from './config.ts';
import { jobCommand } from './job-command.ts';

type Env = Readonly<Record<string, string | undefined>>;

export async function jobFolders(config: DaemonConfig, env: Env): Promise<string[]> {
  const out = new Set<string>();
  for (const job of config.jobs) {
    const cmd = await jobCommand(job.what, env);
    if (cmd.kind !== 'permafrost') continue;
    const { options } = parseCommandLine(cmd.args, { env: env as NodeJS.ProcessEnv });
    out.add(options.archiveDir);
    if (options.logFile !== undefined) out.add(dirname(options.logFile));
  }
  return [...out];
}
