/**
 * The catalogue of a sharded target: one JSON object listing the generations (a generation is
 * one full of every shard, with the same plan) and which shards finished theirs. Every change is
 * a conditional write (create if absent, else replace only the version read: S3's If-None-Match
 * and If-Match, file://'s claim files), retried on a lost race, so workers that finish at once
 * never lose each other's record.
 */
import type { ConditionalStore } from '../../backend/backend.ts';
import { ExitCode, PermafrostError } from '../../core/errors.ts';
import { CATALOGUE_NAME } from './layout.ts';

export interface ShardRecord {
  /** the time of the shard's full in this generation (its chain's start) */
  readonly full: number;
  /** the end time of the newest set recorded for the shard in this generation */
  readonly last: number;
}

export interface GenerationRecord {
  readonly generation: number;
  readonly shards: number;
  /** the plan's object name in the control folder */
  readonly plan: string;
  /** when the first worker registered the generation (epoch seconds) */
  readonly started: number;
  /** shard index (as text) → its full */
  readonly done: Readonly<Record<string, ShardRecord>>;
  /** when the last shard's full was recorded: set once every shard has one */
  readonly complete?: number;
}

export interface Catalogue {
  readonly format: 'permafrost-shard-catalogue/1';
  /** oldest first */
  readonly generations: readonly GenerationRecord[];
}

export const EMPTY_CATALOGUE: Catalogue = { format: 'permafrost-shard-catalogue/1', generations: [] };

export function parseCatalogue(bytes: Buffer, where: string): Catalogue {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new PermafrostError(ExitCode.corruptArchive, `the shard catalogue ${where} is not JSON`);
  }
  const c = raw as Catalogue;
  if (c === null || typeof c !== 'object' || c.format !== 'permafrost-shard-catalogue/1' || !Array.isArray(c.generations)) {
    throw new PermafrostError(ExitCode.corruptArchive, `the shard catalogue ${where} is not a permafrost shard catalogue`);
  }
  return c;
}

export function newestGeneration(c: Catalogue): GenerationRecord | undefined {
  return c.generations[c.generations.length - 1];
}

export function isComplete(g: GenerationRecord): boolean {
  return g.complete !== undefined;
}

/** The catalogue with generation `g` added, unless it is there already (another worker registered it). */
export function withGeneration(c: Catalogue, g: Omit<GenerationRecord, 'done'>): Catalogue {
  if (c.generations.some((x) => x.generation === g.generation)) return c;
  return { ...c, generations: [...c.generations, { ...g, done: {} }].sort((a, b) => a.generation - b.generation) };
}

/** The catalogue with shard `index`'s set recorded in generation `generation`; complete when it was the last shard. */
export function withShardDone(c: Catalogue, generation: number, index: number, record: ShardRecord, now: number): Catalogue {
  return {
    ...c,
    generations: c.generations.map((g) => {
      if (g.generation !== generation) return g;
      const previous = g.done[String(index)];
      // an incremental keeps its full's time; a redone full replaces both
      const done = { ...g.done, [String(index)]: previous && previous.full === record.full ? { ...previous, last: record.last } : record };
      const all = Array.from({ length: g.shards }, (_, i) => String(i)).every((k) => done[k] !== undefined);
      return { ...g, done, ...(all && g.complete === undefined ? { complete: now } : {}) };
    }),
  };
}

export async function readCatalogue(store: ConditionalStore, where: string): Promise<{ catalogue: Catalogue; tag: string | null }> {
  const read = await store.read(CATALOGUE_NAME);
  if (read === null) return { catalogue: EMPTY_CATALOGUE, tag: null };
  return { catalogue: parseCatalogue(read.bytes, where), tag: read.tag };
}

/**
 * Applies `change` to the catalogue as stored, conditionally; on a lost race reads again and
 * reapplies, so concurrent changes all land. Returns the catalogue as written.
 */
export async function updateCatalogue(
  store: ConditionalStore,
  where: string,
  change: (c: Catalogue) => Catalogue,
  attempts = 200,
): Promise<Catalogue> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const { catalogue, tag } = await readCatalogue(store, where);
    const next = change(catalogue);
    if (next === catalogue && tag !== null) return catalogue;
    const written = await store.write(CATALOGUE_NAME, Buffer.from(`${JSON.stringify(next, null, 1)}\n`), tag === null ? 'absent' : { tag });
    if (written !== null) return next;
    // another worker wrote in between: back off a little (jittered) and apply the change to its version
    await new Promise((r) => setTimeout(r, 5 + Math.floor(Math.random() * 20 * Math.min(attempt + 1, 10))));
  }
  throw new PermafrostError(
    ExitCode.backendError,
    `the shard catalogue ${where} changed ${attempts} times while this worker tried to update it`,
  );
}
