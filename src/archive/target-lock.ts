/**
 * The target lock: one small object at the target that every run writing or deleting there holds
 * (backups, cleanup --force, the retention verbs with --force), so that two hosts, or two caches of
 * one host, never write one chain at once. It is created only if absent and replaced only if
 * unchanged (the backend's conditional writes), so of two runs racing for it exactly one wins.
 *
 * The holder rewrites it every `refreshSeconds`. Another run takes it over, with a notice, when
 * its holder is gone: a process that no longer exists on this host (same host name and pid
 * namespace), or no rewrite for `staleSeconds` by the store's clock. A holder whose rewrite finds
 * the lock changed has lost it: it must not write a manifest (`assertHeld`).
 */
import * as os from 'node:os';
import * as fsp from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import type { Backend, TaggedObject } from '../backend/backend.ts';
import type { NamePrefixes } from '../codec/remote-name.ts';
import { processAlive } from '../core/process-alive.ts';
import { LockedError } from './metadata-cache.ts';

/** Who holds the lock: the JSON the lock object contains. */
export interface LockHolder {
  readonly host: string;
  readonly pid: number;
  /** The holder's pid namespace (`/proc/self/ns/pid`), so that containers sharing a host name do not judge each other's pids. */
  readonly pidns?: string;
  /** e.g. `backup`, `cleanup --force` */
  readonly operation: string;
  /** When the holder took the lock (ISO 8601, UTC). */
  readonly since: string;
  /** When the holder last rewrote it (ISO 8601, UTC; informative: staleness goes by the store's clock). */
  readonly refreshed: string;
  /** Unique per version: tells our own lock from anyone else's. */
  readonly token: string;
}

export interface TargetLockTiming {
  readonly refreshSeconds: number;
  readonly staleSeconds: number;
}

/** Rewritten every 5 minutes; stale after 30 minutes without a rewrite (six missed refreshes in a row). */
export const DEFAULT_TARGET_LOCK_TIMING: TargetLockTiming = { refreshSeconds: 300, staleSeconds: 1800 };

/** The lock's name at the target: duplicity's name parser ignores it, and so do permafrost's listings. */
export function targetLockName(prefixes: NamePrefixes): string {
  return `${prefixes.base}permafrost-target.lock`;
}

export interface TakeOptions {
  readonly name: string;
  readonly operation: string;
  readonly timing: TargetLockTiming;
  /** A takeover, and a refresh that failed for a reason other than losing the lock. */
  readonly warn: (message: string) => void;
  /** Seconds since the epoch by the local clock. */
  readonly clock?: () => number;
  /**
   * Registers what to do when a signal stops the run (the lock is given up and removed, so that
   * the next run, from another container too, need not wait for it to turn stale); returns the
   * unregistration, called at release.
   */
  readonly onInterrupt?: (undo: () => Promise<void>) => () => void;
}

export class TargetLock {
  readonly #backend: Backend;
  readonly #opts: TakeOptions;
  readonly #me: LockHolder;
  #tag: string;
  /** Tokens of rewrites whose answer never came: the store may hold one of them. */
  readonly #unanswered = new Set<string>();
  #lost: string | null = null;
  #timer: NodeJS.Timeout | null = null;
  #refreshing: Promise<void> | null = null;
  #unregister: () => void = () => {};

  private constructor(backend: Backend, opts: TakeOptions, me: LockHolder, tag: string) {
    this.#backend = backend;
    this.#opts = opts;
    this.#me = me;
    this.#tag = tag;
  }

