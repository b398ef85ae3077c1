/**
 * `/api/targets/:id/...`: a target's status, retention preview, files, restore plan and thaw.
 * The shapes are the operations' --json ones (collection-status --costs, remove-all-but-n-full
 * --dry-run, thaw --dry-run) with what the pages need added. Reads only listings, HEADs,
 * manifests, signatures and the cache; POST thaw is the one action, and needs --ui-actions.
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import { buildCollection, type BackupSet, type Collection } from '../archive/collection.ts';
import type { RemoteObjectInfo } from '../backend/backend.ts';
import { parseTimeSpec } from '../codec/time-string.ts';
import { ExitCode, PermafrostError } from '../core/errors.ts';
import { indexToDisplay } from '../core/path-index.ts';
import type { RestoreTier } from '../core/restore-tier.ts';
import { listCurrentFiles } from '../ops/list/list-files.ts';
import { earlyDeletion, retention } from '../ops/retention/retention.ts';
import { collectionStatus, type SetStatus } from '../ops/status/status.ts';
import { priceCollection } from '../ops/status/storage-costs.ts';
import { prepareThaw } from '../ops/thaw/prepare-thaw.ts';
import { thawJson } from '../ops/thaw/thaw-json.ts';
import { minimumDays } from '../pricing/early-deletion.ts';
import type { PricingTable } from '../pricing/pricing-table.ts';
import type { DashboardModel } from './dashboard-model.ts';
import type { TargetReader } from './target-reader.ts';
import type { DashboardTarget } from './targets.ts';
import { commonPath, type ThawTracker } from './thaw-tracker.ts';
import { verifyOfSet, type VerifyRecorder } from './verify-records.ts';

export interface TargetApiOptions {
  readonly model: DashboardModel;
  readonly reader: TargetReader;
  readonly thaws: ThawTracker;
  /** the daemon's verify runs: each set's `verify` */
  readonly verifies: VerifyRecorder;
  readonly actionsEnabled: boolean;
  readonly redact: (s: string) => string;
}

class BadRequest extends Error {}

const TIERS: readonly RestoreTier[] = ['Expedited', 'Standard', 'Bulk'];

export const ACTIONS_OFF =
  'starting a thaw from the dashboard is off: it costs money; start the daemon with --ui-actions (or PERMAFROST_UI_ACTIONS=1) to allow it';

