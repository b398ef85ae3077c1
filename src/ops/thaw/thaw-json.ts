import { indexToDisplay } from '../../core/path-index.ts';
import type { PreparedThaw } from './prepare-thaw.ts';
import { countStates } from './thaw.ts';

/** `thaw --json`'s shape of a plan (and of the requests sent, when any): the CLI and the dashboard both print it. */
export function thawJson(p: PreparedThaw, tally: unknown, extra: object = {}): Record<string, unknown> {
  return {
    setTime: p.plan.setTime,
    path: indexToDisplay(p.plan.within),
    sets: p.plan.sets,
    volumesInSets: p.plan.volumesInSets,
    bytesInSets: p.plan.bytesInSets,
    tier: p.tier,
    days: p.days,
    estimatedHours: p.estimatedHours,
    toRequest: p.toRequest,
    counts: countStates(p.volumes),
    quotes: p.quotes,
    volumes: p.volumes.map((v) => ({
      name: v.volume.name,
      size: v.volume.size,
      storageClass: v.volume.storageClass,
      state: v.state,
      ...(v.expiry !== undefined ? { expiry: v.expiry } : {}),
    })),
    ...(tally ? { requests: tally } : {}),
    ...extra,
  };
}
