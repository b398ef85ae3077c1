import { hasRestore, isArchivedClass, type Backend, type RemoteObjectInfo } from '../../backend/backend.ts';
import type { RestoreTier } from '../../core/restore-tier.ts';
import type { TargetContext } from '../context.ts';
import { ExitCode, PermafrostError } from '../../core/errors.ts';
import type { PlannedVolume } from './thaw-plan.ts';
import { saveJournal, type JournalVolume, type ThawJournal } from './thaw-journal.ts';

/**
 * Where a planned volume stands: `readable` (not in an archive class, or a target without
 * archive classes), `archived` (no restored copy and none on the way), `in-progress`, `restored`
 * (a readable copy until `expiry`).
 */
export type ThawState = 'readable' | 'archived' | 'in-progress' | 'restored';

export interface VolumeThaw {
  readonly volume: PlannedVolume;
  state: ThawState;
  expiry?: number;
}

export interface ThawCounts {
  readonly total: number;
  /** readable now: not archived, or restored */
  readonly ready: number;
  readonly inProgress: number;
  readonly archived: number;
}

export function countStates(volumes: readonly VolumeThaw[]): ThawCounts {
  let ready = 0;
  let inProgress = 0;
  let archived = 0;
  for (const v of volumes) {
    if (v.state === 'readable' || v.state === 'restored') ready++;
    else if (v.state === 'in-progress') inProgress++;
    else archived++;
  }
  return { total: volumes.length, ready, inProgress, archived };
}

/** HEADs run side by side: enough to hide latency, far below S3's request rates. */
const CONCURRENCY = 8;

export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * The restore state of each planned volume: archived ones are asked with HEAD (which works on
 * archived objects and is billed at the GET rate); others need no request.
 */
export async function probeVolumes(backend: Backend, volumes: readonly PlannedVolume[]): Promise<VolumeThaw[]> {
  const out: VolumeThaw[] = volumes.map((volume) => ({ volume, state: volume.archived && hasRestore(backend) ? 'archived' : 'readable' }));
  await forEachLimited(
    out.filter((v) => v.state === 'archived'),
    CONCURRENCY,
    (v) => refreshState(backend, v),
  );
  return out;
}

async function refreshState(backend: Backend, v: VolumeThaw): Promise<void> {
  const info = await backend.head(v.volume.name);
  if (!info)
    throw new PermafrostError(ExitCode.corruptArchive, `volume ${v.volume.name} is listed in its manifest but missing at the target`);
  const seen = thawStateOf(info);
  v.state = seen.state;
  if (seen.expiry !== undefined) v.expiry = seen.expiry;
  else delete v.expiry;
}

/** An object's thaw state from its HEAD answer (class and `x-amz-restore`). */
export function thawStateOf(info: RemoteObjectInfo): { state: ThawState; expiry?: number } {
  if (!isArchivedClass(info.storageClass)) return { state: 'readable' };
  if (!info.restore) return { state: 'archived' };
  if (info.restore.ongoing) return { state: 'in-progress' };
  return info.restore.expiry !== undefined ? { state: 'restored', expiry: info.restore.expiry } : { state: 'restored' };
}

export interface ThawSettings {
  readonly tier: RestoreTier;
  readonly days: number;
}

export interface RequestTally {
  /** restore requests sent, and how they were answered */
  readonly sent: number;
  readonly started: number;
  readonly extended: number;
  readonly alreadyRunning: number;
  /** Expedited had no capacity: these went as Standard */
  readonly fellBack: number;
}

/** The tier a class offers: DEEP_ARCHIVE has no Expedited retrieval, so Standard is the fastest there. */
export function tierFor(storageClass: string, tier: RestoreTier): RestoreTier {
  return storageClass === 'DEEP_ARCHIVE' && tier === 'Expedited' ? 'Standard' : tier;
}

/**
 * Sends RestoreObject for each volume that is archived: never for one restored or in progress
 * (docs/glacier-semantics.md §9.4 item 15). 202 and 200 are success; 409 means it is running; no Expedited capacity falls
 * back to Standard. Every request is journalled before the next one, so a crash loses nothing.
 */
