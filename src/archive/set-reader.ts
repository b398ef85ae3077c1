import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import type { EntryMeta } from '../core/entry.ts';
import { compareIndex, indexStartsWith, type PathIndex } from '../core/path-index.ts';
import { TarReader, type TarEntry } from '../codec/tar/reader.ts';
import type { Backend } from '../backend/backend.ts';
import { decryptMessage, verifyMessage } from '../codec/openpgp/decrypt.ts';
import { OpenPgpError } from '../codec/openpgp/errors.ts';
import type { Encryption } from '../crypto/encryption.ts';
import { parseEntryName, type EntryKind } from './entry-names.ts';
import { metaFromHeader } from './entry-header.ts';
import { gunzipFile } from './gunzip-file.ts';

interface RawEntry {
  readonly entry: TarEntry;
  readonly kind: EntryKind;
  readonly index: PathIndex;
  readonly chunk: number | null;
}

/** One volume to read: its remote name and the SHA1 its manifest records. */
export interface VolumeRef {
  readonly number: number;
  readonly name: string;
  readonly sha1: string | null;
  readonly compressed: boolean;
  /** `.gpg`: decrypted after its SHA1 and its MDC are checked */
  readonly encrypted?: boolean;
}

export interface SetReaderOptions {
  /** How encrypted volumes are opened; null when the run has no keys (--no-encryption). */
  readonly encryption?: Encryption | null;
  readonly warn?: (message: string) => void;
  /**
   * Asked when a volume's SHA1 differs from its VolumeRef's, before the volume is blamed: true
   * when the volume is right after all (its ref came from a cached manifest that was wrong).
   */
  readonly recheckHash?: (volume: number, actual: string) => Promise<boolean>;
}

/** A decryption failure, naming the file (OpenPgpError's kind tells the exit code). */
export function fileCryptoError(name: string, err: OpenPgpError): OpenPgpError {
  return new OpenPgpError(err.kind, `${name}: ${err.message}`, { cause: err });
}

/** A path's entry in one set, with its data still to be read. */
export interface SetEntry {
  readonly index: PathIndex;
  readonly kind: Exclude<EntryKind, 'signature'>;
  /** null for deleted entries */
  readonly meta: EntryMeta | null;
}

export class VolumeHashError extends Error {
  readonly volume: string;
  constructor(volume: string, expected: string, actual: string) {
    super(`${volume}: SHA1 ${actual} does not match the manifest's ${expected}; refusing to restore from it`);
    this.name = 'VolumeHashError';
    this.volume = volume;
  }
}

export class CorruptVolumeError extends Error {
  readonly volume: string;
  constructor(volume: string, detail: string, options?: { cause?: unknown }) {
    super(`${volume}: ${detail}`, options);
    this.name = 'CorruptVolumeError';
    this.volume = volume;
  }
}

/**
 * Reads the entries of one backup set from its volumes, in order, joining multivol chunks across
 * volume boundaries (docs/duplicity-format.md §3.6, §3.9). Each volume is downloaded to a temp file and its SHA1
 * checked before any of it is used; the next volume downloads while this one is read.
 * Entries are filtered to those under `within` and re-rooted there.
 */
export class SetReader {
  readonly #backend: Backend;
  readonly #volumes: readonly VolumeRef[];
  readonly #tempDir: string;
  readonly #within: PathIndex;
  #volumeIdx = -1;
  #reader: TarReader | null = null;
  #prefetch: Promise<string> | null = null;
  #currentFile: string | null = null;
  /** the raw tar entry read ahead */
  #ahead: RawEntry | null = null;
  #head: SetEntry | null = null;
  #headConsumed = true;
  #done = false;
  readonly #opts: SetReaderOptions;
  #plain: Readable | null = null;

  constructor(backend: Backend, volumes: readonly VolumeRef[], tempDir: string, within: PathIndex, opts: SetReaderOptions = {}) {
    this.#opts = opts;
    this.#backend = backend;
    this.#volumes = volumes;
    this.#tempDir = tempDir;
    this.#within = within;
  }

