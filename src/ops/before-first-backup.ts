import type { BackupChain, Collection } from '../archive/collection.ts';
import { timeToString } from '../codec/time-string.ts';
import { ExitCode, PermafrostError } from '../core/errors.ts';

/**
 * `--time` before the first backup names no state: restore and list-current-files both end with
 * exit 12 there instead of quietly using the first backup (`chainAtTime` falls back to it).
 */
export function refuseTimeBeforeFirstBackup(collection: Collection, chain: BackupChain, time: number): void {
  if (time < chain.startTime && collection.chains[0] === chain) {
    throw new PermafrostError(
      ExitCode.noChain,
      `--time ${timeToString(time)} is before the first backup (${timeToString(chain.startTime)})`,
    );
  }
}
