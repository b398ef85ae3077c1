/**
 * How operations talk to the user. The CLI implements it (verbosity filter, --log-file records,
 * progress bar); tests use a collecting implementation. Operations never print directly.
 */
export interface ProgressState {
  readonly phase: string;
  readonly filesDone: number;
  readonly bytesDone: number;
  /** Known only when a pre-scan ran (--progress); otherwise undefined. */
  readonly filesTotal?: number;
  readonly bytesTotal?: number;
  readonly currentPath?: string;
  /** what filesDone counts (default `files`; a thaw counts `volumes`) */
  readonly itemLabel?: string;
}

export interface Reporter {
  /** duplicity level 0 */
  error(message: string): void;
  /** level 2 */
  warning(message: string): void;
  /** level 3, the default */
  notice(message: string): void;
  /** level 5: per-file change lines (`A path`, `M path`, `D path`) go here */
  info(message: string): void;
  /** level 9 */
  debug(message: string): void;
  /**
   * A machine-readable record for --log-file, in duplicity's form `LEVEL CODE [extra]` followed by
   * the human lines; `code` is duplicity's log code (e.g. 3 collection status, 10 file list).
   */
  record?(level: 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR', code: number, extra: string, human: string): void;
  progress?(state: ProgressState): void;
  /**
   * The operation's work is over (its last state was sent): the progress display ends here, so
   * that the summary printed next comes after it.
   */
  progressDone?(): void;
}

/** Discards everything: for library use and tests that do not look at messages. */
export const silentReporter: Reporter = {
  error() {},
  warning() {},
  notice() {},
  info() {},
  debug() {},
};
