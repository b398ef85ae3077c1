/**
 * Which regular files count as sparse: those that had holes when a backup read them get the
 * `PERMAFROST.sparse` record, and a restore gives them holes again. Small files are never
 * counted, so that a restore of many small files needs no extra system call per file.
 */
export const SPARSE_MIN_SIZE = 1024 * 1024;

/** Fewer 512-byte blocks allocated than the length needs: the file has holes (st_blocks is in 512-byte units). */
export function hasHoles(size: number, blocks: number): boolean {
  return size > SPARSE_MIN_SIZE && blocks * 512 < size;
}
