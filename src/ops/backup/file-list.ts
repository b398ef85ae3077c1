import { closeSync, openSync, writeSync } from 'node:fs';
import { indexToBytes, type PathIndex } from '../../core/path-index.ts';
import { quote } from '../../codec/quote.ts';

/**
 * The manifest's file list of a set being written (`    new      "path"` lines, duplicity's
 * form), gathered in a temporary file as the set is written, since it goes after the volumes'
 * records in the manifest. Each line's bytes are copied into one buffer of this writer's own and
 * written with a synchronous call when it is full: holding the lines as small buffers until
 * several thousand had gathered (as before) kept alive Node's 64 KiB allocation pool blocks they
 * were cut from, with everything else cut from them meanwhile (tar headers, signatures), long
 * enough for V8 to move them to the old generation, where their memory waited for a full GC:
 * tens of MiB of a backup's peak (bench/RESULTS.md, issue 18, session 6).
 */
export class FileListWriter {
  readonly #fd: number;
  readonly #buf = Buffer.allocUnsafeSlow(BUFFER_SIZE);
  #fill = 0;
  #count = 0;
  #closed = false;

  /** Creates (or truncates) `path`. */
  constructor(path: string) {
    this.#fd = openSync(path, 'w');
  }

  /** Lines added so far. */
  get count(): number {
    return this.#count;
  }

  add(type: 'new' | 'changed' | 'deleted', index: PathIndex): void {
    const tag = TAGS[type];
    const name = quote(indexToBytes(index));
    const size = tag.length + name.length + 1;
    if (this.#fill + size > this.#buf.length) this.#flush();
    if (size > this.#buf.length) {
      // a path longer than the buffer: written as it is
      this.#write(Buffer.concat([tag, name, NEWLINE]));
    } else {
      this.#fill += tag.copy(this.#buf, this.#fill);
      this.#fill += name.copy(this.#buf, this.#fill);
      this.#buf[this.#fill++] = 0x0a;
    }
    this.#count++;
  }

  /** Writes what is left and closes the file. */
  close(): void {
    if (this.#closed) return;
    try {
      this.#flush();
    } finally {
      this.#closed = true;
      closeSync(this.#fd);
    }
  }

  /** Closes the file without writing what is left (an error path; the caller removes the file). */
  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeSync(this.#fd);
  }

  #flush(): void {
    if (this.#fill === 0) return;
    this.#write(this.#buf.subarray(0, this.#fill));
    this.#fill = 0;
  }

  #write(bytes: Buffer): void {
    for (let at = 0; at < bytes.length; ) at += writeSync(this.#fd, bytes, at, bytes.length - at);
  }
}

const BUFFER_SIZE = 64 * 1024;
const NEWLINE = Buffer.from('\n');
const TAGS = {
  new: Buffer.from('    new      ', 'latin1'),
  changed: Buffer.from('    changed  ', 'latin1'),
  deleted: Buffer.from('    deleted  ', 'latin1'),
} as const;
