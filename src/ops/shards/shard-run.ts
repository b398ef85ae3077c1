/**
 * What one worker does in this run, decided from the catalogue alone (pure), so that N workers
 * started at once agree: all shards of a generation switch to a new full together. The newest
 * generation is joined while it is incomplete and this shard has no full in it (a retried or late
 * worker); once this shard has its full there, the worker runs incrementals on it, until a full
 * is asked for (`full`, or `--full-if-older-than` and the generation started before that time),
 * which opens the next generation, which the other workers then join.
 */
import { ExitCode, PermafrostError } from '../../core/errors.ts';
import { newestGeneration, type Catalogue } from './catalogue.ts';

export type ShardRun =
  /** a full of this shard: in a new generation, or joining one another worker opened */
  | { readonly kind: 'full'; readonly generation: number; readonly opens: boolean }
  | { readonly kind: 'incremental'; readonly generation: number };

export interface ShardRunRequest {
  readonly mode: 'full' | 'incremental' | 'auto';
  readonly shards: number;
  readonly index: number;
  /** --full-if-older-than, resolved to a time */
  readonly fullIfOlderThan?: number;
}

export function decideShardRun(c: Catalogue, req: ShardRunRequest): ShardRun {
  const newest = newestGeneration(c);
  if (newest === undefined) {
    if (req.mode === 'incremental')
      throw new PermafrostError(ExitCode.noSignatures, 'no shard generation at the target yet: run a full first');
    return { kind: 'full', generation: 1, opens: true };
  }
  const next = { kind: 'full', generation: newest.generation + 1, opens: true } as const;
  if (newest.shards !== req.shards) {
    if (req.mode === 'full') return next;
    throw new PermafrostError(
      ExitCode.usage,
      `the target's generation ${newest.generation} has ${newest.shards} shards, not ${req.shards}: give --shards ${newest.shards}, or make a new generation with full --shards ${req.shards}`,
    );
  }
  const mine = newest.done[String(req.index)];
  if (mine === undefined) {
    if (req.mode === 'incremental')
      throw new PermafrostError(
        ExitCode.noSignatures,
        `shard ${req.index} has no full in generation ${newest.generation} yet (another worker opened it): run without "incremental" to make it`,
      );
    return { kind: 'full', generation: newest.generation, opens: false };
  }
  if (req.mode === 'full') return next;
  if (req.mode === 'auto' && req.fullIfOlderThan !== undefined && newest.started < req.fullIfOlderThan) return next;
  return { kind: 'incremental', generation: newest.generation };
}
