/**
 * Where a sharded target keeps what: shard i of N is an ordinary duplicity target at
 * `<URL>/shard-<i>-of-<N>` (a sub-folder, or a sub-prefix on S3); the plans and the catalogue
 * are small objects at `<URL>/permafrost-shards/`, which duplicity never looks at.
 */

/** The sub-target of the control objects (plans, catalogue). */
export const CONTROL_FOLDER = 'permafrost-shards';
export const CATALOGUE_NAME = 'catalogue.json';

export function shardFolder(index: number, shards: number): string {
  return `shard-${index}-of-${shards}`;
}

export function planName(generation: number): string {
  return `plan-${generation}.json`;
}

/** A sub-target's URL: the target's URL with one more path component (query strings are not used by target URLs). */
export function subUrl(url: string, folder: string): string {
  return `${url.replace(/\/+$/, '')}/${folder}`;
}

/** `--name X` names one cache; each shard needs its own (each is its own target), so the name gets the shard's folder. */
export function shardCacheName(name: string | undefined, index: number, shards: number): string | undefined {
  return name === undefined ? undefined : `${name}.${shardFolder(index, shards)}`;
}
