/**
 * This worker's shard index: `--shard-index`, else the engine's variable (Kubernetes Indexed
 * Jobs set JOB_COMPLETION_INDEX, AWS Batch array jobs AWS_BATCH_JOB_ARRAY_INDEX).
 */
import { ExitCode, PermafrostError } from '../../core/errors.ts';

export const INDEX_VARIABLES = ['JOB_COMPLETION_INDEX', 'AWS_BATCH_JOB_ARRAY_INDEX'] as const;

/** The index and where it came from; null when none is given. */
export function shardIndexFrom(option: number | undefined, env: NodeJS.ProcessEnv): { index: number; from: string } | null {
  if (option !== undefined) return { index: option, from: '--shard-index' };
  for (const name of INDEX_VARIABLES) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    if (!/^[0-9]+$/.test(raw))
      throw new PermafrostError(ExitCode.usage, `${name} must be a shard index (0, 1, ...), not ${JSON.stringify(raw)}`);
    return { index: Number(raw), from: name };
  }
  return null;
}

/** The index a sharded backup needs, checked against the shard count. */
export function requireShardIndex(option: number | undefined, env: NodeJS.ProcessEnv, shards: number): number {
  const found = shardIndexFrom(option, env);
  if (found === null)
    throw new PermafrostError(
      ExitCode.usage,
      `--shards ${shards} needs this worker's index: --shard-index I, JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX`,
    );
  if (found.index >= shards)
    throw new PermafrostError(
      ExitCode.usage,
      `shard index ${found.index} (from ${found.from}) is out of range for --shards ${shards} (0 to ${shards - 1})`,
    );
  return found.index;
}
