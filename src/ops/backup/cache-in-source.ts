/**
 * The cache inside the source: the users' guide puts `--archive-dir /mnt/backup/src/config`
 * under `SRC=/mnt/backup/src`, so every backup would store its own cache and lock file, changed
 * while it is read. The archive dir (the cache's parent: `--archive-dir/NAME` holds the cache of
 * backup NAME, beside those of other names) is left out of the backup, with a notice saying so.
 */
import { realpath } from 'node:fs/promises';
import * as path from 'node:path';
import type { Selection } from '../../fs/selection.ts';
import type { Reporter } from '../reporter.ts';

/** `selection`, with the archive dir excluded when it lies inside `source` (compared after resolving links). */
export async function excludeCacheInSource(selection: Selection, source: string, cacheDir: string, reporter: Reporter): Promise<Selection> {
  const archiveDir = path.dirname(path.resolve(cacheDir));
  const [src, cache] = await Promise.all([realpath(source), realpath(archiveDir).catch(() => archiveDir)]);
  const rel = path.relative(src, cache);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return selection;
  const name = rel.split(path.sep).reduce((parent, part) => selection.childName(parent, Buffer.from(part)), selection.rootName);
  reporter.notice(
    `the cache ${archiveDir} (--archive-dir) lies inside the source ${source}: it is not backed up (put it outside the source to silence this)`,
  );
  return selection.excluding(name);
}