export async function requestRestores(
  ctx: TargetContext,
  volumes: readonly VolumeThaw[],
  journal: ThawJournal,
  settings: ThawSettings,
): Promise<RequestTally> {
  const backend = ctx.backend;
  let sent = 0;
  let started = 0;
  let extended = 0;
  let alreadyRunning = 0;
  let fellBack = 0;
  let expeditedUnavailable = false;
  const todo = volumes.filter((v) => v.state === 'archived');
  if (todo.length === 0 || !hasRestore(backend)) return { sent, started, extended, alreadyRunning, fellBack };
  const request = backend.requestRestore.bind(backend);
  let writing: Promise<void> = Promise.resolve();
  await forEachLimited(todo, CONCURRENCY, async (v) => {
    let tier = tierFor(v.volume.storageClass, settings.tier);
    if (tier === 'Expedited' && expeditedUnavailable) tier = 'Standard';
    let outcome = await request(v.volume.name, { tier, days: settings.days });
    sent++;
    if (outcome === 'tier-unavailable') {
      if (!expeditedUnavailable)
        ctx.reporter.warning(
          'Expedited retrieval capacity is not available now (GlacierExpeditedRetrievalNotAvailable): requesting Standard retrievals instead',
        );
      expeditedUnavailable = true;
      fellBack++;
      tier = 'Standard';
      outcome = await request(v.volume.name, { tier, days: settings.days });
      sent++;
    }
    switch (outcome) {
      case 'started':
        started++;
        v.state = 'in-progress';
        break;
      case 'extended':
        extended++;
        v.state = 'restored';
        break;
      case 'in-progress':
        alreadyRunning++;
        v.state = 'in-progress';
        break;
      case 'not-archived':
        v.state = 'readable';
        break;
      case 'tier-unavailable':
        throw new PermafrostError(
          ExitCode.backendError,
          `cannot restore ${v.volume.name}: no retrieval capacity for the ${tier} tier now; try again later`,
        );
    }
    if (v.state !== 'readable') {
      const before = journal.volumes.get(v.volume.name);
      const entry: JournalVolume = {
        requestedAt: ctx.now(),
        tier,
        days: settings.days,
        requests: (before?.requests ?? 0) + 1,
        state: v.state === 'restored' ? 'restored' : before?.state === 'in-progress' ? 'in-progress' : 'requested',
      };
      journal.volumes.set(v.volume.name, entry);
      writing = writing.then(() => saveJournal(ctx.cache.dir, journal, ctx.now()));
      await writing;
    }
  });
  return { sent, started, extended, alreadyRunning, fellBack };
}

/** Records what was seen (state, expiry) for the volumes the journal knows, and writes it. */
export async function recordStates(ctx: TargetContext, volumes: readonly VolumeThaw[], journal: ThawJournal): Promise<void> {
  let changed = false;
  for (const v of volumes) {
    const before = journal.volumes.get(v.volume.name);
    if (!before) continue;
    const state: JournalVolume['state'] | null =
      v.state === 'restored' ? 'restored' : v.state === 'in-progress' ? 'in-progress' : v.state === 'archived' ? before.state : null;
    if (state === null) {
      journal.volumes.delete(v.volume.name);
      changed = true;
      continue;
    }
    if (state !== before.state || v.expiry !== before.expiry) {
      const { expiry: _old, ...rest } = before;
      journal.volumes.set(v.volume.name, { ...rest, state, ...(v.expiry !== undefined ? { expiry: v.expiry } : {}) });
      changed = true;
    }
  }
  if (changed) await saveJournal(ctx.cache.dir, journal, ctx.now());
}

export interface WaitOptions extends ThawSettings {
  /** false: a volume that is not ready ends the run (exit 75) instead of being waited for */
  readonly wait: boolean;
  /** seconds before the first poll; later polls back off by half again, up to `maxPollSeconds` */
  readonly pollSeconds: number;
  readonly maxPollSeconds: number;
  /** called after every poll that changed the counts, and after the first */
  readonly onProgress: (counts: ThawCounts) => void;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Polls the volumes that are not ready yet until `isDone` says enough are (HEAD per volume: no
 * GET is ever sent before a copy is readable). A copy that expired while waiting, or a request
 * that got lost, is requested again; the journal keeps what was seen, so a rerun resumes.
 */
export class ThawWaiter {
  readonly #ctx: TargetContext;
  readonly #volumes: VolumeThaw[];
  readonly #byName = new Map<string, VolumeThaw>();
  readonly #journal: ThawJournal;
  readonly #opts: WaitOptions;
  readonly #waiters = new Map<string, { resolve: () => void; reject: (err: unknown) => void }[]>();
  readonly #listeners: (() => void)[] = [];
  #interval: number;
  #loop: Promise<void> | null = null;
  #failure: unknown = null;
  #stopped = false;
  #lastCounts = '';

