/** Steps several verbs' CLI code takes the same way: required arguments, --time, closing the target, --json's request counts. */
import { parseTimeSpec } from '../../codec/time-string.ts';
import type { TargetContext } from '../../ops/context.ts';
import type { RequestSummary } from '../../backend/request-accounting.ts';
import type { CliOptions } from '../command-line.ts';
import { UsageError } from '../../command-line/usage-error.ts';

export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new UsageError(`missing ${what}`);
  return value;
}

export function timeOption(o: CliOptions, now: number): number | undefined {
  if (o.time === undefined) return undefined;
  try {
    return parseTimeSpec(o.time, now, { timeSeparator: o.timeSeparator });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Runs an operation, then releases its target (an object store aborts uploads left open). */
export async function closing<T>(ctx: TargetContext, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } finally {
    await ctx.backend.close();
  }
}

/** --json output with the object store's request accounting (absent for file:// targets). */
export function withRequests(value: unknown, requests: RequestSummary | undefined): unknown {
  return requests ? { ...(value as object), requests } : value;
}
