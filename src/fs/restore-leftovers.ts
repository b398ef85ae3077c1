import { promises as fsp, type Dirent } from 'node:fs';
import { dirname } from 'node:path';
import { processAlive } from '../core/process-alive.ts';

/**
 * What a restore that was killed (SIGKILL, power loss) leaves: entries under RestoreWriter's
 * temporary names, `.permafrost-restore.<pid>.<n>`, in the directories it was writing. Only such
 * names whose process is gone are ever touched: never a user's file, never a running restore's.
 */
const TEMP_NAME = /^\.permafrost-restore\.(\d+)\.\d+$/;

/** RestoreWriter's temporary name for its `n`-th entry. */
export function restoreTempName(n: number): string {
  return `.permafrost-restore.${process.pid}.${n}`;
}

/** Whether `name` is a temporary name of a restore process that no longer runs. */
export function isKilledRestoreTemp(name: Buffer): boolean {
  const m = TEMP_NAME.exec(name.toString('latin1'));
  if (!m) return false;
  const pid = Number(m[1]);
  return pid !== process.pid && !processAlive(pid);
}

/**
 * Removes a killed restore's temporary entries in the tree at `dest` (not following symlinks) and
 * beside it (a single-file restore writes its temporary name in the destination's directory).
 * Directories are never removed: RestoreWriter never creates one under a temporary name. Returns
 * how many were removed.
 */
export async function removeKilledRestoreLeftovers(dest: Buffer): Promise<number> {
  let removed = 0;
  for (const found of [...(await leftoversIn(parentOf(dest), false)), ...(await leftoversIn(dest, true))]) {
    await fsp.unlink(found);
    removed++;
  }
  return removed;
}

/** Whether the tree at `dest` holds a killed restore's temporary entries (looks at up to `limit` entries). */
export async function holdsKilledRestoreLeftovers(dest: Buffer, limit = 100_000): Promise<boolean> {
  return (await leftoversIn(dest, true, 1, limit)).length > 0;
}

async function leftoversIn(root: Buffer, recursive: boolean, max = Infinity, limit = Infinity): Promise<Buffer[]> {
  const found: Buffer[] = [];
  const dirs = [root];
  let seen = 0;
  while (dirs.length > 0 && found.length < max && seen < limit) {
    const dir = dirs.pop()!;
    let entries: Dirent<Buffer>[];
    try {
      entries = await fsp.readdir(dir, { encoding: 'buffer', withFileTypes: true });
    } catch (e) {
      // not a directory (a single-file destination), gone, or unreadable: nothing of ours to find
      if (['ENOENT', 'ENOTDIR', 'EACCES'].includes((e as NodeJS.ErrnoException).code ?? '')) continue;
      throw e;
    }
    for (const entry of entries) {
      seen++;
      const path = Buffer.concat([dir, SLASH, entry.name]);
      if (entry.isDirectory()) {
        if (recursive) dirs.push(path);
      } else if (isKilledRestoreTemp(entry.name)) found.push(path);
    }
  }
  return found;
}

const SLASH = Buffer.from('/');

function parentOf(path: Buffer): Buffer {
  return Buffer.from(dirname(path.toString('latin1')), 'latin1');
}
