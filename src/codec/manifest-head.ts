/**
 * A manifest read without its file list, from chunks of any size: what `parseManifest(buf, {
 * fileList: false })` returns (or the same Error), without holding the manifest (40 MB at a million
 * files). Lines are handled one at a time in duplicity's terms (codec/manifest.ts): Hostname and
 * Localdir are the first such lines anywhere, a volume block runs to the next `volume` line and the
 * last one on through the Filelist, wherever the Filelist stands; file-list lines are passed over
 * after a look at their first characters. The one difference: a line that may hold a field and is
 * longer than MAX_LINE is an error here (duplicity would read it whole).
 */
import {
  hostnameValue,
  isFieldInitial,
  isSpace,
  localdirValue,
  type Manifest,
  type StoredRecord,
  signatureRecordOf,
  VolumeFields,
  VolumeList,
  volumeNumber,
} from './manifest.ts';

/** The longest line kept whole; longer lines that name no field are passed over from their start. */
export const MAX_LINE = 1 << 20;

export class ManifestHeadReader {
  /** a line begun in an earlier chunk */
  #carry = Buffer.allocUnsafeSlow(4096);
  #carryLength = 0;
  /** in a line longer than MAX_LINE, already handled from its start */
  #passing = false;

  /** the raw (latin1) values; undefined until found */
  #hostname: string | undefined;
  #localdir: string | undefined;
  /** the last line was exactly `hostname` / `localdir`: the next one is the value */
  #hostnameNext = false;
  #localdirNext = false;

  #signatureStored: StoredRecord | undefined;
  readonly #volumes = new VolumeList();
  /** the open volume block, null before the first */
  #block: VolumeFields | null = null;
  /** the open block's first line when it is no `volume N:` line (its error waits for the block's end) */
  #badFirstLine: string | null = null;
  /** a line of only white space in the open block, an error if more of the block follows */
  #blankLine = false;
  /** the first error among the volume blocks; later lines then matter only for Hostname and Localdir */
  #volumeError: Error | null = null;

