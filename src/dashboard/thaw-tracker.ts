/**
 * The thaws the dashboard follows: one started with POST /api/targets/:id/thaw (only with
 * --ui-actions), and, at start, every unfinished one a thaw journal records (a thaw the dashboard
 * or `permafrost thaw` started before the daemon restarted). Following a thaw is HEAD requests
 * only, backing off from the job's --poll-interval up to 15 minutes, as `thaw --wait` does; each
 * volume whose state changes is written to the journal and sent as a `thaw` event. A request
 * that got lost is not sent again here (that needs the action): it stays `requested`.
 */
import { randomUUID } from 'node:crypto';
import { indexFromString, type PathIndex } from '../core/path-index.ts';
import type { RestoreTier } from '../core/restore-tier.ts';
import type { TargetContext } from '../ops/context.ts';
import { prepareThaw } from '../ops/thaw/prepare-thaw.ts';
import { sendThawRequests } from '../ops/thaw/prepare-thaw.ts';
import { loadJournal, type JournalVolume, type ThawJournal } from '../ops/thaw/thaw-journal.ts';
import { thawJson } from '../ops/thaw/thaw-json.ts';
import { forEachLimited, recordStates, thawStateOf, type VolumeThaw } from '../ops/thaw/thaw.ts';
import type { DashboardModel } from './dashboard-model.ts';
import type { OpenedTarget, TargetReader } from './target-reader.ts';
import type { DashboardTarget } from './targets.ts';

/** A restored copy with less than this left is shown as `expiring`. */
export const EXPIRING_SECONDS = 24 * 3600;
const MAX_POLL_SECONDS = 15 * 60;

export type VolumeState = 'requested' | 'in-progress' | 'ready' | 'expiring' | 'expired';
export const VOLUME_STATES: readonly VolumeState[] = ['requested', 'in-progress', 'ready', 'expiring', 'expired'];

export interface ThawVolumeView {
  readonly name: string;
  readonly state: VolumeState;
  readonly tier?: RestoreTier;
  readonly requestedAt?: string;
  readonly expiry?: string;
}

/** A journal entry as the dashboard shows it. */
export function journalState(v: JournalVolume, now: number): VolumeState {
  if (v.state === 'requested' || v.state === 'batch') return 'requested';
  if (v.state === 'in-progress') return 'in-progress';
  if (v.expiry === undefined) return 'ready';
  if (v.expiry <= now) return 'expired';
  return v.expiry - now < EXPIRING_SECONDS ? 'expiring' : 'ready';
}

interface Followed {
  readonly thawId: string;
  readonly target: DashboardTarget;
  readonly ctx: TargetContext;
  readonly flush: () => void;
  readonly close: () => Promise<void>;
  readonly journal: ThawJournal;
  /** the volumes not yet restored */
  readonly volumes: VolumeThaw[];
  timer?: NodeJS.Timeout;
  interval: number;
}

export interface ThawStart {
  readonly time?: number;
  readonly path?: PathIndex;
  readonly tier: RestoreTier;
}

export class ThawTracker {
  readonly #model: DashboardModel;
  readonly #reader: TargetReader;
  readonly #log: (line: string) => void;
  readonly #redact: (s: string) => string;
  readonly #followed = new Map<string, Followed>();
  /** the last journal seen per target id, for the metrics */
  readonly #journals = new Map<string, ThawJournal>();
  #stopped = false;

  constructor(o: { model: DashboardModel; reader: TargetReader; log: (line: string) => void; redact: (s: string) => string }) {
    this.#model = o.model;
    this.#reader = o.reader;
    this.#log = o.log;
    this.#redact = o.redact;
  }

  /** Volumes by state per target URL, from the journals (requested, in-progress, ready, expiring, expired). */
  countsByTarget(now: number = Date.now() / 1000): ReadonlyMap<string, Readonly<Record<string, number>>> {
    const out = new Map<string, Record<string, number>>();
    for (const [id, journal] of this.#journals) {
      const t = this.#model.target(id);
      if (!t) continue;
      const counts: Record<string, number> = Object.fromEntries(VOLUME_STATES.map((s) => [s, 0]));
      for (const v of journal.volumes.values()) counts[journalState(v, now)]!++;
      out.set(t.url, counts);
    }
    return out;
  }

