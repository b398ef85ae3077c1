import type { PathIndex } from './path-index.ts';

/** The entry types duplicity stores. Sockets are skipped, hard links are stored as regular files. */
export type EntryType = 'reg' | 'dir' | 'sym' | 'fifo' | 'chr' | 'blk';

/**
 * What a backup keeps about one path, besides its data. Shared by the source walk, the tar codec,
 * signatures and the restore writer.
 */
export interface EntryMeta {
  readonly index: PathIndex;
  readonly type: EntryType;
  /** S_IMODE: permission bits plus setuid, setgid and sticky. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** '' when the id has no name. */
  readonly uname: string;
  readonly gname: string;
  /** Whole seconds since the epoch; may be negative (before 1970). */
  readonly mtime: number;
  /** Bytes of a regular file's content; 0 for other types; -1 when unknown (signatures duplicity wrote). */
  readonly size: number;
  /** Symlink target as raw bytes; empty for other types. */
  readonly linkname: Buffer;
  readonly devmajor: number;
  readonly devminor: number;
  /**
   * A regular file that had holes when it was backed up (the `PERMAFROST.sparse` record on its
   * volume entry): restored with holes. Absent otherwise, and in everything duplicity wrote.
   */
  readonly sparse?: true;
}