  /** Takes the lock or throws LockedError naming its holder (exit 23). */
  static async take(backend: Backend, opts: TakeOptions): Promise<TargetLock> {
    const clock = opts.clock ?? (() => Date.now() / 1000);
    const since = new Date(clock() * 1000).toISOString();
    const pidns = await ownPidNamespace();
    const me: LockHolder = {
      host: os.hostname(),
      pid: process.pid,
      ...(pidns ? { pidns } : {}),
      operation: opts.operation,
      since,
      refreshed: since,
      token: newToken(),
    };
    const store = backend.conditional;
    const bytes = encode(me);
    for (let attempt = 0; attempt < 4; attempt++) {
      let tag = await store.write(opts.name, bytes, 'absent');
      let tookOver: string | null = null;
      if (tag === null) {
        const seen = await store.read(opts.name);
        if (seen === null) continue; // released meanwhile
        const reason = takeoverReason(seen, me, opts.timing, clock());
        if (reason === null) throw new LockedError(lockedMessage(backend, opts.name, seen));
        tag = await store.write(opts.name, bytes, { tag: seen.tag });
        if (tag === null) continue; // another run took it over first: look again
        tookOver = `took over the target lock ${opts.name} from ${describe(seen)}: ${reason}`;
      }
      // read back: a server that ignores the conditions must not give the lock to two runs
      const back = await store.read(opts.name);
      if (back === null || back.tag !== tag) {
        if (back === null) continue;
        throw new LockedError(lockedMessage(backend, opts.name, back));
      }
      if (tookOver) opts.warn(tookOver);
      const lock = new TargetLock(backend, opts, me, tag);
      lock.#start();
      if (opts.onInterrupt) lock.#unregister = opts.onInterrupt(() => lock.#giveUp());
      return lock;
    }
    throw new LockedError(`cannot take the target lock ${opts.name} at ${backend.displayUrl}: it keeps changing hands`);
  }

  /** Why the lock is no longer ours, or null while it is. */
  get lost(): string | null {
    return this.#lost;
  }

