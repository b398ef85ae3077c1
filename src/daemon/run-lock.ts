/**
 * One run at a time across daemons (two containers on one state volume, a `daemon --once` from
 * cron beside a running daemon). The lock file holds the holder's pid and host name. It is stale,
 * and taken over, when its process is gone: on the same host, a pid that no longer exists, or our
 * own pid (a container restarted: the new daemon got the old one's pid). A lock from another host
 * cannot be checked from here and is never taken over: delete it by hand if that host is gone.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { hostname } from 'node:os';
import { processAlive } from '../core/process-alive.ts';

export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
  readonly period: string;
}

export type LockResult =
  | { readonly taken: true; readonly release: () => Promise<void>; readonly tookOverFrom?: LockHolder }
  | { readonly taken: false; readonly holder: LockHolder | null };

export async function takeRunLock(file: string, period: string, now: number = Date.now()): Promise<LockResult> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const me: LockHolder = { pid: process.pid, host: hostname(), since: new Date(now).toISOString(), period };
  let tookOverFrom: LockHolder | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await fsp.open(file, 'wx', 0o644);
      try {
        await fh.writeFile(`${JSON.stringify(me)}\n`);
      } finally {
        await fh.close();
      }
      const release = async () => {
        // Only our own lock is removed: never one that another process took over meanwhile.
        const holder = await readHolder(file);
        if (holder && holder.pid === me.pid && holder.host === me.host && holder.since === me.since) await fsp.rm(file, { force: true });
      };
      return { taken: true, release, ...(tookOverFrom ? { tookOverFrom } : {}) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = await readHolder(file);
    if (holder && !isStale(holder)) return { taken: false, holder };
    if (!holder && (await ageMs(file, now)) < 10_000) return { taken: false, holder: null };
    // Stale (or unreadable: a holder killed between creating and writing it). Move it aside
    // under a unique name, so that of two daemons taking it over at once only one removes it.
    const aside = `${file}.stale-${process.pid}-${attempt}`;
    try {
      await fsp.rename(file, aside);
      const moved = await readHolder(aside);
      if (holder && moved && moved.since !== holder.since) {
        // Another daemon took the stale lock over between our read and the rename: put its lock back.
        await fsp.rename(aside, file);
        return { taken: false, holder: moved };
      }
      await fsp.rm(aside, { force: true });
      tookOverFrom = holder ?? undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return { taken: false, holder: await readHolder(file) };
}

export async function readHolder(file: string): Promise<LockHolder | null> {
  try {
    const value = JSON.parse(await fsp.readFile(file, 'utf8')) as Partial<LockHolder>;
    if (typeof value.pid !== 'number' || typeof value.host !== 'string') return null;
    return { pid: value.pid, host: value.host, since: String(value.since ?? ''), period: String(value.period ?? '') };
  } catch {
    return null;
  }
}

async function ageMs(file: string, now: number): Promise<number> {
  try {
    return now - (await fsp.stat(file)).mtimeMs;
  } catch {
    return Infinity;
  }
}

function isStale(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return false;
  return holder.pid === process.pid || !processAlive(holder.pid);
}
