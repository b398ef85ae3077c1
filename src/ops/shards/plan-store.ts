/**
 * The plan of a generation at the target, created only if absent: the first worker to write it
 * wins and every other one reads the winner's, so all workers use one plan even when the tree
 * changed between their starts.
 *
 * So that N workers starting at once do not all walk the tree (N full stat walks of one dataset
 * at the same moment), the first to create a claim object (`plan-<g>.claim`, create-only) walks,
 * rewriting the claim while it does; the others wait for the plan. A claim that nobody rewrote
 * for `staleMs` (its walker died) no longer holds anyone back: the waiter walks itself. The claim
 * only saves work: correctness rests on the plan's create-only write alone.
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

export interface PlanClaimTiming {
  /** how often the walker rewrites its claim */
  readonly refreshMs: number;
  /** a claim not rewritten for this long is given up on */
  readonly staleMs: number;
  /** the first wait between looks for the plan (it backs off to 10 times this) */
  readonly pollMs: number;
}

/** A walk of a billion files takes hours: the claim is rewritten every minute and stale after ten without. */
export const DEFAULT_PLAN_CLAIM_TIMING: PlanClaimTiming = { refreshMs: 60_000, staleMs: 600_000, pollMs: 500 };

function claimName(generation: number): string {
  return `plan-${generation}.claim`;
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
  timing: PlanClaimTiming = DEFAULT_PLAN_CLAIM_TIMING,
  notice: (message: string) => void = () => {},
): Promise<StoredPlan> {
  const existing = await readPlan(store, generation, where);
  if (existing) return existing;
  const claim = claimName(generation);
  const body = () => Buffer.from(`${JSON.stringify({ pid: process.pid, at: new Date().toISOString() })}\n`);
  let tag = await store.write(claim, body(), 'absent');
  if (tag === null) {
    notice(`Waiting for another worker's plan of generation ${generation}`);
    const theirs = await waitForPlan(store, generation, where, timing);
    if (theirs) return theirs;
    notice(`The worker planning generation ${generation} stopped: planning here`);
  }
  // rewrite the claim while walking, so that waiters know the walk goes on
  let walking = true;
  const refresher = (async () => {
    while (walking) {
      await sleep(timing.refreshMs, () => !walking);
      if (!walking || tag === null) break;
      tag = await store.write(claim, body(), { tag }).catch(() => null);
    }
  })();
  let plan: ShardPlan;
  try {
    plan = await make();
  } finally {
    walking = false;
    await refresher;
  }
  const bytes = Buffer.from(`${JSON.stringify(planToJson(plan, generation, now))}\n`);
  if ((await store.write(planName(generation), bytes, 'absent')) !== null) return { plan, generation, created: now, madeHere: true };
  // another worker created it first: theirs is the plan
  const theirs = await readPlan(store, generation, where);
  if (!theirs) throw new PermafrostError(ExitCode.backendError, `the shard plan ${where}/${planName(generation)} was created and is gone`);
  return theirs;
}

/** The plan once it is written; null when the claim went stale (or vanished) with no plan. */
async function waitForPlan(
  store: ConditionalStore,
  generation: number,
  where: string,
  timing: PlanClaimTiming,
): Promise<StoredPlan | null> {
  let seenTag: string | null = null;
  let seenAt = Date.now();
  let pause = timing.pollMs;
  for (;;) {
    const plan = await readPlan(store, generation, where);
    if (plan) return plan;
    const claim = await store.read(claimName(generation));
    if (claim === null) return readPlan(store, generation, where);
    if (claim.tag !== seenTag) {
      seenTag = claim.tag;
      seenAt = Date.now();
    } else if (Date.now() - seenAt > timing.staleMs) return null;
    await sleep(pause, () => false);
    pause = Math.min(pause * 2, timing.pollMs * 10);
  }
}

/** Sleeps `ms`, in steps of at most 100 ms while `stop` is false. */
async function sleep(ms: number, stop: () => boolean): Promise<void> {
  const end = Date.now() + ms;
  while (!stop() && Date.now() < end) await new Promise((r) => setTimeout(r, Math.min(100, end - Date.now())));
}
