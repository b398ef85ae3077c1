/**
 * Errors that end an operation with a documented exit code (see README "Exit codes"). The message
 * is one line for humans and never contains secrets.
 */
export const ExitCode = {
  ok: 0,
  /** verify found differences (duplicity uses 1) */
  differences: 1,
  /** bad command line or options */
  usage: 2,
  /** the backup finished but some source files could not be read */
  completedWithErrors: 4,
  /** source missing or not a directory */
  badSource: 10,
  /** restore destination exists and is not empty (duplicity: 11) */
  restoreDestExists: 11,
  /** no backup chain at the target, or --time before the first backup */
  noChain: 12,
  /** the new set's time (--current-time, or a clock behind by more than a second) is not after the target's last backup */
  timeNotAfterLast: 13,
  /** incremental asked for without a chain (duplicity: 17) */
  noSignatures: 17,
  /** a volume's SHA1 does not match its manifest (duplicity: 21) */
  hashMismatch: 21,
  /** a volume or manifest is truncated or does not parse */
  corruptArchive: 22,
  /** another run holds the lock (the cache's or the target's), or this run lost the target lock */
  locked: 23,
  /** a write would replace an object at the target: names are never overwritten */
  objectExists: 24,
  /** the target URL is not understood */
  badUrl: 50,
  /** the target cannot be read or written */
  backendError: 51,
  /** a local path (restore destination, --archive-dir, --tempdir) cannot be read or written, or a cached file went bad in use */
  localIo: 52,
  /** an incremental from another host or directory than the chain's (duplicity: 42) */
  sourceMismatch: 42,
  /**
   * a file cannot be encrypted or decrypted: no passphrase or key, or the wrong one (duplicity:
   * gpg_failed 31); or the encryption given does not fit the chain's, found before anything is written
   */
  decryptFailed: 31,
  /** encrypted data fails its integrity check (MDC): tampered or corrupt; or lacks a good --sign-key signature (duplicity: 22) */
  integrityFailed: 32,
  /** restore --thaw / thaw without --wait: archived volumes are still being restored; run again later (EX_TEMPFAIL) */
  thawInProgress: 75,
  /** something we did not foresee: a bug */
  internal: 30,
  /** `daemon --once`: at least one job of the run failed or was interrupted (the report says which) */
  jobFailed: 60,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class PermafrostError extends Error {
  readonly exitCode: ExitCodeValue;
  constructor(exitCode: ExitCodeValue, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.exitCode = exitCode;
    this.name = 'PermafrostError';
  }
}