  /** The next bytes of the manifest; `chunk` may be reused once this returns. */
  push(chunk: Buffer): void {
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, from);
      if (nl < 0) {
        this.#gather(chunk, from, chunk.length);
        return;
      }
      if (this.#passing) {
        this.#passing = false;
      } else if (this.#carryLength === 0) {
        this.#line(chunk, from, nl, true);
      } else {
        this.#gather(chunk, from, nl);
        if (!this.#passing) this.#line(this.#carry, 0, this.#carryLength, true);
        this.#passing = false;
        this.#carryLength = 0;
      }
      from = nl + 1;
    }
  }

  /** After the last chunk: the manifest, or the Error parseManifest would throw. */
  end(): Manifest {
    if (!this.#passing && this.#carryLength > 0) this.#line(this.#carry, 0, this.#carryLength, false);
    this.#carryLength = 0;
    this.#endBlock();
    const hostname = this.#hostname === undefined ? null : hostnameValue(this.#hostname);
    const localdir = this.#localdir === undefined ? null : localdirValue(this.#localdir);
    if (this.#volumeError !== null) throw this.#volumeError;
    const manifest: Manifest = { hostname, localdir, volumes: this.#volumes.finish() };
    if (this.#signatureStored !== undefined) manifest.signatureStored = this.#signatureStored;
    return manifest;
  }

  /** Keeps part of a line that continues in the next chunk. */
  #gather(src: Buffer, from: number, to: number): void {
    if (this.#passing || from === to) return;
    const length = this.#carryLength + (to - from);
    if (length > MAX_LINE) {
      src.copy(this.#grown(MAX_LINE), this.#carryLength, from, from + (MAX_LINE - this.#carryLength));
      if (!this.#passable(this.#carry, 0, MAX_LINE))
        throw new Error(`manifest has a line longer than ${MAX_LINE} bytes that may hold a field`);
      this.#line(this.#carry, 0, MAX_LINE, true);
      this.#passing = true;
      this.#carryLength = 0;
      return;
    }
    src.copy(this.#grown(length), this.#carryLength, from, to);
    this.#carryLength = length;
  }

  #grown(length: number): Buffer {
    if (this.#carry.length < length) {
      const bigger = Buffer.allocUnsafeSlow(Math.min(MAX_LINE, Math.max(length, this.#carry.length * 2)));
      this.#carry.copy(bigger, 0, 0, this.#carryLength);
      this.#carry = bigger;
    }
    return this.#carry;
  }

  /** Whether the line starting `b[s..e)` is handled the same whatever follows: it can hold no field. */
  #passable(b: Buffer, s: number, e: number): boolean {
    if (this.#hostnameNext || this.#localdirNext) return false;
    const c = b[s]! | 0x20;
    if (c === 0x76 || c === 0x68 || c === 0x6c) return false; // volume, hostname, localdir
    let at = s;
    while (at < e && isSpace(b[at]!)) at++;
    return at < e && !isFieldInitial(b[at]!);
  }

  /** One line, `b[s..e)` without its newline; `terminated` is false for a last line without one. */
  #line(b: Buffer, s: number, e: number, terminated: boolean): void {
    // `(^|\n)hostname\s([^\n]*?)\n`, case-insensitive; the `\s` may be the newline
    if (this.#hostname === undefined) {
      if (this.#hostnameNext) {
        this.#hostnameNext = false;
        if (terminated) this.#hostname = b.toString('latin1', s, e);
      } else if (terminated && startsWith(b, s, e, HOSTNAME)) {
        if (e - s === HOSTNAME.length) this.#hostnameNext = true;
        else if (isSpace(b[s + HOSTNAME.length]!)) this.#hostname = b.toString('latin1', s + HOSTNAME.length + 1, e);
      }
    }
    if (this.#localdir === undefined) {
      if (this.#localdirNext) {
        this.#localdirNext = false;
        if (terminated) this.#localdir = b.toString('latin1', s, e);
      } else if (terminated && startsWith(b, s, e, LOCALDIR)) {
        if (e - s === LOCALDIR.length) this.#localdirNext = true;
        else if (isSpace(b[s + LOCALDIR.length]!)) this.#localdir = b.toString('latin1', s + LOCALDIR.length + 1, e);
      }
    }
    if (this.#volumeError !== null) return;
    try {
      this.#volumeLine(b, s, e, terminated);
    } catch (err) {
      this.#volumeError = err as Error;
    }
  }

  #volumeLine(b: Buffer, s: number, e: number, terminated: boolean): void {
    // `volume` and a white-space character, which may be the line's newline
    if (startsWith(b, s, e, VOLUME) && (e - s > VOLUME.length ? isSpace(b[s + VOLUME.length]!) : terminated && e - s === VOLUME.length)) {
      this.#endBlock();
      const first = b.toString('latin1', s, e);
      try {
        this.#block = new VolumeFields(volumeNumber(first));
      } catch {
        this.#badFirstLine = first;
      }
      this.#blankLine = false;
      return;
    }
    if (this.#block === null && this.#badFirstLine === null) {
      // before the first volume block
      let at = s;
      while (at < e && isSpace(b[at]!)) at++;
      if (at < e && (b[at]! | 0x20) === 0x70)
        this.#signatureStored = signatureRecordOf(b.toString('latin1', s, e)) ?? this.#signatureStored;
      return;
    }
    if (s === e) return; // an empty line
    let at = s;
    while (at < e && isSpace(b[at]!)) at++;
    if (at === e) {
      this.#blankLine = true;
      return;
    }
    // the block goes on: what waited for that is an error now
    if (this.#badFirstLine !== null) volumeNumber(this.#badFirstLine);
    if (this.#blankLine) throw this.#block!.blankLineError();
    if (isFieldInitial(b[at]!)) this.#block!.read(b.toString('latin1', s, e));
  }

  /** The open block is complete (its trailing white space stripped, as duplicity strips it). */
  #endBlock(): void {
    if (this.#volumeError !== null) return;
    try {
      if (this.#badFirstLine !== null) volumeNumber(this.#badFirstLine.replace(TRAILING_SPACE, ''));
      if (this.#block !== null) this.#volumes.add(this.#block.finish());
    } catch (err) {
      this.#volumeError = err as Error;
    } finally {
      this.#block = null;
      this.#badFirstLine = null;
    }
  }
}

const HOSTNAME = Buffer.from('hostname');
const LOCALDIR = Buffer.from('localdir');
const VOLUME = Buffer.from('volume');
const TRAILING_SPACE = /[ \t\n\v\f\r]+$/;

/** `b[s..e)` begins with the lowercase ASCII `word`, in any case. */
function startsWith(b: Buffer, s: number, e: number, word: Buffer): boolean {
  if (e - s < word.length) return false;
  for (let i = 0; i < word.length; i++) if ((b[s + i]! | 0x20) !== word[i]) return false;
  return true;
}