export function targetRoutes(o: TargetApiOptions): Hono {
  const { model, reader } = o;
  const api = new Hono();

  /**
   * `syncsCache`: the read brings the local cache in line with the target's listing, which would
   * drop the files a backup of the target is writing now; such reads wait until its job ends.
   */
  const withTarget = async (c: Context, fn: (t: DashboardTarget) => Promise<Response>, syncsCache = false) => {
    const t = model.target(c.req.param('id') ?? '');
    if (!t) return c.json({ error: `no target ${c.req.param('id')} (the targets are those of the daemon's dup jobs)` }, 404);
    const busy = syncsCache ? model.busyWith(t) : null;
    if (busy !== null) return c.json({ error: `job ${busy} is writing to this target now: try again when it ends`, busyWith: busy }, 409);
    try {
      return await fn(t);
    } catch (err) {
      if (err instanceof BadRequest) return c.json({ error: err.message }, 400);
      // the operations' own one-line errors (no chain at that time, a missing volume, ...)
      if (err instanceof PermafrostError)
        return c.json({ error: o.redact(err.message), exitCode: err.exitCode }, err.exitCode === ExitCode.noChain ? 404 : 409);
      throw err;
    }
  };

  api.get('/:id/status', (c) =>
    withTarget(c, async (t) =>
      c.json(
        await reader.read(t, async (ctx, pricing) => {
          const status = await collectionStatus(ctx);
          const collection = buildCollection(await ctx.backend.list(), ctx.prefixes);
          const now = ctx.now();
          const windows = (s: SetStatus) => setWindow(findSet(collection, s), pricing, now);
          const verifies = o.verifies.records(t);
          const verifyOf = (chainStart: number, s: SetStatus) => {
            const v = verifyOfSet(verifies, chainStart, s.endTime);
            return v ? { verify: v } : {};
          };
          return {
            ...status,
            id: t.id,
            target: t.url,
            costs: priceCollection(collection, pricing, now),
            chains: status.chains.map((chain) => ({
              ...chain,
              sets: chain.sets.map((s) => ({ ...s, ...windows(s), ...verifyOf(chain.startTime, s) })),
            })),
            orphanedSets: status.orphanedSets.map((s) => ({ ...s, ...windows(s) })),
            incompleteSets: status.incompleteSets.map((s) => ({ ...s, ...windows(s) })),
          };
        }),
      ),
    ),
  );

  api.get('/:id/retention', (c) =>
    withTarget(c, async (t) => {
      const keepFull = Number(c.req.query('keepFull') ?? '1');
      if (!Number.isInteger(keepFull) || keepFull < 1) throw new BadRequest('keepFull: a whole number of full backups to keep, at least 1');
      return c.json(
        await reader.read(t, async (ctx, pricing) => {
          const result = await retention(
            ctx,
            { mode: 'remove-all-but-n-full', count: keepFull },
            {
              force: false,
              allowEarlyDeletion: false,
              dryRun: true,
              pricing,
            },
          );
          const collection = buildCollection(await ctx.backend.list(), ctx.prefixes);
          const charge = new Map(result.earlyDeletion.objects.map((x) => [x.name, x.charge]));
          const deletes = result.plan.chains.flatMap((chain) => {
            const c = collection.chains.find((x) => x.startTime === chain.startTime && x.endTime === chain.endTime);
            if (!c) return [];
            return [c.full, ...c.incs].map((s) => {
              const objects = setObjects(s);
              return {
                setTime: new Date(setTime(s) * 1000).toISOString(),
                kind: s.type === 'full' ? 'full' : 'incremental',
                volumes: s.volumes.size,
                bytes: objects.reduce((n, x) => n + x.size, 0),
                storageClass: setClass(s),
                earlyDeletionUsd: objects.reduce((n, x) => n + (charge.get(x.name) ?? 0), 0),
              };
            });
          });
          return { keepFull, deletes, earlyDeletionUsd: result.earlyDeletion.total, retention: result };
        }),
      );
    }),
  );

  api.get('/:id/files', (c) =>
    withTarget(
      c,
      async (t) => {
        const dir = cleanPath(c.req.query('dir') ?? '');
        return c.json(
          await reader.read(t, async (ctx) => {
            const time = timeParam(c.req.query('time'), ctx.now());
            const entries: { name: string; path: string; type: string; size: number; mtime: number }[] = [];
            for await (const meta of listCurrentFiles(ctx, time)) {
              if (meta.index.length === 0) continue;
              const path = indexToDisplay(meta.index);
              const slash = path.lastIndexOf('/');
              if ((slash < 0 ? '' : path.slice(0, slash)) !== dir) continue;
              entries.push({ name: path.slice(slash + 1), path, type: meta.type, size: meta.size, mtime: meta.mtime });
            }
            return { time: time === undefined ? null : new Date(time * 1000).toISOString(), dir, entries };
          }),
        );
      },
      true,
    ),
  );

  api.get('/:id/restore-plan', (c) =>
    withTarget(
      c,
      async (t) => {
        const tier = tierParam(c.req.query('tier'));
        const paths = (c.req.queries('path') ?? []).map(cleanPath);
        const within = commonPath(paths);
        return c.json(
          await reader.read(t, async (ctx, pricing) => {
            const time = timeParam(c.req.query('time'), ctx.now());
            const prepared = await prepareThaw(ctx, {
              ...(time !== undefined ? { time } : {}),
              ...(within ? { fileToRestore: within } : {}),
              tier,
              ...(t.options.days !== undefined ? { days: t.options.days } : {}),
              pricing,
            });
            return thawJson(prepared, null, { paths, costUsd: prepared.quotes.find((q) => q.tier === tier)?.total ?? 0 });
          }),
        );
      },
      true,
    ),
  );

  api.get('/:id/thaw', (c) => withTarget(c, async (t) => c.json({ target: t.id, ...(await o.thaws.state(t)) })));

  api.post('/:id/thaw', (c) =>
    withTarget(
      c,
      async (t) => {
        if (!o.actionsEnabled) return c.json({ error: ACTIONS_OFF }, 403);
        let body: { time?: unknown; paths?: unknown; tier?: unknown };
        try {
          body = (await c.req.json()) as typeof body;
        } catch {
          throw new BadRequest('expected a JSON body {time, paths, tier}');
        }
        const tier = tierParam(typeof body.tier === 'string' ? body.tier : undefined);
        const paths = Array.isArray(body.paths) ? body.paths.map((p) => cleanPath(String(p))) : [];
        const time =
          body.time === undefined || body.time === null ? undefined : timeParam(String(body.time), Math.floor(Date.now() / 1000));
        const within = commonPath(paths);
        const started = await o.thaws.start(t, { tier, ...(time !== undefined ? { time } : {}), ...(within ? { path: within } : {}) });
        return c.json(started, 202);
      },
      true,
    ),
  );

  return api;
}

