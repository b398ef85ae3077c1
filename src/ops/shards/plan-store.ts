/**
 * The plan of a generation at the target, created only if absent: the first worker to write it
 * wins and every other one reads the winner's, so all workers use one plan even when the tree
 * changed between their starts. A worker reads first and plans only when there is no plan yet.
 */
import type { ConditionalStore } from '../../backend/backend.ts';
import { ExitCode, PermafrostError } from '../../core/errors.ts';
import { planName } from './layout.ts';
import { planFromJson, planToJson, type ShardPlan } from './plan.ts';

export interface StoredPlan {
  readonly plan: ShardPlan;
  readonly generation: number;
  readonly created: number;
  /** whether this worker wrote it (it made the plan) */
  readonly madeHere: boolean;
}

export async function readPlan(store: ConditionalStore, generation: number, where: string): Promise<StoredPlan | null> {
  const read = await store.read(planName(generation));
  if (read === null) return null;
  try {
    const p = planFromJson(JSON.parse(read.bytes.toString('utf8')));
    return { ...p, madeHere: false };
  } catch (err) {
    throw new PermafrostError(
      ExitCode.corruptArchive,
      `the shard plan ${where}/${planName(generation)} is unreadable: ${(err as Error).message}`,
    );
  }
}

export async function readOrCreatePlan(
  store: ConditionalStore,
  generation: number,
  where: string,
  make: () => Promise<ShardPlan>,
  now: number,
): Promise<StoredPlan> {
  const existing = await readPlan(store, generation, where);
  if (existing) return existing;
  const plan = await make();
  const bytes = Buffer.from(`${JSON.stringify(planToJson(plan, generation, now))}\n`);
  if ((await store.write(planName(generation), bytes, 'absent')) !== null) return { plan, generation, created: now, madeHere: true };
  // another worker created it first: theirs is the plan
  const theirs = await readPlan(store, generation, where);
  if (!theirs) throw new PermafrostError(ExitCode.backendError, `the shard plan ${where}/${planName(generation)} was created and is gone`);
  return theirs;
}
