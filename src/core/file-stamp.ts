/**
 * What tells, without reading a regular file, that its content may have changed since a backup
 * read it: its times to the nanosecond and its inode number (restic's and borg's rule). A rewrite
 * that restores the mtime (`touch -r`) still moves the ctime; a copy put in place of the file with
 * its metadata preserved has a new inode.
 */
export interface FileStamp {
  /** nanoseconds since the epoch (negative before 1970) */
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  readonly ino: bigint;
}

/**
 * A stamp as a signature entry records it. Each field is null when the entry does not carry it
 * (signatures from duplicity or from older permafrost versions).
 */
export interface RecordedStamp {
  readonly mtimeNs: bigint | null;
  readonly ctimeNs: bigint | null;
  readonly ino: bigint | null;
  /**
   * Why the next backup must read the file again whatever the stamps say ('racy': it could change
   * after it was read without its stamps moving; 'size': it changed size while it was read), or
   * null.
   */
  readonly reread: string | null;
}

/** Which parts of the stamp the comparison uses (--ignore-ctime, --ignore-inode). */
export interface ChangeRules {
  readonly ignoreCtime: boolean;
  readonly ignoreInode: boolean;
}

export const DEFAULT_CHANGE_RULES: ChangeRules = { ignoreCtime: false, ignoreInode: false };