  /** The target's thaw, from its journal: every volume it records, and the counts. */
  async state(t: DashboardTarget): Promise<{ following: boolean; volumes: ThawVolumeView[]; counts: Record<string, number> }> {
    const followed = this.#followed.get(t.id);
    const journal = followed?.journal ?? (await this.#reader.read(t, (ctx) => this.#loadJournal(t, ctx)));
    const now = Date.now() / 1000;
    const volumes = [...journal.volumes].map(([name, v]) => ({
      name,
      state: journalState(v, now),
      tier: v.tier,
      requestedAt: new Date(v.requestedAt * 1000).toISOString(),
      ...(v.expiry !== undefined ? { expiry: new Date(v.expiry * 1000).toISOString() } : {}),
    }));
    const counts: Record<string, number> = Object.fromEntries(VOLUME_STATES.map((s) => [s, 0]));
    for (const v of volumes) counts[v.state]!++;
    return { following: followed !== undefined, volumes, counts };
  }

  /** Plans, requests and follows a thaw (the caller checked that actions are on). */
  async start(t: DashboardTarget, req: ThawStart): Promise<{ thawId: string; costUsd: number; plan: Record<string, unknown> }> {
    const pricing = await this.#reader.pricing(t);
    const opened = this.#reader.open(t);
    let handedOver = false;
    try {
      const prepared = await prepareThaw(opened.ctx, {
        ...(req.time !== undefined ? { time: req.time } : {}),
        ...(req.path !== undefined && req.path.length > 0 ? { fileToRestore: req.path } : {}),
        tier: req.tier,
        ...(t.options.days !== undefined ? { days: t.options.days } : {}),
        pricing,
      });
      const costUsd = prepared.quotes.find((q) => q.tier === prepared.tier)?.total ?? 0;
      const tally = await sendThawRequests(opened.ctx, prepared);
      opened.flush();
      this.#journals.set(t.id, prepared.journal);
      const thawId = randomUUID();
      this.#log(
        `dashboard: thaw ${thawId} of ${t.url} started: ${prepared.toRequest.objects} volume(s), ${prepared.tier}, about $${costUsd.toFixed(4)}`,
      );
      for (const v of prepared.volumes) this.#publish(t, v.volume.name, prepared.journal);
      const pending = prepared.volumes.filter((v) => v.state === 'archived' || v.state === 'in-progress');
      if (pending.length > 0) {
        this.#follow(t, opened, prepared.journal, pending, thawId);
        handedOver = true;
      }
      return { thawId, costUsd, plan: thawJson(prepared, tally) };
    } finally {
      if (!handedOver) await opened.close();
    }
  }

