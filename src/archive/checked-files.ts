import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { BigIntStats } from 'node:fs';

/**
 * Which cached signature files are known to be intact: each one permafrost wrote or fetched, or
 * whose gzip stream inflated whole with the right CRC, is recorded with the size, mtime, ctime and
 * inode it had then. A file whose stat still matches is used as it is; any other (written by
 * duplicity, which shares the folder, or changed since) is inflated whole first.
 *
 * Why a record instead of checking every file on every run: inflating the signatures of 100k
 * files takes 0.15-0.3 s (docs/cache.md), over a tenth of an incremental that changes
 * little (1.7 s), and issue 18 wants incrementals fast; a stat and this record cost under 1 ms. What the record cannot see (bits that rot under an
 * unchanged stat) the gzip CRC still catches, because every read of a cached file goes to its
 * trailer (see MetadataCache.signatureEntries).
 *
 * One JSON file for the whole folder, rewritten whole (under a temporary name, then renamed):
 * two runs recording at once may lose one's update, which only costs a re-check later.
 */
export class CheckedFiles {
  readonly #dir: string;
  #known: Map<string, string> | null = null;

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** Whether `name` was recorded with the stat it has now. */
  async trusts(name: string, st: BigIntStats): Promise<boolean> {
    this.#known ??= await this.#read();
    return this.#known.get(name) === fingerprint(st);
  }

  /** Records `name` as intact with stat `st` (taken before it was checked, so a change meanwhile shows). */
  async record(name: string, st: BigIntStats): Promise<void> {
    await this.#update((known) => known.set(name, fingerprint(st)));
  }

  async forget(name: string): Promise<void> {
    await this.#update((known) => known.delete(name));
  }

  async #update(change: (known: Map<string, string>) => void): Promise<void> {
    // read again: another run may have recorded files since this one started
    const known = await this.#read();
    change(known);
    const present = new Set(await fsp.readdir(this.#dir).catch(() => []));
    for (const name of known.keys()) if (!present.has(name)) known.delete(name);
    const dest = path.join(this.#dir, CHECKED_FILES_NAME);
    const tmp = `${dest}.tmp-${randomBytes(4).toString('hex')}`;
    await fsp.writeFile(tmp, `${JSON.stringify({ version: 1, files: Object.fromEntries(known) })}\n`);
    await fsp.rename(tmp, dest);
    this.#known = known;
  }

  /** The records; none when the file is missing or unreadable (then everything is checked again). */
  async #read(): Promise<Map<string, string>> {
    let text: string;
    try {
      text = await fsp.readFile(path.join(this.#dir, CHECKED_FILES_NAME), 'utf8');
    } catch {
      return new Map();
    }
    try {
      const parsed = JSON.parse(text) as { version?: unknown; files?: unknown };
      if (parsed.version !== 1 || typeof parsed.files !== 'object' || parsed.files === null) return new Map();
      return new Map(Object.entries(parsed.files).filter((e): e is [string, string] => typeof e[1] === 'string'));
    } catch {
      return new Map();
    }
  }
}

/** The record's file in the cache folder (duplicity ignores names it does not parse). */
export const CHECKED_FILES_NAME = 'permafrost-checked.json';

function fingerprint(st: BigIntStats): string {
  return `${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}`;
}