  constructor(ctx: TargetContext, volumes: VolumeThaw[], journal: ThawJournal, opts: WaitOptions) {
    this.#ctx = ctx;
    this.#volumes = volumes;
    for (const v of volumes) this.#byName.set(v.volume.name, v);
    this.#journal = journal;
    this.#opts = opts;
    this.#interval = opts.pollSeconds;
  }

  counts(): ThawCounts {
    return countStates(this.#volumes);
  }

  /** Whether permafrost plans to read `name` through this waiter. */
  knows(name: string): boolean {
    return this.#byName.has(name);
  }

  /** Resolves once `name` can be read; polls while any awaited volume is not. */
  async ready(name: string): Promise<void> {
    const v = this.#byName.get(name);
    if (!v || isReady(v)) return;
    if (!this.#opts.wait) {
      const c = this.counts();
      throw new PermafrostError(
        ExitCode.thawInProgress,
        `thaw in progress: ${v.volume.name} is not restored yet (${c.ready}/${c.total} volumes ready): rerun with --force to continue into the same destination, or add --wait`,
      );
    }
    if (this.#stopped) throw new PermafrostError(ExitCode.thawInProgress, 'stopped waiting for the thaw');
    await new Promise<void>((resolve, reject) => {
      const list = this.#waiters.get(name) ?? [];
      list.push({ resolve, reject });
      this.#waiters.set(name, list);
      this.#ensureLoop().catch(() => {});
    });
  }

  /** Resolves once every volume can be read. */
  async all(): Promise<void> {
    await Promise.all(this.#volumes.map((v) => this.ready(v.volume.name)));
  }

  /** A GET found `name` archived after all (its copy expired): it is requested again and waited for. */
  async expired(name: string): Promise<void> {
    const v = this.#byName.get(name);
    if (!v) return;
    this.#ctx.reporter.warning(`the restored copy of ${name} expired before it was read: requesting it again`);
    v.state = 'archived';
    delete v.expiry;
    await requestRestores(this.#ctx, [v], this.#journal, this.#opts);
  }

  /** Calls `fn` after every poll (e.g. to start downloads of volumes that became ready). */
  onPoll(fn: () => void): void {
    this.#listeners.push(fn);
  }

  stop(): void {
    this.#stopped = true;
  }

  #ensureLoop(): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    this.#loop ??= this.#run()
      .catch((err: unknown) => {
        this.#failure = err;
      })
      .finally(() => {
        this.#loop = null;
        // nothing resolves the rest once the loop has ended: fail them rather than hang
        const why = this.#failure ?? new PermafrostError(ExitCode.thawInProgress, 'stopped waiting for the thaw');
        for (const list of this.#waiters.values()) for (const w of list) w.reject(why);
        this.#waiters.clear();
      });
    return this.#loop;
  }

  async #run(): Promise<void> {
    const sleep = this.#opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    this.#report();
    while (this.#waiters.size > 0 && !this.#stopped) {
      await sleep(this.#interval * 1000);
      this.#interval = Math.min(this.#interval * 1.5, Math.max(this.#opts.maxPollSeconds, this.#opts.pollSeconds));
      const pending = this.#volumes.filter((v) => !isReady(v));
      await forEachLimited(pending, CONCURRENCY, (v) => refreshState(this.#ctx.backend, v));
      // archived again: the copy expired, or a request never took; ask once more
      const lost = pending.filter((v) => v.state === 'archived');
      if (lost.length > 0) {
        this.#ctx.reporter.warning(
          `${lost.length} volume${lost.length === 1 ? ' is' : 's are'} archived again (a restored copy expired, or a request was lost): requesting ${lost.length === 1 ? 'it' : 'them'} again`,
        );
        await requestRestores(this.#ctx, lost, this.#journal, this.#opts);
      }
      await recordStates(this.#ctx, this.#volumes, this.#journal);
      this.#report();
      for (const [name, list] of [...this.#waiters]) {
        if (isReady(this.#byName.get(name)!)) {
          this.#waiters.delete(name);
          for (const w of list) w.resolve();
        }
      }
      for (const fn of this.#listeners) fn();
    }
  }

  #report(): void {
    const c = this.counts();
    const key = `${c.ready}/${c.inProgress}/${c.archived}`;
    if (key === this.#lastCounts) return;
    this.#lastCounts = key;
    this.#opts.onProgress(c);
  }
}

export function isReady(v: VolumeThaw): boolean {
  return v.state === 'readable' || v.state === 'restored';
}
