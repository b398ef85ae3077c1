import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { RestoreTier } from '../../core/restore-tier.ts';

/** What permafrost asked of one archived volume, and what it last saw. */
export interface JournalVolume {
  /** epoch seconds of the last restore request permafrost sent */
  readonly requestedAt: number;
  readonly tier: RestoreTier;
  readonly days: number;
  /** restore requests sent for this volume so far (a copy that expired is requested again) */
  readonly requests: number;
  /** the last state seen: `requested` (sent, not yet seen running), `in-progress`, `restored`, `batch` (in a Batch Operations manifest) */
  readonly state: 'requested' | 'in-progress' | 'restored' | 'batch';
  /** epoch seconds: the restored copy is readable until then */
  readonly expiry?: number;
}

export interface ThawJournal {
  readonly version: 1;
  /** the target the volumes belong to (a cache may be shared with --name) */
  readonly target: string;
  updatedAt: number;
  readonly volumes: Map<string, JournalVolume>;
}

/** The journal's file in the archive dir (duplicity ignores names it does not know). */
export const JOURNAL_NAME = 'permafrost-thaw.json';

/**
 * Reads the thaw journal of `target` from the cache directory. A missing journal, one for another
 * target or one that does not parse starts empty: the journal only saves requests and polls, the
 * target's own restore state is what decides.
 */
export async function loadJournal(cacheDir: string, target: string, warn: (message: string) => void): Promise<ThawJournal> {
  const empty: ThawJournal = { version: 1, target, updatedAt: 0, volumes: new Map() };
  let text: string;
  try {
    text = await fsp.readFile(path.join(cacheDir, JOURNAL_NAME), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return empty;
    throw err;
  }
  try {
    const raw = JSON.parse(text) as { version?: unknown; target?: unknown; updatedAt?: unknown; volumes?: unknown };
    if (raw.version !== 1 || raw.target !== target || typeof raw.volumes !== 'object' || raw.volumes === null) return empty;
    const volumes = new Map<string, JournalVolume>();
    for (const [name, v] of Object.entries(raw.volumes as Record<string, unknown>)) {
      const entry = journalVolume(v);
      if (entry) volumes.set(name, entry);
    }
    return { version: 1, target, updatedAt: typeof raw.updatedAt === 'number' ? raw.updatedAt : 0, volumes };
  } catch {
    warn(
      `the thaw journal ${path.join(cacheDir, JOURNAL_NAME)} does not parse; starting a new one (the target's restore states still count)`,
    );
    return empty;
  }
}

function journalVolume(v: unknown): JournalVolume | null {
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  const tiers = ['Expedited', 'Standard', 'Bulk'];
  const states = ['requested', 'in-progress', 'restored', 'batch'];
  if (typeof o['requestedAt'] !== 'number' || typeof o['days'] !== 'number' || typeof o['requests'] !== 'number') return null;
  if (!tiers.includes(o['tier'] as string) || !states.includes(o['state'] as string)) return null;
  return {
    requestedAt: o['requestedAt'],
    tier: o['tier'] as RestoreTier,
    days: o['days'],
    requests: o['requests'],
    state: o['state'] as JournalVolume['state'],
    ...(typeof o['expiry'] === 'number' ? { expiry: o['expiry'] } : {}),
  };
}

/** Writes the journal atomically (a crash leaves the old or the new one, never half of one). */
export async function saveJournal(cacheDir: string, journal: ThawJournal, now: number): Promise<void> {
  journal.updatedAt = now;
  await fsp.mkdir(cacheDir, { recursive: true });
  const dest = path.join(cacheDir, JOURNAL_NAME);
  const tmp = `${dest}.tmp-${randomBytes(4).toString('hex')}`;
  const body = { version: 1, target: journal.target, updatedAt: journal.updatedAt, volumes: Object.fromEntries(journal.volumes) };
  await fsp.writeFile(tmp, `${JSON.stringify(body, null, 1)}\n`);
  await fsp.rename(tmp, dest);
}
