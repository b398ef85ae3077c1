import { indexFromBytes, indexToBytes, type PathIndex } from '../core/path-index.ts';

/**
 * Tar entry names inside difftar volumes and sigtars (docs/duplicity-format.md §3.3, §4): a kind prefix, the path,
 * and for multivol chunks a chunk number.
 */
export type EntryKind = 'snapshot' | 'diff' | 'deleted' | 'signature';

export interface ParsedEntryName {
  readonly kind: EntryKind;
  readonly index: PathIndex;
  /** Chunk number of a multivol_snapshot/multivol_diff entry, else null. */
  readonly chunk: number | null;
}

const DOT = Buffer.from('.');

/**
 * The name for an entry. Directories carry a trailing '/'. The root is `snapshot/./` in volumes
 * but `snapshot/` in signature files, which is what `rootStyle` selects.
 */
export function entryName(
  kind: EntryKind,
  index: PathIndex,
  opts: { dir?: boolean; chunk?: number; rootStyle?: 'volume' | 'sigtar' } = {},
): Buffer {
  const multivol = opts.chunk !== undefined;
  const prefix = multivol ? `multivol_${kind}/` : `${kind}/`;
  let path: Buffer;
  if (index.length === 0) path = opts.rootStyle === 'sigtar' ? Buffer.alloc(0) : DOT;
  else path = indexToBytes(index);
  const parts = [Buffer.from(prefix, 'latin1'), path];
  if (multivol) parts.push(Buffer.from(`/${opts.chunk}`, 'latin1'));
  else if (opts.dir && path.length > 0) parts.push(SLASH);
  return Buffer.concat(parts);
}

const SLASH = Buffer.from('/');
const MULTIVOL = /^multivol_(diff|snapshot)\/?(.*)\/([0-9]+)$/s;

/** Reads a name back; accepts directory names with or without the trailing '/'. Rejects '..'. */
export function parseEntryName(name: Buffer): ParsedEntryName {
  const latin = name.toString('latin1');
  const mv = MULTIVOL.exec(latin);
  if (mv) {
    return { kind: mv[1] as EntryKind, index: indexFromBytes(Buffer.from(mv[2]!, 'latin1')), chunk: Number(mv[3]) };
  }
  for (const kind of ['snapshot', 'diff', 'deleted', 'signature'] as const) {
    if (latin === kind || latin.startsWith(`${kind}/`)) {
      return { kind, index: indexFromBytes(name.subarray(kind.length + 1)), chunk: null };
    }
  }
  throw new Error(`unexpected tar entry name ${JSON.stringify(latin)}`);
}
