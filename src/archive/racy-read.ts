import type { ChangeRules, FileStamp } from '../core/file-stamp.ts';

/**
 * Slack for the clock file systems stamp times with: Linux takes file times from a coarse clock
 * that lags the real time by up to a scheduler tick (10 ms at HZ=100), so a write just after a
 * read began can carry a time a little before it.
 */
const CLOCK_SLACK_NS = 50_000_000n;
/** FAT keeps mtimes in 2-second steps; no file system we expect is coarser. */
const COARSEST_NS = 2_000_000_000n;
const NS_PER_SEC = 1_000_000_000n;

/**
 * Git's racy-timestamp problem: whether the file, read from `readStartNs` (the wall clock when the
 * read began), could still change afterwards and keep the stamp that was taken before the read.
 * A later write stamps the file with a time no earlier than the read's start, less the clock's lag
 * and the file system's granularity; if the recorded time is older than that, a later write must
 * move it. Otherwise the signature entry is marked and the next backup reads the file again.
 *
 * The time that counts is the ctime, which every write moves and no call can set; with
 * --ignore-ctime it is the mtime.
 */
export function isRacy(stamp: FileStamp, readStartNs: bigint, rules: ChangeRules): boolean {
  const time = rules.ignoreCtime ? stamp.mtimeNs : stamp.ctimeNs;
  return time >= readStartNs - granularityNs(stamp) - CLOCK_SLACK_NS;
}

/**
 * The file system's timestamp granularity, as far as the stamp shows it: a file system with steps
 * of g nanoseconds writes only multiples of g, so the finer of the two times bounds g. A whole
 * second may be a coarse file system or an mtime set to the second (tar, touch -d): assume the
 * coarsest.
 */
export function granularityNs(stamp: FileStamp): bigint {
  const a = stepOf(stamp.mtimeNs);
  const b = stepOf(stamp.ctimeNs);
  // biome-ignore lint/complexity/useMathMinMax: bigints, which Math.min does not take
  return a < b ? a : b;
}

function stepOf(ns: bigint): bigint {
  let frac = ns % NS_PER_SEC;
  if (frac < 0n) frac += NS_PER_SEC;
  if (frac === 0n) return COARSEST_NS;
  let step = 1n;
  while (frac % (step * 10n) === 0n) step *= 10n;
  return step;
}

/** The wall clock in nanoseconds, never later than the true time (Date.now() truncates). */
export function wallClockNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}
