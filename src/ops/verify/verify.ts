import * as fsp from 'node:fs/promises';
import type { EntryMeta } from '../../core/entry.ts';
import { compareIndex, indexToDisplay, ROOT_INDEX, type PathIndex } from '../../core/path-index.ts';
import { walkSource } from '../../fs/walk.ts';
import type { Selection } from '../../fs/selection.ts';
import type { TargetContext } from '../context.ts';
import { readSets, selectSets, type EntryData, type EntrySink } from '../restore/restore.ts';
import { syncedCollection } from '../sync-cache.ts';
import { setsNotTouching } from '../sets-touching.ts';
import { restoreTotals } from '../restore/restore-totals.ts';

export interface VerifyRequest {
  readonly time?: number;
  readonly fileToRestore?: PathIndex;
  /** Compare with the source; without it only the archive's integrity is checked (as duplicity). */
  readonly compareData: boolean;
  readonly source: string;
  readonly selection: Selection;
}

export interface VerifyResult {
  readonly filesChecked: number;
  readonly differences: string[];
  readonly volumesRead: number;
}

/**
 * Reads every volume a restore would read (checking hashes and parsing every entry) and, with
 * `compareData`, compares each restored entry with the source: type, mode, mtime, symlink target
 * and content, plus paths present on one side only.
 */
export async function verify(ctx: TargetContext, req: VerifyRequest): Promise<VerifyResult> {
  const collection = await syncedCollection(ctx);
  const { sets } = selectSets(ctx, collection, req.time);
  const within = req.fileToRestore ?? ROOT_INDEX;
  const differences: string[] = [];
  let checked = 0;
  // the sets a restore skips hold nothing to compare, and a thaw leaves their volumes archived
  const skipSets = await setsNotTouching(ctx, collection, sets, within);
  const progress = { phase: 'verify', totals: ctx.reporter.progress ? await restoreTotals(ctx, collection, sets, within) : null };
  const readAll = (run: Parameters<typeof readSets>[4]) => readSets(ctx, sets, within, false, run, skipSets, progress);
  const result = await readAll(async (next) => {
    if (!req.compareData) {
      return next({
        async write(_meta, data) {
          checked++;
          if (data)
            for await (const _ of data) {
              /* read to check */
            }
        },
      });
    }
    const source = new SourceCursor(
      walkSource(Buffer.from(req.source), req.selection, (p, err) =>
        differences.push(`cannot read ${p.toString('utf8')}: ${(err as Error).message}`),
      ),
      within,
    );
    const sink: EntrySink = {
      async write(meta, data) {
        checked++;
        for (const extra of await source.skipBefore(meta.index)) differences.push(`new in source, not in backup: ${indexToDisplay(extra)}`);
        const match = await source.take(meta.index);
        if (!match) {
          differences.push(`in backup, missing from source: ${indexToDisplay(meta.index)}`);
          if (data)
            for await (const _ of data) {
              /* drain */
            }
          return;
        }
        const diff = await compareEntry(meta, data, match.meta, match.path);
        if (diff) differences.push(`${diff}: ${indexToDisplay(meta.index)}`);
      },
    };
    const r = await next(sink);
    for (const extra of await source.rest()) differences.push(`new in source, not in backup: ${indexToDisplay(extra)}`);
    return r;
  });
  for (const d of differences) ctx.reporter.notice(`Difference found: ${d}`);
  ctx.reporter.notice(
    `Verify complete: ${checked} files compared, ${differences.length} difference${differences.length === 1 ? '' : 's'} found.`,
  );
  return { filesChecked: checked, differences, volumesRead: result.volumesRead };
}

async function compareEntry(backup: EntryMeta, data: EntryData | null, source: EntryMeta, sourcePath: Buffer): Promise<string | null> {
  if (backup.type !== source.type) {
    if (data)
      for await (const _ of data) {
        /* drain */
      }
    return `type ${backup.type} in backup, ${source.type} in source`;
  }
  let problem: string | null = null;
  if (backup.type === 'sym') {
    if (!backup.linkname.equals(source.linkname)) problem = 'symlink target differs';
  } else {
    if (backup.mode !== source.mode) problem = `mode ${backup.mode.toString(8)} in backup, ${source.mode.toString(8)} in source`;
    else if (backup.mtime !== source.mtime && backup.type !== 'dir') problem = 'mtime differs';
  }
  if (data) {
    const same = await sameContent(data, sourcePath);
    if (!same && !problem) problem = 'content differs';
  }
  return problem;
}

/** Compares a stream with a file's content, reading the file alongside. Always drains the stream. */
async function sameContent(data: EntryData, file: Buffer): Promise<boolean> {
  let fh: fsp.FileHandle | null = null;
  try {
    fh = await fsp.open(file, 'r');
  } catch {
    for await (const _ of data) {
      /* drain */
    }
    return false;
  }
  let same = true;
  let offset = 0;
  try {
    for await (const chunk of data) {
      if (!same) continue;
      const buf = Buffer.allocUnsafe(chunk.length);
      const { bytesRead } = await fh.read(buf, 0, chunk.length, offset);
      offset += chunk.length;
      if (bytesRead !== chunk.length || !buf.equals(chunk)) same = false;
    }
    if (same) {
      const { bytesRead } = await fh.read(Buffer.alloc(1), 0, 1, offset);
      if (bytesRead !== 0) same = false;
    }
  } finally {
    await fh.close();
  }
  return same;
}

/** Walks the source in step with the restored entries (both in duplicity's order). */
class SourceCursor {
  readonly #it: AsyncIterator<{ meta: EntryMeta; path: Buffer }>;
  readonly #within: PathIndex;
  #head: { meta: EntryMeta; path: Buffer } | null | undefined = undefined;

  constructor(walk: AsyncIterable<{ meta: EntryMeta; path: Buffer }>, within: PathIndex) {
    this.#it = walk[Symbol.asyncIterator]();
    this.#within = within;
  }

  async #peek(): Promise<{ meta: EntryMeta; path: Buffer } | null> {
    while (this.#head === undefined) {
      const r = await this.#it.next();
      if (r.done) {
        this.#head = null;
        break;
      }
      const idx = r.value.meta.index;
      if (idx.length < this.#within.length || !this.#within.every((c, i) => c.equals(idx[i]!))) continue;
      this.#head = { meta: { ...r.value.meta, index: idx.slice(this.#within.length) }, path: r.value.path };
    }
    return this.#head;
  }

  async skipBefore(index: PathIndex): Promise<PathIndex[]> {
    const skipped: PathIndex[] = [];
    for (let h = await this.#peek(); h && compareIndex(h.meta.index, index) < 0; h = await this.#peek()) {
      skipped.push(h.meta.index);
      this.#head = undefined;
    }
    return skipped;
  }

  async take(index: PathIndex): Promise<{ meta: EntryMeta; path: Buffer } | null> {
    const h = await this.#peek();
    if (h && compareIndex(h.meta.index, index) === 0) {
      this.#head = undefined;
      return h;
    }
    return null;
  }

  async rest(): Promise<PathIndex[]> {
    const out: PathIndex[] = [];
    for (let h = await this.#peek(); h; h = await this.#peek()) {
      out.push(h.meta.index);
      this.#head = undefined;
    }
    return out;
  }
}
