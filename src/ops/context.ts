import type { Backend } from '../backend/backend.ts';
import type { MetadataCache } from '../archive/metadata-cache.ts';
import type { NamePrefixes } from '../codec/remote-name.ts';
import type { Reporter } from './reporter.ts';
import type { Encryption } from '../crypto/encryption.ts';
import type { TargetLockTiming } from '../archive/target-lock.ts';

/**
 * Everything an operation needs about the target, passed explicitly (no global config), so that
 * operations can run side by side in one process (tests, the daemon).
 */
export interface TargetContext {
  readonly backend: Backend;
  readonly cache: MetadataCache;
  readonly prefixes: NamePrefixes;
  readonly reporter: Reporter;
  /** Seconds since the epoch, whole; `--current-time` fixes it. */
  readonly now: () => number;
  /** `--current-time` given: `now` never moves, so waiting for it is pointless */
  readonly clockFixed?: boolean;
  /** Where volumes are staged before upload (`--tempdir`). */
  readonly tempRoot: string;
  /** Whether remote volumes and signatures are gzipped (not `--no-compression`). */
  readonly compress: boolean;
  /** `--compress-level`: deflate level 1-9 of what is compressed; the archive layer's default when absent */
  readonly compressLevel?: number;
  /** `--jobs N`: threads that may compress (and hash) at once; 1 when absent */
  readonly jobs?: number;
  /**
   * How `.gpg` files are written and read (docs/duplicity-format.md §6); null with `--no-encryption`. Reading a file
   * whose name is not `.gpg` never needs it.
   */
  readonly encryption: Encryption | null;
  /** The target lock's refresh and staleness times; the defaults when absent (tests shorten them). */
  readonly targetLockTiming?: TargetLockTiming;
  /**
   * Where a run registers what it must undo when a signal (SIGTERM, SIGINT) stops it: the target
   * lock it holds. Absent in-process (tests), where nothing stops the process from outside.
   */
  readonly interrupts?: InterruptHooks;
}

/** Registers `undo` to run when the process is stopped by a signal; the returned function unregisters it. */
export interface InterruptHooks {
  onInterrupt(undo: () => Promise<void>): () => void;
}
