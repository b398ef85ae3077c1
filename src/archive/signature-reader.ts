import type { EntryMeta } from '../core/entry.ts';
import type { RecordedStamp } from '../core/file-stamp.ts';
import { compareIndex, type PathIndex } from '../core/path-index.ts';
import { TarReader } from '../codec/tar/reader.ts';
import { parseEntryName } from './entry-names.ts';
import { metaFromHeader } from './entry-header.ts';
import { recordedStamp } from './change-records.ts';

/** One path's state as the signature files of a chain record it. */
export interface SignatureEntry {
  readonly index: PathIndex;
  /** null for a `deleted/` entry */
  readonly meta: EntryMeta | null;
  /** librsync signature of a regular file's content; null for other types */
  readonly signature: Buffer | null;
  /** what permafrost's records say about the file when it was read; null without them */
  readonly stamp: RecordedStamp | null;
}

/** A signature file that cannot be read: cut short, corrupt, or not a signature tar at all. */
export class CorruptSignatureError extends Error {
  readonly file: string;
  /** what is wrong, without the file's name */
  readonly detail: string;
  constructor(file: string, detail: string, options?: { cause?: unknown }) {
    super(`${file}: ${detail}`, options);
    this.name = 'CorruptSignatureError';
    this.file = file;
    this.detail = detail;
  }
}

/** Reads one (decompressed, decrypted) sigtar stream in order (docs/duplicity-format.md §4). */
export async function* readSignatureTar(source: AsyncIterable<Buffer>, what: string): AsyncGenerator<SignatureEntry> {
  const reader = new TarReader(source);
  let previous: PathIndex | null = null;
  for (;;) {
    let entry: Awaited<ReturnType<TarReader['next']>>;
    let parsed: ReturnType<typeof parseEntryName>;
    let meta: EntryMeta | null = null;
    try {
      entry = await reader.next();
      if (!entry) return;
      parsed = parseEntryName(entry.header.name);
      if (parsed.kind !== 'deleted') meta = metaFromHeader(parsed.index, entry.header, entry.pax, parsed.kind === 'signature');
    } catch (err) {
      throw new CorruptSignatureError(what, (err as Error).message, { cause: err });
    }
    if (parsed.chunk !== null || parsed.kind === 'diff')
      throw new CorruptSignatureError(what, `unexpected entry ${entry.header.name.toString('utf8')} in a signature file`);
    if (previous && compareIndex(previous, parsed.index) >= 0)
      throw new CorruptSignatureError(what, `entries out of order at ${entry.header.name.toString('utf8')}`);
    previous = parsed.index;
    if (meta === null) {
      yield { index: parsed.index, meta: null, signature: null, stamp: null };
    } else if (parsed.kind === 'signature') {
      if (meta.type !== 'reg') throw new CorruptSignatureError(what, 'signature entry for a non-regular file');
      yield { index: parsed.index, meta, signature: entry.data, stamp: recordedStamp(entry.pax) };
    } else {
      yield { index: parsed.index, meta, signature: null, stamp: null };
    }
  }
}

/**
 * Combines a chain's signature streams (full first, then each increment): for every path the
 * entry from the newest stream wins (duplicity's combine_path_iters). Streams must be sorted.
 */
export async function* combineSignatures(streams: AsyncIterable<SignatureEntry>[]): AsyncGenerator<SignatureEntry> {
  const iters = streams.map((s) => s[Symbol.asyncIterator]());
  const heads: (SignatureEntry | null)[] = await Promise.all(iters.map(async (it) => nextOrNull(it)));
  for (;;) {
    let min: PathIndex | null = null;
    for (const h of heads) if (h && (min === null || compareIndex(h.index, min) < 0)) min = h.index;
    if (min === null) return;
    let winner: SignatureEntry | null = null;
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i];
      if (h && compareIndex(h.index, min) === 0) {
        winner = h;
        heads[i] = await nextOrNull(iters[i]!);
      }
    }
    yield winner!;
  }
}

async function nextOrNull<T>(it: AsyncIterator<T>): Promise<T | null> {
  const r = await it.next();
  return r.done ? null : r.value;
}
