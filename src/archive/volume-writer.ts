import * as path from 'node:path';
import { rm } from 'node:fs/promises';
import type { PathIndex } from '../core/path-index.ts';
import { ROOT_INDEX } from '../core/path-index.ts';
import type { VolumeInfo } from '../codec/manifest.ts';
import { volumeFooter } from '../codec/tar/writer.ts';
import type { Encryption } from '../crypto/encryption.ts';
import { FileByteSink } from './byte-sink.ts';

/** A closed volume file, ready for upload, with what its manifest block records. */
export interface FinishedVolume {
  readonly info: VolumeInfo;
  readonly localPath: string;
  readonly size: number;
}

export interface VolumeWriterOptions {
  readonly tempDir: string;
  /** --volsize in bytes */
  readonly volsize: number;
  readonly gzip: boolean;
  /** deflate level (gzip, or inside encryption); DEFAULT_COMPRESS_LEVEL when absent */
  readonly level?: number;
  /** threads that may compress (see FileByteSink); 1 when absent */
  readonly jobs?: number;
  /** `.difftar.gpg` volumes: encrypted, ending with duplicity's zero footer (docs/duplicity-format.md §3.2) */
  readonly encryption?: Encryption | null;
  /** Called once per closed volume, in order; may apply back-pressure by resolving late. */
  readonly onVolume: (volume: FinishedVolume) => Promise<void>;
}

/**
 * Packs tar blocks into difftar volumes, starting a new volume between blocks once fewer than
 * 64 KiB are left under --volsize (docs/duplicity-format.md §3.7), and records each volume's first and last path for
 * the manifest. A set always has at least one volume, even an empty one (docs/duplicity-format.md §3.7).
 */
export class VolumeWriter {
  readonly #opts: VolumeWriterOptions;
  #number = 0;
  #sink: FileByteSink | null = null;
  #start: { index: PathIndex; block: number | null } | null = null;
  #end: { index: PathIndex; block: number | null } | null = null;

  constructor(opts: VolumeWriterOptions) {
    this.#opts = opts;
  }

  get volumesWritten(): number {
    return this.#number;
  }

  /** Adds one tar block (headers, data, padding) for `index`; `block` is the manifest block number. */
  async addBlock(parts: readonly Buffer[], index: PathIndex, block: number | null): Promise<void> {
    if (this.#sink && (await this.#isFull(this.#sink))) await this.#closeVolume();
    if (!this.#sink) this.#openVolume();
    if (!this.#start) this.#start = { index, block };
    this.#end = { index, block };
    await this.#sink!.write(parts);
  }

  /** Closes the last volume (creating an empty one if nothing was written). */
  async finish(): Promise<void> {
    if (!this.#sink) this.#openVolume();
    await this.#closeVolume();
  }

  abort(): void {
    this.#sink?.destroy();
    this.#sink = null;
  }

  /**
   * Whether fewer than ROTATE_MARGIN bytes are left: by the exact size, so that volumes end at the
   * same tar block however fast the compression threads are; waiting for the batches in flight
   * only when the bound says the volume may be full.
   */
  async #isFull(sink: FileByteSink): Promise<boolean> {
    if (this.#opts.volsize - sink.sizeBound >= ROTATE_MARGIN) return false;
    return this.#opts.volsize - (await sink.settledSize()) < ROTATE_MARGIN;
  }

  #openVolume(): void {
    this.#number += 1;
    this.#sink = new FileByteSink(path.join(this.#opts.tempDir, `volume-${this.#number}`), {
      gzip: this.#opts.gzip,
      sha1: true,
      encryption: this.#opts.encryption ?? null,
      level: this.#opts.level,
      ...(this.#opts.jobs ? { jobs: this.#opts.jobs } : {}),
    });
    this.#start = null;
    this.#end = null;
  }

  async #closeVolume(): Promise<void> {
    const sink = this.#sink!;
    this.#sink = null;
    if (this.#opts.encryption) await sink.write([volumeFooter(sink.rawBytes)]);
    const { size, sha1 } = await sink.close();
    const start = this.#start ?? { index: ROOT_INDEX, block: null };
    const end = this.#end ?? { index: ROOT_INDEX, block: null };
    const info: VolumeInfo = {
      volume: this.#number,
      startIndex: start.index,
      startBlock: start.block,
      endIndex: end.index,
      endBlock: end.block,
      hashes: new Map([['SHA1', sha1!]]),
    };
    try {
      await this.#opts.onVolume({ info, localPath: sink.path, size });
    } catch (err) {
      await rm(sink.path, { force: true });
      throw err;
    }
  }
}

/** duplicity stops a volume when less than one 64 KiB block would still fit. */
const ROTATE_MARGIN = 65536;
