/**
 * The tree as the shard planner needs it: bytes and entries per directory, from one stat-level
 * walk (lstat and readdir, no file is opened), with the backup's own selection applied. Memory is
 * one small record per directory plus the few files big enough to be placed by name.
 */
import type { Selection } from '../../fs/selection.ts';
import { walkSource } from '../../fs/walk.ts';
import { emptyDir, type DirSummary } from './plan.ts';

/**
 * A file is kept by name when it holds at least this fraction of the bytes seen so far: the
 * planner names files above 1/(64 N) of the total, and a running threshold keeps every one of
 * those (the total only grows) while keeping O(64 log(total)) names at most.
 */
const BIG_FILE_FRACTION = 1 / 4096;

export async function summarizeTree(
  source: string,
  selection: Selection,
  onError: (path: Buffer, err: Error) => void,
): Promise<DirSummary> {
  const root = emptyDir();
  const stack: DirSummary[] = [root];
  let seenBytes = 0;
  const close = (depth: number) => {
    while (stack.length > depth) {
      const done = stack.pop()!;
      const parent = stack[stack.length - 1];
      if (parent) {
        parent.bytes += done.bytes;
        parent.entries += done.entries;
      }
    }
  };
  for await (const entry of walkSource(Buffer.from(source), selection, onError, { statMode: 'adaptive' })) {
    const index = entry.meta.index;
    if (index.length === 0) continue;
    close(index.length);
    const parent = stack[stack.length - 1]!;
    const name = Buffer.from(index[index.length - 1]!).toString('latin1');
    if (entry.meta.type === 'dir') {
      const dir = emptyDir();
      parent.dirs.set(name, dir);
      stack.push(dir);
      continue;
    }
    const size = entry.meta.type === 'reg' ? entry.meta.size : 0;
    seenBytes += size;
    parent.bytes += size;
    parent.entries += 1;
    parent.directBytes += size;
    parent.directEntries += 1;
    if (size > 0 && size >= seenBytes * BIG_FILE_FRACTION) parent.bigFiles.set(name, size);
  }
  close(1);
  return root;
}
