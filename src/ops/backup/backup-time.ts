import { setTimeout as sleep } from 'node:timers/promises';
import { timeToString } from '../../codec/time-string.ts';
import type { TargetContext } from '../context.ts';
import { ExitCode, PermafrostError } from '../../core/errors.ts';

/**
 * How far the clock may be behind the newest backup and still be waited for: a backup run right
 * after another (a script, the daemon) lands in the same second. duplicity sleeps 2 s there too.
 */
const MAX_WAIT_SECONDS = 2;

/**
 * The time of a new set, which must be after `last` (the end of the set an incremental extends, or
 * of the newest chain for a full): names carry whole seconds, so an equal time would reuse names
 * and a smaller one would break the chain's order. Without --current-time a clock in the same
 * second (or one behind) is waited for; an explicit --current-time at or before `last`, or a clock
 * further behind, is an error (exit 13) that names both times.
 */
export async function newSetTime(ctx: TargetContext, last: number | null): Promise<number> {
  let now = ctx.now();
  if (last === null || now > last) return now;
  const at = ctx.backend.displayUrl;
  if (ctx.clockFixed) {
    throw new PermafrostError(
      ExitCode.timeNotAfterLast,
      `--current-time ${timeToString(now)} is not after the last backup at ${at} (${timeToString(last)}); a new set must be later`,
    );
  }
  if (last - now >= MAX_WAIT_SECONDS) {
    throw new PermafrostError(
      ExitCode.timeNotAfterLast,
      `the clock (${timeToString(now)}) is behind the last backup at ${at} (${timeToString(last)}); check the system clock`,
    );
  }
  ctx.reporter.info(`The last backup at ${at} ends at ${timeToString(last)}, this very second: waiting for the clock to pass it`);
  const giveUp = Date.now() + (MAX_WAIT_SECONDS + 1) * 1000;
  while ((now = ctx.now()) <= last) {
    if (Date.now() > giveUp) {
      throw new PermafrostError(
        ExitCode.timeNotAfterLast,
        `the clock does not move past the last backup at ${at} (${timeToString(last)}); check the system clock`,
      );
    }
    await sleep(1000 - (Date.now() % 1000) + 5);
  }
  return now;
}