  /** Reads the lock again: throws LockedError unless it is still ours. Called before a manifest is written. */
  async assertHeld(): Promise<void> {
    if (this.#refreshing) await this.#refreshing;
    if (this.#lost === null) {
      const seen = await this.#backend.conditional.read(this.#opts.name);
      if (seen === null || (seen.tag !== this.#tag && !this.#adopt(seen))) this.#lose(seen);
    }
    if (this.#lost !== null) throw new LockedError(this.#lost);
  }

  /** Stops refreshing and removes the lock if it is still ours; never another run's. */
  async release(): Promise<void> {
    this.#unregister();
    this.#stop();
    if (this.#refreshing) await this.#refreshing.catch(() => {});
    if (this.#lost !== null) return;
    try {
      await this.#backend.conditional.remove(this.#opts.name, this.#tag);
    } catch (err) {
      this.#opts.warn(
        `cannot remove the target lock ${this.#opts.name}: ${(err as Error).message.split('\n')[0]}; the next run takes it over once it is stale`,
      );
    }
  }

  /**
   * A signal stops the run: from now on it counts as having lost the lock (so it writes no
   * manifest in the moments before it ends), and the lock is removed if it is still ours.
   */
  async #giveUp(): Promise<void> {
    this.#stop();
    if (this.#refreshing) await this.#refreshing.catch(() => {});
    if (this.#lost !== null) return;
    this.#lost = `this run was stopped by a signal and gave up the target lock ${this.#opts.name}`;
    await this.#backend.conditional.remove(this.#opts.name, this.#tag).catch(() => {});
  }

  #start(): void {
    this.#timer = setInterval(() => {
      this.#refreshing ??= this.#refresh().finally(() => {
        this.#refreshing = null;
      });
    }, this.#opts.timing.refreshSeconds * 1000);
    // the lock never keeps the process alive by itself
    this.#timer.unref();
  }

  #stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  async #refresh(): Promise<void> {
    const clock = this.#opts.clock ?? (() => Date.now() / 1000);
    const next: LockHolder = { ...this.#me, refreshed: new Date(clock() * 1000).toISOString(), token: newToken() };
    this.#unanswered.add(next.token);
    try {
      const tag = await this.#backend.conditional.write(this.#opts.name, encode(next), { tag: this.#tag });
      if (tag !== null) {
        this.#tag = tag;
        this.#unanswered.clear();
        return;
      }
      const seen = await this.#backend.conditional.read(this.#opts.name);
      if (seen === null || !this.#adopt(seen)) this.#lose(seen);
    } catch (err) {
      // a failed request is retried at the next tick; the lock turns stale only after many
      this.#opts.warn(`cannot refresh the target lock ${this.#opts.name}: ${(err as Error).message.split('\n')[0]}`);
    }
  }

  /** A rewrite of ours that was stored though its answer was lost (a timeout): the lock is still ours. */
  #adopt(seen: TaggedObject): boolean {
    const token = parseHolder(seen.bytes)?.token;
    if (token === undefined || !this.#unanswered.has(token)) return false;
    this.#tag = seen.tag;
    this.#unanswered.clear();
    return true;
  }

  #lose(seen: TaggedObject | null): void {
    this.#stop();
    const by = seen === null ? 'it was removed' : `it is now held by ${describe(seen)}`;
    this.#lost = `this run lost the target lock ${this.#opts.name} at ${this.#backend.displayUrl} (${by}); it stops without writing a manifest`;
  }
}

/** The holder of a lock at the target, for `collection-status`; null when there is none. */
export async function readLockHolder(
  backend: Backend,
  name: string,
): Promise<(Partial<LockHolder> & { readonly modified: number }) | null> {
  const seen = await backend.conditional.read(name);
  if (seen === null) return null;
  return { ...(parseHolder(seen.bytes) ?? {}), modified: seen.modified };
}

/** Why a lock may be taken over, or null when its holder may still be at work. */
export function takeoverReason(
  seen: TaggedObject,
  me: Pick<LockHolder, 'host' | 'pidns'>,
  timing: TargetLockTiming,
  now: number,
): string | null {
  const holder = parseHolder(seen.bytes);
  if (holder && holder.host === me.host && (holder.pidns === undefined || me.pidns === undefined || holder.pidns === me.pidns)) {
    // our own pid from before this process started: a restarted container whose new process got
    // the old one's number (the same pid since then is another operation of this very process)
    const earlierLife = holder.pid === process.pid && Date.parse(holder.since) < Date.now() - process.uptime() * 1000 - 1000;
    if (earlierLife || (holder.pid !== process.pid && !processAlive(holder.pid))) return `its process (pid ${holder.pid}) no longer exists`;
  }
  const age = now - seen.modified;
  if (age > timing.staleSeconds) return `not refreshed for ${Math.floor(age)} seconds (stale after ${timing.staleSeconds})`;
  return null;
}

function lockedMessage(backend: Backend, name: string, seen: TaggedObject): string {
  return `the target ${backend.displayUrl} is locked by ${describe(seen)} (${name}; another run writes there)`;
}

/** `backup on host h, pid 12, since 2026-…Z` */
export function describe(seen: TaggedObject): string {
  const h = parseHolder(seen.bytes);
  if (!h) return `an unreadable lock written ${new Date(seen.modified * 1000).toISOString()}`;
  return `${h.operation} on host ${h.host}, pid ${h.pid}, since ${h.since}`;
}

function parseHolder(bytes: Buffer): LockHolder | null {
  try {
    const v = JSON.parse(bytes.toString('utf8')) as Partial<LockHolder>;
    if (typeof v.host !== 'string' || typeof v.pid !== 'number' || typeof v.operation !== 'string' || typeof v.since !== 'string')
      return null;
    return {
      host: v.host,
      pid: v.pid,
      ...(typeof v.pidns === 'string' ? { pidns: v.pidns } : {}),
      operation: v.operation,
      since: v.since,
      refreshed: String(v.refreshed ?? v.since),
      token: String(v.token ?? ''),
    };
  } catch {
    return null;
  }
}

function encode(h: LockHolder): Buffer {
  return Buffer.from(`${JSON.stringify(h)}\n`);
}

function newToken(): string {
  return randomBytes(12).toString('hex');
}

async function ownPidNamespace(): Promise<string | undefined> {
  try {
    return await fsp.readlink('/proc/self/ns/pid');
  } catch {
    return undefined;
  }
}