/** `a/b`, without leading or trailing slashes; `..` is refused. */
function cleanPath(p: string): string {
  const clean = p.replace(/^\/+|\/+$/g, '');
  if (clean === '.' || clean === '') return '';
  if (clean.split('/').some((s) => s === '..' || s === '')) throw new BadRequest(`bad path ${JSON.stringify(p)}`);
  return clean;
}

/** epoch seconds, an ISO time, or a duplicity time string (`3D`, `2026-11-01`); absent: the latest backup. */
function timeParam(t: string | undefined, now: number): number | undefined {
  if (t === undefined || t === '') return undefined;
  if (/^\d+$/.test(t)) return Number(t);
  try {
    return parseTimeSpec(t, now);
  } catch (err) {
    const ms = Date.parse(t);
    if (Number.isFinite(ms)) return Math.floor(ms / 1000);
    throw new BadRequest((err as Error).message);
  }
}

function tierParam(t: string | undefined): RestoreTier {
  if (t === undefined || t === '') return 'Standard';
  const tier = TIERS.find((x) => x.toLowerCase() === t.toLowerCase());
  if (!tier) throw new BadRequest(`tier: one of ${TIERS.join(', ')}`);
  return tier;
}

function findSet(collection: Collection, s: SetStatus): BackupSet | undefined {
  const all = [...collection.chains.flatMap((c) => [c.full, ...c.incs]), ...collection.orphanedSets, ...collection.incompleteSets];
  return all.find((x) => x.type === s.type && x.startTime === s.startTime && x.endTime === s.endTime);
}

function setObjects(s: BackupSet): RemoteObjectInfo[] {
  return [...(s.manifest ? [s.manifest] : []), ...s.volumes.values()];
}

function setTime(s: BackupSet): number {
  return s.type === 'full' ? s.startTime : s.endTime;
}

/** The storage class of the set's volumes (the first one's; a set is written in one class). */
function setClass(s: BackupSet): string {
  return [...s.volumes.values()][0]?.storageClass ?? 'STANDARD';
}

/** When the set's minimum storage duration ends, and what deleting it now would add. */
function setWindow(
  s: BackupSet | undefined,
  pricing: PricingTable,
  now: number,
): { storageClass: string; minimumStorageUntil: string | null; earlyDeletionUsdIfDeletedNow: number } {
  if (!s) return { storageClass: 'STANDARD', minimumStorageUntil: null, earlyDeletionUsdIfDeletedNow: 0 };
  const objects = setObjects(s);
  let until = 0;
  for (const x of objects) {
    const days = minimumDays(pricing, x.storageClass);
    if (days !== undefined) until = Math.max(until, (x.lastModified ?? now) + days * 86400);
  }
  return {
    storageClass: setClass(s),
    minimumStorageUntil: until > 0 ? new Date(until * 1000).toISOString() : null,
    earlyDeletionUsdIfDeletedNow: earlyDeletion(objects, now, pricing).total,
  };
}
