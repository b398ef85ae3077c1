/** A sharded target as the operations see it: the control objects, and each shard as an ordinary target. */
import type { ConditionalStore } from '../../backend/backend.ts';
import type { TargetContext } from '../context.ts';
import type { Reporter } from '../reporter.ts';

export interface ShardedTarget {
  /** the store of the plans and the catalogue (`<URL>/permafrost-shards/`) */
  readonly control: ConditionalStore;
  /** the control folder's URL, for messages */
  readonly controlUrl: string;
  readonly reporter: Reporter;
  readonly now: () => number;
  /** shard `index` of `shards` as its own target (`<URL>/shard-<i>-of-<N>`, its own cache); the caller closes it */
  openShard(index: number, shards: number): TargetContext;
}
