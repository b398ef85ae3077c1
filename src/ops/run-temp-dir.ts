import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { processAlive } from '../core/process-alive.ts';

/**
 * A run's staging directory under --tempdir, named with the process id so that a later run can
 * remove what a killed run left (up to two volumes): directories of processes that are gone.
 */
export async function makeRunTempDir(tempRoot: string, kind: 'backup' | 'restore' | 'thaw'): Promise<string> {
  await removeStaleRunDirs(tempRoot);
  return fsp.mkdtemp(path.join(tempRoot, `permafrost-${kind}-${process.pid}-`));
}

const RUN_DIR = /^permafrost-(?:backup|restore|thaw)-(\d+)-[A-Za-z0-9]{6}$/;

async function removeStaleRunDirs(tempRoot: string): Promise<void> {
  let names: string[];
  try {
    names = await fsp.readdir(tempRoot);
  } catch {
    return;
  }
  for (const name of names) {
    const m = RUN_DIR.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    await fsp.rm(path.join(tempRoot, name), { recursive: true, force: true }).catch(() => {});
  }
}
