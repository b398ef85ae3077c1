import * as fsp from 'node:fs/promises';
import {
  BackendError,
  type Backend,
  type ConditionalStore,
  type Leftovers,
  type PutOptions,
  type RemoteObjectInfo,
  type TaggedObject,
} from './backend.ts';
import { crc32c, crc32cBase64 } from './crc32c.ts';

interface StoredObject {
  readonly bytes: Buffer;
  /** epoch seconds */
  readonly modified: number;
  /** distinct for every write, so a tag never names two versions (stricter than a content hash) */
  readonly version: number;
}

/**
 * A target held in this process's memory, for tests of the operations without a disk or a
 * server. It keeps the rules every backend keeps (test/backend/conformance.ts): names are never
 * overwritten, an object appears whole or not at all, conditional writes succeed for one writer.
 */
export class MemoryBackend implements Backend, Leftovers {
  readonly displayUrl: string;
  readonly conditional: ConditionalStore;
  readonly #objects = new Map<string, StoredObject>();
  readonly #now: () => number;
  #versions = 0;
  #closed = false;

  constructor(displayUrl = 'memory://', now: () => number = () => Math.floor(Date.now() / 1000)) {
    this.displayUrl = displayUrl;
    this.#now = now;
    this.conditional = {
      read: async (name) => this.#readTagged(name),
      write: async (name, bytes, expect) => this.#writeIf(name, bytes, expect),
      remove: async (name, tag) => this.#removeIf(name, tag),
    };
  }

  async list(): Promise<RemoteObjectInfo[]> {
    this.#checkOpen();
    return [...this.#objects].map(([name, o]) => ({ name, size: o.bytes.length, lastModified: o.modified }));
  }

  /** The file is read whole before it is stored: a reader sees the complete object or none. */
  async putFile(localPath: string, name: string, _options: PutOptions): Promise<void> {
    this.#check(name);
    let bytes: Buffer;
    try {
      bytes = await fsp.readFile(localPath);
    } catch (err) {
      throw new BackendError(
        'io',
        `${this.displayUrl}: cannot write ${name}: cannot read ${localPath}: ${errnoCode(err) ?? (err as Error).message}`,
        { cause: err },
      );
    }
    if (this.#objects.has(name)) throw new BackendError('exists', `${this.displayUrl}: ${name} already exists; it is never replaced`);
    this.#store(name, bytes);
  }

  async get(name: string): Promise<AsyncIterable<Buffer>> {
    const bytes = this.#existing(name).bytes;
    return (async function* chunks(): AsyncGenerator<Buffer> {
      for (let at = 0; at < bytes.length; at += CHUNK) yield Buffer.from(bytes.subarray(at, at + CHUNK));
    })();
  }

  async getToFile(name: string, localPath: string): Promise<void> {
    const bytes = this.#existing(name).bytes;
    try {
      await fsp.writeFile(localPath, bytes, { flag: 'wx' });
    } catch (err) {
      throw new BackendError(
        'io',
        `${this.displayUrl}: cannot read ${name} into ${localPath}: ${errnoCode(err) ?? (err as Error).message}`,
        { cause: err },
      );
    }
  }

  async head(name: string, options: { readonly checksum?: boolean } = {}): Promise<RemoteObjectInfo | null> {
    this.#check(name);
    const o = this.#objects.get(name);
    if (!o) return null;
    return { name, size: o.bytes.length, lastModified: o.modified, ...(options.checksum ? { crc32c: crc32cBase64(crc32c(o.bytes)) } : {}) };
  }

  async delete(names: readonly string[]): Promise<void> {
    for (const name of names) this.#check(name);
    for (const name of names) this.#objects.delete(name);
  }

  /** Nothing is ever half-written here. */
  async listLeftovers(): Promise<string[]> {
    this.#checkOpen();
    return [];
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #readTagged(name: string): TaggedObject | null {
    this.#check(name);
    const o = this.#objects.get(name);
    return o ? { bytes: Buffer.from(o.bytes), tag: tagOf(o), modified: o.modified } : null;
  }

  #writeIf(name: string, bytes: Buffer, expect: 'absent' | { readonly tag: string }): string | null {
    this.#check(name);
    const current = this.#objects.get(name);
    if (expect === 'absent' ? current !== undefined : current === undefined || tagOf(current) !== expect.tag) return null;
    return tagOf(this.#store(name, Buffer.from(bytes)));
  }

  #removeIf(name: string, tag: string): boolean {
    this.#check(name);
    const current = this.#objects.get(name);
    if (current === undefined || tagOf(current) !== tag) return false;
    this.#objects.delete(name);
    return true;
  }

  #store(name: string, bytes: Buffer): StoredObject {
    const o = { bytes, modified: this.#now(), version: ++this.#versions };
    this.#objects.set(name, o);
    return o;
  }

  #existing(name: string): StoredObject {
    this.#check(name);
    const o = this.#objects.get(name);
    if (!o) throw new BackendError('not-found', `${this.displayUrl}: cannot read ${name}: no such object`);
    return o;
  }

  #check(name: string): void {
    this.#checkOpen();
    // the same rule as file://: remote names are flat
    if (name.length === 0 || name.includes('/') || name.includes('\0') || name === '.' || name === '..') {
      throw new BackendError('config', `invalid remote file name ${JSON.stringify(name)}`);
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new BackendError('io', `${this.displayUrl}: the backend is closed`);
  }
}

const CHUNK = 1 << 16;

function tagOf(o: StoredObject): string {
  return `v${o.version}`;
}

function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}
