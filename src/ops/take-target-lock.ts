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