  /** The next entry's header, without consuming it; null at the end. */
  async peek(): Promise<SetEntry | null> {
    if (!this.#headConsumed) return this.#head;
    if (this.#done) return null;
    for (;;) {
      const raw = await this.#nextRaw();
      if (!raw) {
        this.#done = true;
        this.#head = null;
        return null;
      }
      if (!indexStartsWith(raw.index, this.#within)) {
        continue;
      }
      const index = this.#within.length === 0 ? raw.index : raw.index.slice(this.#within.length);
      const kind = raw.kind as SetEntry['kind'];
      const meta = kind === 'deleted' ? null : metaFromHeader(index, raw.entry.header, raw.entry.pax);
      this.#ahead = raw;
      this.#head = { index, kind, meta };
      this.#headConsumed = false;
      return this.#head;
    }
  }

  /** The current entry's data: the chunks of a multivol entry are joined. Consumes the entry. */
  async *data(): AsyncGenerator<Buffer> {
    if (this.#headConsumed || !this.#ahead) throw new Error('no entry to read');
    const first = this.#ahead;
    this.#ahead = null;
    this.#headConsumed = true;
    yield first.entry.data;
    if (first.chunk === null) return;
    for (;;) {
      const raw = await this.#nextRaw();
      if (!raw) return;
      if (raw.chunk !== null && raw.kind === first.kind && compareIndex(raw.index, first.index) === 0) {
        yield raw.entry.data;
        continue;
      }
      this.#pushBack(raw);
      return;
    }
  }

  /**
   * The current entry's data when it is one tar entry (not a multivol chunk), consuming the
   * entry; else null, and `data()` joins the chunks. Saves a restore of small files two async
   * generators per file.
   */
  wholeData(): Buffer | null {
    if (this.#headConsumed || !this.#ahead) throw new Error('no entry to read');
    if (this.#ahead.chunk !== null) return null;
    const data = this.#ahead.entry.data;
    this.#ahead = null;
    this.#headConsumed = true;
    return data;
  }

  /** Skips the current entry's data. */
  async skip(): Promise<void> {
    for await (const _ of this.data()) {
      /* drain */
    }
  }

  async close(): Promise<void> {
    this.#plain?.destroy();
    this.#plain = null;
    if (this.#currentFile) await fsp.rm(this.#currentFile, { force: true });
    if (this.#prefetch) {
      const f = await this.#prefetch.catch(() => null);
      if (f) await fsp.rm(f, { force: true });
    }
  }

  #pushed: RawEntry | null = null;

  #pushBack(raw: RawEntry): void {
    this.#pushed = raw;
  }

  async #nextRaw(): Promise<RawEntry | null> {
    if (this.#pushed) {
      const p = this.#pushed;
      this.#pushed = null;
      return p;
    }
    for (;;) {
      if (!this.#reader) {
        if (!(await this.#openNextVolume())) return null;
      }
      const volume = this.#volumes[this.#volumeIdx]!;
      let entry: TarEntry | null;
      try {
        entry = await this.#reader!.next();
      } catch (err) {
        if (err instanceof OpenPgpError) throw fileCryptoError(volume.name, err);
        throw new CorruptVolumeError(volume.name, `truncated or corrupt volume (${(err as Error).message})`, { cause: err });
      }
      if (!entry) {
        this.#reader = null;
        // the tar ends at its zero footer: what follows (gpg top-off) is never read
        this.#plain?.destroy();
        this.#plain = null;
        if (this.#currentFile) await fsp.rm(this.#currentFile, { force: true });
        this.#currentFile = null;
        continue;
      }
      let parsed: ReturnType<typeof parseEntryName>;
      try {
        parsed = parseEntryName(entry.header.name);
      } catch (err) {
        throw new CorruptVolumeError(volume.name, (err as Error).message, { cause: err });
      }
      if (parsed.kind === 'signature') throw new CorruptVolumeError(volume.name, 'signature entry inside a data volume');
      return { entry, kind: parsed.kind, index: parsed.index, chunk: parsed.chunk };
    }
  }

  async #openNextVolume(): Promise<boolean> {
    this.#volumeIdx++;
    if (this.#volumeIdx >= this.#volumes.length) return false;
    const file = await (this.#prefetch ?? this.#download(this.#volumeIdx));
    this.#prefetch = this.#volumeIdx + 1 < this.#volumes.length ? this.#download(this.#volumeIdx + 1) : null;
    this.#prefetch?.catch(() => {});
    this.#currentFile = file;
    const volume = this.#volumes[this.#volumeIdx]!;
    if (volume.encrypted) {
      const plain = Readable.from(
        decryptMessage(createReadStream(file, { highWaterMark: 1 << 20 }), this.#encryption(volume).keyProvider, {
          s2kCache: this.#encryption(volume).s2kCache,
        }),
      );
      this.#plain = plain;
      this.#reader = new TarReader(plain);
      return true;
    }
    if (volume.compressed) {
      const plain = gunzipFile(file);
      this.#plain = plain;
      this.#reader = new TarReader(plain);
      return true;
    }
    const raw = createReadStream(file, { highWaterMark: 1 << 20 });
    this.#reader = new TarReader(raw);
    return true;
  }

  #encryption(volume: VolumeRef): Encryption {
    const enc = this.#opts.encryption;
    if (!enc) throw new OpenPgpError('no-key', `${volume.name} is encrypted, but encryption is off (--no-encryption)`);
    return enc;
  }

  async #download(i: number): Promise<string> {
    const volume = this.#volumes[i]!;
    const file = path.join(this.#tempDir, `restore-${process.pid}-${Math.random().toString(36).slice(2)}`);
    await this.#backend.getToFile(volume.name, file);
    if (volume.sha1 !== null) {
      const actual = await sha1OfFile(file);
      if (actual !== volume.sha1.toLowerCase() && !(await this.#opts.recheckHash?.(volume.number, actual))) {
        await fsp.rm(file, { force: true });
        throw new VolumeHashError(volume.name, volume.sha1, actual);
      }
    }
    if (volume.encrypted) {
      // the MDC comes at the end of the data: check it before a single entry is used
      try {
        const enc = this.#encryption(volume);
        const r = await verifyMessage(createReadStream(file, { highWaterMark: 1 << 20 }), enc.keyProvider, { s2kCache: enc.s2kCache });
        if (!r.protected)
          this.#opts.warn?.(`${volume.name} has no integrity protection (no MDC): it is used as duplicity does, unverified`);
      } catch (err) {
        await fsp.rm(file, { force: true });
        throw err instanceof OpenPgpError ? fileCryptoError(volume.name, err) : err;
      }
    }
    return file;
  }
}

/**
 * The file's SHA1, read through one reused buffer: a read stream's fresh 1 MiB chunks piled up
 * to ~70 MiB before a GC freed them, and the malloc arena kept that size for the whole restore.
 */
async function sha1OfFile(file: string): Promise<string> {
  const hash = createHash('sha1');
  const buf = Buffer.allocUnsafeSlow(1 << 20);
  const fh = await fsp.open(file, 'r');
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}