  /** Follows the unfinished thaws the journals record (a thaw started before the daemon restarted). */
  async resume(): Promise<void> {
    for (const t of this.#model.targets) {
      if (this.#followed.has(t.id)) continue;
      const opened = this.#reader.open(t);
      let handedOver = false;
      try {
        const journal = await this.#loadJournal(t, opened.ctx);
        const pending: VolumeThaw[] = [...journal.volumes]
          .filter(([, v]) => v.state === 'requested' || v.state === 'in-progress')
          .map(([name, v]) => ({
            volume: { name, size: 0, storageClass: '', archived: true },
            state: v.state === 'in-progress' ? 'in-progress' : 'archived',
          }));
        if (pending.length > 0) {
          this.#log(`dashboard: following the unfinished thaw of ${t.url} (${pending.length} volume(s)) from its journal`);
          this.#follow(t, opened, journal, pending, randomUUID());
          handedOver = true;
        }
      } catch (err) {
        this.#log(`dashboard: cannot read the thaw journal of ${t.url}: ${this.#redact((err as Error).message)}`);
      } finally {
        if (!handedOver) await opened.close();
      }
    }
  }

  stop(): void {
    this.#stopped = true;
    for (const f of this.#followed.values()) {
      clearTimeout(f.timer);
      void f.close();
    }
    this.#followed.clear();
  }

  async #loadJournal(t: DashboardTarget, ctx: TargetContext): Promise<ThawJournal> {
    const journal = await loadJournal(ctx.cache.dir, ctx.backend.displayUrl, (m) => this.#log(`dashboard: ${this.#redact(m)}`));
    this.#journals.set(t.id, journal);
    return journal;
  }

  #follow(t: DashboardTarget, opened: OpenedTarget, journal: ThawJournal, volumes: VolumeThaw[], thawId: string): void {
    const before = this.#followed.get(t.id);
    if (before) {
      // a second thaw of the same target: the volumes of the first one are still followed
      clearTimeout(before.timer);
      void before.close();
      const names = new Set(volumes.map((v) => v.volume.name));
      volumes.push(...before.volumes.filter((v) => !names.has(v.volume.name) && v.state !== 'restored' && v.state !== 'readable'));
    }
    const f: Followed = { thawId, target: t, ...opened, journal, volumes, interval: Math.max(1, t.options.pollInterval) };
    this.#followed.set(t.id, f);
    this.#schedule(f);
  }

  #schedule(f: Followed): void {
    if (this.#stopped) return;
    f.timer = setTimeout(() => void this.#poll(f), f.interval * 1000);
    f.timer.unref();
  }

  async #poll(f: Followed): Promise<void> {
    if (this.#followed.get(f.target.id) !== f) return;
    f.interval = Math.min(f.interval * 1.5, Math.max(MAX_POLL_SECONDS, f.target.options.pollInterval));
    try {
      const pending = f.volumes.filter((v) => v.state !== 'restored' && v.state !== 'readable');
      const seen = new Map<string, string>();
      await forEachLimited(pending, 8, async (v) => {
        const info = await f.ctx.backend.head(v.volume.name);
        if (!info) return;
        const s = thawStateOf(info);
        // archived: the request is not visible yet (or got lost); the journal keeps `requested`
        if (s.state === 'archived') return;
        v.state = s.state;
        if (s.expiry !== undefined) v.expiry = s.expiry;
        seen.set(v.volume.name, s.state);
      });
      await recordStates(f.ctx, f.volumes, f.journal);
      f.flush();
      for (const name of seen.keys()) this.#publish(f.target, name, f.journal);
    } catch (err) {
      this.#log(`dashboard: following the thaw of ${f.target.url}: ${this.#redact((err as Error).message)}`);
    }
    if (f.volumes.every((v) => v.state === 'restored' || v.state === 'readable')) {
      this.#log(`dashboard: thaw ${f.thawId} of ${f.target.url}: every volume is readable`);
      this.#followed.delete(f.target.id);
      await f.close();
      return;
    }
    this.#schedule(f);
  }

  #publish(t: DashboardTarget, name: string, journal: ThawJournal): void {
    const v = journal.volumes.get(name);
    const state: VolumeState = v ? journalState(v, Date.now() / 1000) : 'ready';
    this.#model.hub.publish({
      event: 'thaw',
      data: {
        target: t.id,
        volume: name,
        state,
        ...(v?.expiry !== undefined ? { expiry: new Date(v.expiry * 1000).toISOString() } : {}),
      },
    });
  }
}

/** The deepest directory that holds every path (the plan restores it; one path: that path). */
export function commonPath(paths: readonly string[]): PathIndex | undefined {
  const clean = paths.map((p) => p.replace(/^\/+|\/+$/g, '')).filter((p) => p !== '' && p !== '.');
  if (clean.length === 0) return undefined;
  const split = clean.map((p) => p.split('/'));
  const first = split[0]!;
  let n = first.length;
  for (const s of split.slice(1)) {
    let i = 0;
    while (i < n && i < s.length && s[i] === first[i]) i++;
    n = i;
  }
  return n === 0 ? undefined : indexFromString(first.slice(0, n).join('/'));
}
