import { DEFAULT_TARGET_LOCK_TIMING, TargetLock, targetLockName } from '../archive/target-lock.ts';
import type { TargetContext } from './context.ts';

/**
 * Takes the target lock for an operation that writes or deletes at the target (exit 23 when
 * another run holds it). The caller releases it in a `finally`.
 */
export function takeTargetLock(ctx: TargetContext, operation: string): Promise<TargetLock> {
  return TargetLock.take(ctx.backend, {
    name: targetLockName(ctx.prefixes),
    operation,
    timing: ctx.targetLockTiming ?? DEFAULT_TARGET_LOCK_TIMING,
    warn: (m) => ctx.reporter.warning(m),
    ...(ctx.interrupts ? { onInterrupt: (undo: () => Promise<void>) => ctx.interrupts!.onInterrupt(undo) } : {}),
  });
}

/** What a writing run holds: the target lock, and the cache's lock; `release` gives both back. */
export interface WriterLocks {
  readonly target: TargetLock;
  release(): Promise<void>;
}

/**
 * The locks of a run that writes or deletes at the target: the target's first, so that a second
 * writer is told who holds the target whatever its cache, then the cache's. Released in the
 * reverse order, the target lock even when giving back the cache's fails.
 */
export async function takeWriterLocks(ctx: TargetContext, operation: string): Promise<WriterLocks> {
  const target = await takeTargetLock(ctx, operation);
  let unlockCache: () => Promise<void>;
  try {
    unlockCache = await ctx.cache.lock();
  } catch (err) {
    await target.release();
    throw err;
  }
  return {
    target,
    release: async () => {
      try {
        await unlockCache();
      } finally {
        await target.release();
      }
    },
  };
}
