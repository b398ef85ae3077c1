/**
 * Manifests (`duplicity/manifest.py`, docs/duplicity-format.md §2): which index range each volume holds and the SHA1
 * of its remote bytes. Writers produce duplicity's on-disk layout piece by piece, in the order a
 * backup writes them (Hostname, Localdir, one block per volume, Filelist). The parser accepts
 * exactly what duplicity accepts and rejects with an Error what makes duplicity crash.
 */
import type { PathIndex } from '../core/path-index.ts';
import { compareIndex, indexToBytes } from '../core/path-index.ts';
import { parsePythonSafeInt } from './python-int.ts';
import { quote, unquote } from './quote.ts';

export interface VolumeInfo {
  volume: number;
  /** Index of the volume's first tar block; the root is `[]`. */
  startIndex: PathIndex;
  /** Multivol chunk number of that block, or null (whole entry, or the last chunk). */
  startBlock: number | null;
  endIndex: PathIndex;
  endBlock: number | null;
  /** Hash name (e.g. 'SHA1') to value, in manifest order; duplicity writes SHA1 in lowercase hex only. */
  hashes: Map<string, string>;
  /** permafrost's record of the stored object (`PermafrostStored`); absent in duplicity's manifests. */
  stored?: StoredRecord;
}

/**
 * What the object store held right after an upload: the object's size and the CRC-32C it keeps
 * (base64 of the big-endian value, as S3 returns it). permafrost writes it into the manifest so
 * that `verify` can check archived objects with HEAD after the local cache is gone. duplicity's
 * parsers skip lines with an unknown first word, so both 0.8.22 and 3.x read past it.
 */
export interface StoredRecord {
  readonly size: number;
  readonly crc32c: string;
}

export type FileChangeType = 'new' | 'changed' | 'deleted';

export interface FileChange {
  type: FileChangeType;
  /** Path relative to the backup root, unquoted. */
  path: Buffer;
}

export interface Manifest {
  /** Raw (written unquoted); null when absent. */
  hostname: Buffer | null;
  /** The source directory as written (unquoted here); null when absent. */
  localdir: Buffer | null;
  /**
   * Volumes in duplicity's dict order: each number at its first appearance, holding its last
   * definition. That is ascending for every manifest duplicity writes, and it is the order a
   * restore reads volumes in.
   */
  volumes: VolumeInfo[];
  /**
   * The Filelist (changed regular files). Undefined when the manifest has none, or when it is
   * malformed: duplicity reads it only for --file-changed, so it never makes a manifest invalid.
   */
  files?: FileChange[];
  /** permafrost's record of the set's signature file (`PermafrostSignatureStored`, before the volumes). */
  signatureStored?: StoredRecord;
}

const NEWLINE = Buffer.from('\n');

/** `Hostname <raw>\n` then `Localdir <quoted>\n`; each omitted when null or empty, as duplicity does. */
export function formatDirInfo(hostname: string | Buffer | null, localdir: string | Buffer | null): Buffer {
  const parts: Buffer[] = [];
  const host = typeof hostname === 'string' ? Buffer.from(hostname, 'utf8') : hostname;
  const dir = typeof localdir === 'string' ? Buffer.from(localdir, 'utf8') : localdir;
  if (host !== null && host.length > 0) {
    if (host.includes(0x0a)) throw new Error('hostname contains a newline and cannot be written to a manifest');
    parts.push(Buffer.from('Hostname '), host, NEWLINE);
  }
  if (dir !== null && dir.length > 0) parts.push(Buffer.from('Localdir '), quote(dir), NEWLINE);
  return Buffer.concat(parts);
}

/** One `Volume N:` block with its trailing newline, exactly as `VolumeInfo.to_string() + "\n"`. */
export function formatVolumeInfo(v: VolumeInfo): Buffer {
  if (!Number.isSafeInteger(v.volume) || v.volume < 0) throw new RangeError(`bad volume number ${v.volume}`);
  const parts: Buffer[] = [
    Buffer.from(`Volume ${v.volume}:\n    StartingPath   `),
    indexField(v.startIndex),
    Buffer.from(` ${blockField(v.startBlock)}\n    EndingPath     `),
    indexField(v.endIndex),
    Buffer.from(` ${blockField(v.endBlock)}\n`),
  ];
  for (const [name, value] of v.hashes) {
    if (!/^[^\s]+$/.test(name) || !/^[^\s]+$/.test(value)) throw new Error(`bad hash entry ${JSON.stringify(`${name} ${value}`)}`);
    parts.push(Buffer.from(`    Hash ${name} ${value}\n`, 'utf8'));
  }
  if (v.stored !== undefined) parts.push(Buffer.from(`    ${storedLine(VOLUME_RECORD, v.stored)}\n`, 'latin1'));
  return Buffer.concat(parts);
}

/**
 * The `PermafrostSignatureStored` line, which goes between Localdir and the first volume: there
 * duplicity looks only for Hostname and Localdir (after the volumes it would be read as part of the
 * file list and break its count).
 */
export function formatSignatureRecord(record: StoredRecord): Buffer {
  return Buffer.from(`${storedLine(SIGNATURE_RECORD, record)}\n`, 'latin1');
}

const VOLUME_RECORD = 'PermafrostStored';
const SIGNATURE_RECORD = 'PermafrostSignatureStored';
const CRC32C_BASE64 = /^[A-Za-z0-9+/]{6}==$/;

function storedLine(field: string, r: StoredRecord): string {
  if (!Number.isSafeInteger(r.size) || r.size < 0) throw new RangeError(`bad stored size ${r.size}`);
  if (!CRC32C_BASE64.test(r.crc32c)) throw new Error(`bad CRC-32C ${JSON.stringify(r.crc32c)}`);
  return `${field} ${r.size} CRC32C ${r.crc32c}`;
}

/** The words after a record's field name; a malformed record is no record (duplicity ignores it too). */
function parseStored(words: readonly string[]): StoredRecord | undefined {
  if (words.length !== 4 || words[2] !== 'CRC32C' || !/^[0-9]{1,15}$/.test(words[1]!) || !CRC32C_BASE64.test(words[3]!)) return undefined;
  return { size: Number(words[1]), crc32c: words[3]! };
}

/** `Filelist <k>\n` and one `    %-7s  <quoted path>\n` line per entry. */
export function formatFileList(entries: readonly FileChange[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`Filelist ${entries.length}\n`)];
  for (const e of entries) {
    if (e.type !== 'new' && e.type !== 'changed' && e.type !== 'deleted') throw new Error(`bad file change type ${JSON.stringify(e.type)}`);
    if (e.path.length === 0) throw new Error('empty path in file list');
    parts.push(Buffer.from(`    ${e.type.padEnd(7)}  `), quote(e.path), NEWLINE);
  }
  return Buffer.concat(parts);
}

/** A whole manifest in duplicity's on-disk order (the Filelist only when `files` is set). */
export function formatManifest(m: Manifest): Buffer {
  const parts = [formatDirInfo(m.hostname, m.localdir)];
  if (m.signatureStored !== undefined) parts.push(formatSignatureRecord(m.signatureStored));
  parts.push(...m.volumes.map(formatVolumeInfo));
  if (m.files !== undefined) parts.push(formatFileList(m.files));
  return Buffer.concat(parts);
}

/** The root is `.`; other indexes are quoted `a/b/c`. Rejects indexes that would read back differently. */
function indexField(index: PathIndex): Buffer {
  if (index.length === 0) return Buffer.from('.');
  for (const c of index) {
    if (c.length === 0 || c.includes(0x2f))
      throw new Error(`path component ${JSON.stringify(c.toString('latin1'))} cannot be written to a manifest`);
  }
  if (index.length === 1 && index[0]!.length === 1 && index[0]![0] === 0x2e)
    throw new Error("index ('.',) cannot be written to a manifest");
  return quote(indexToBytes(index));
}

function blockField(block: number | null): string {
  if (block === null) return ' ';
  if (!Number.isSafeInteger(block)) throw new RangeError(`bad block number ${block}`);
  return String(block);
}

/**
 * `Manifest.from_string()`: fields are case-insensitive; volume blocks run from a line starting
 * `volume` and a white-space character to the next such line; a repeated volume number replaces
 * the earlier block in place, and volumes numbered above the last block are dropped (a restarted
 * backup rewrites them).
 * Throws a one-line Error wherever duplicity would crash.
 */
export function parseManifest(buf: Buffer, opts: { fileList?: boolean } = {}): Manifest {
  const text = buf.toString('latin1'); // one char per byte; regexes below only look at ASCII
  const hostname = headerField(text, /(?:^|\n)hostname[ \t\n\v\f\r]([^\n]*?)\n/i, 'Hostname');
  if (hostname !== null && !isUtf8(hostname)) throw new Error('manifest Hostname is not valid UTF-8');
  const localdir = headerField(text, /(?:^|\n)localdir[ \t\n\v\f\r]([^\n]*?)\n/i, 'Localdir');

  const volumes = new VolumeList();
  for (const block of volumeBlocks(text)) volumes.add(parseVolumeBlock(block));

  const manifest: Manifest = { hostname, localdir, volumes: volumes.finish() };
  // (`fileList: false`: the file list is neither parsed nor checked; 100k entries take 60 ms)
  const files = opts.fileList === false ? undefined : parseFileList(text);
  if (files !== undefined) manifest.files = files;
  const signatureStored = headerRecord(text);
  if (signatureStored !== undefined) manifest.signatureStored = signatureStored;
  return manifest;
}

/**
 * Volume blocks in duplicity's dict order: a repeated number replaces the earlier block in place;
 * numbers above the last block's are dropped, and must all be there.
 */
export class VolumeList {
  readonly #byNumber = new Map<number, VolumeInfo>();
  #latest = 0;
  #highest = 0;

  add(v: VolumeInfo): void {
    this.#byNumber.set(v.volume, v);
    this.#latest = v.volume;
    this.#highest = Math.max(this.#highest, v.volume);
  }

  finish(): VolumeInfo[] {
    const latest = this.#latest;
    const highest = this.#highest;
    for (let n = latest + 1; n <= highest; n++) {
      if (!this.#byNumber.delete(n))
        throw new Error(`manifest ends with volume ${latest} after listing volume ${highest}, but volume ${n} is missing`);
    }
    return [...this.#byNumber.values()];
  }
}

/** A Hostname field's value as written (the rest of its line), unquoted and checked. */
export function hostnameValue(latin1: string): Buffer {
  const hostname = unquoteField(latin1, 'Hostname field');
  if (!isUtf8(hostname)) throw new Error('manifest Hostname is not valid UTF-8');
  return hostname;
}

/** A Localdir field's value as written, unquoted. */
export function localdirValue(latin1: string): Buffer {
  return unquoteField(latin1, 'Localdir field');
}

/** A header line's `PermafrostSignatureStored` record, or undefined when it is none or malformed. */
export function signatureRecordOf(line: string): StoredRecord | undefined {
  const words = splitAscii(line);
  if (words[0]?.toLowerCase() !== SIGNATURE_RECORD.toLowerCase()) return undefined;
  return parseStored(words);
}

/**
 * `get_containing_volumes`: the volumes that may hold `index` or anything under it, i.e. with
 * `start[:len(index)] <= index <= end`, in manifest order. `[]` selects every volume.
 */
export function volumesContaining(manifest: Manifest, index: PathIndex): VolumeInfo[] {
  return manifest.volumes.filter(
    (v) => compareIndex(v.startIndex.slice(0, index.length), index) <= 0 && compareIndex(index, v.endIndex) <= 0,
  );
}

/**
 * `Manifest.__eq__`, duplicity's check that the remote manifest matches the local copy before an
 * incremental. Despite its comments (see docs/duplicity-format.md §2.6), it compares only the sorted volume numbers
 * (its per-volume loop compares the numbers again, not the VolumeInfos), Hostname and Localdir.
 * Matching that keeps a chain duplicity would extend extendable here.
 */
export function manifestsEqual(a: Manifest, b: Manifest): boolean {
  const numbers = (m: Manifest): string =>
    m.volumes
      .map((v) => v.volume)
      .sort((x, y) => x - y)
      .join(',');
  return numbers(a) === numbers(b) && sameBytes(a.hostname, b.hostname) && sameBytes(a.localdir, b.localdir);
}

function sameBytes(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}

/** `get_field`: the rest of the first matching line (which must end in '\n'), unquoted. */
function headerField(text: string, re: RegExp, name: string): Buffer | null {
  const m = re.exec(text);
  if (m === null) return null;
  return unquoteField(m[1]!, `${name} field`);
}

function unquoteField(latin1: string, what: string): Buffer {
  try {
    return unquote(Buffer.from(latin1, 'latin1'));
  } catch (e) {
    throw new Error(`manifest ${what}: ${(e as Error).message}`);
  }
}

/** The last well-formed `PermafrostSignatureStored` line before the first volume block. */
function headerRecord(text: string): StoredRecord | undefined {
  const end = firstVolumeStart(text);
  let found: StoredRecord | undefined;
  for (const line of (end < 0 ? text : text.slice(0, end)).split('\n')) found = signatureRecordOf(line) ?? found;
  return found;
}

/** Python's bytes `\s`. */
export function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** `volume` (any case) followed by a white-space character, at `p`. */
function isVolumeStart(text: string, p: number): boolean {
  if (p + 6 >= text.length) return false;
  const word = 'volume';
  for (let i = 0; i < 6; i++) if ((text.charCodeAt(p + i) | 0x20) !== word.charCodeAt(i)) return false;
  return isSpace(text.charCodeAt(p + 6));
}

/**
 * The matches of duplicity's `(?:^|\n)(volume\s.*(?:\n.*)*?)(?=\nvolume\s|$)` (case-insensitive),
 * found by a linear scan. Python's `$` also matches before a final newline, so the last block
 * excludes it; the `\s` may itself be a newline, which pulls the next line into the first one.
 */
function* volumeBlocks(text: string): Generator<string> {
  // (the regex engine finds the next block's line; a line-by-line loop here took 20 ms for a
  // manifest whose file list has 100k lines)
  const next = new RegExp(VOLUME_LINE.source, 'gi');
  let start = firstVolumeStart(text);
  while (start >= 0) {
    next.lastIndex = lineEnd(text, start + 7);
    const m = next.exec(text);
    if (m === null) {
      // to the end of the text, less a final newline
      const last = text.length - 1;
      yield text.slice(start, last >= start + 7 && text.charCodeAt(last) === 0x0a ? last : text.length);
      return;
    }
    yield text.slice(start, m.index);
    start = m.index + 1;
  }
}

/** A newline followed by `volume` (any case) and a white-space character. */
const VOLUME_LINE = /\n(?=volume[ \t\n\v\f\r])/i;

/** Where the first volume block starts, or -1. */
function firstVolumeStart(text: string): number {
  if (isVolumeStart(text, 0)) return 0;
  const m = VOLUME_LINE.exec(text);
  return m === null ? -1 : m.index + 1;
}

function lineEnd(text: string, from: number): number {
  const i = text.indexOf('\n', from);
  return i < 0 ? text.length : i;
}

/** `VolumeInfo.from_string()`. */
function parseVolumeBlock(block: string): VolumeInfo {
  const body = stripAscii(block);
  const firstEnd = lineEnd(body, 0);
  const fields = new VolumeFields(volumeNumber(body.slice(0, firstEnd)));
  // The last block runs on through the Filelist (duplicity's regex does the same): its lines
  // (new, changed, deleted) name no field, so they are passed over without being cut out and split.
  for (let from = firstEnd + 1, end = 0; from <= body.length; from = end + 1) {
    end = lineEnd(body, from);
    if (end === from) continue; // an empty line
    let at = from;
    while (at < end && isSpace(body.charCodeAt(at))) at++;
    if (at === end) throw fields.blankLineError();
    if (!isFieldInitial(body.charCodeAt(at))) continue;
    fields.read(body.slice(from, end));
  }
  return fields.finish();
}

/** The number in a volume block's first line (`volume N:`, any case), which is `line` as stripped. */
export function volumeNumber(line: string): number {
  const first = /^volume ([0-9]+):/i.exec(line);
  if (first === null) throw new Error(`manifest has a bad volume line ${JSON.stringify(clip(line))}`);
  const volume = parsePythonSafeInt(first[1]!, 10, true);
  if (volume === null) throw new Error(`manifest volume number ${clip(first[1]!)} is too large`);
  return volume;
}

/** What a volume block's lines after the first give, read one line at a time. */
export class VolumeFields {
  readonly volume: number;
  startIndex: PathIndex | null = null;
  startBlock: number | null = null;
  endIndex: PathIndex | null = null;
  endBlock: number | null = null;
  readonly hashes = new Map<string, string>();
  stored: StoredRecord | undefined;

  constructor(volume: number) {
    this.volume = volume;
  }

  /** A line whose first non-space character passes isFieldInitial. */
  read(line: string): void {
    const volume = this.volume;
    const words = splitAscii(line);
    const field = words[0]!.toLowerCase();
    if (field === 'startingpath' || field === 'endingpath') {
      const label = field === 'startingpath' ? 'StartingPath' : 'EndingPath';
      if (words.length < 2) throw new Error(`manifest volume ${volume} has an empty ${label}`);
      const index = parseIndex(words[1]!, `volume ${volume} ${label}`);
      const block = words.length > 2 ? parsePythonSafeInt(words[2]!, 10, true) : null;
      if (words.length > 2 && block === null)
        throw new Error(`manifest volume ${volume} has a bad ${label} block number ${JSON.stringify(clip(words[2]!))}`);
      if (field === 'startingpath') {
        this.startIndex = index;
        this.startBlock = block;
      } else {
        this.endIndex = index;
        this.endBlock = block;
      }
    } else if (field === 'hash') {
      if (words.length < 3) throw new Error(`manifest volume ${volume} has an incomplete Hash line`);
      const name = Buffer.from(words[1]!, 'latin1');
      const value = Buffer.from(words[2]!, 'latin1');
      if (!isUtf8(name) || !isUtf8(value)) throw new Error(`manifest volume ${volume} has a Hash line that is not UTF-8`);
      this.hashes.set(name.toString('utf8'), value.toString('utf8'));
    } else if (field === VOLUME_RECORD.toLowerCase()) {
      this.stored = parseStored(words) ?? this.stored;
    }
  }

  /** A line of only white space with more of the block after it. */
  blankLineError(): Error {
    return new Error(`manifest volume ${this.volume} has a line of only white space`);
  }

  finish(): VolumeInfo {
    const { volume, startIndex, startBlock, endIndex, endBlock, hashes, stored } = this;
    if (startIndex === null) throw new Error(`manifest volume ${volume} has no StartingPath`);
    if (endIndex === null) throw new Error(`manifest volume ${volume} has no EndingPath`);
    return { volume, startIndex, startBlock, endIndex, endBlock, hashes, ...(stored !== undefined ? { stored } : {}) };
  }
}

/** Whether a block line starting (after white space) with `c` may name a field parseVolumeBlock reads. */
export function isFieldInitial(c: number): boolean {
  return FIELD_INITIALS.includes(c | 0x20);
}

/** Lowercased first letters of the fields parseVolumeBlock reads (StartingPath, EndingPath, Hash, PermafrostStored). */
const FIELD_INITIALS = ['s', 'e', 'h', VOLUME_RECORD[0]!.toLowerCase()].map((c) => c.charCodeAt(0));

/** `string_to_index`: unquote, `.` is the root, otherwise split on '/' keeping every component. */
function parseIndex(word: string, what: string): PathIndex {
  const raw = unquoteField(word, what);
  if (raw.length === 1 && raw[0] === 0x2e) return [];
  const parts: Buffer[] = [];
  let from = 0;
  for (let i = 0; i <= raw.length; i++) {
    if (i === raw.length || raw[i] === 0x2f) {
      parts.push(Buffer.from(raw.subarray(from, i)));
      from = i + 1;
    }
  }
  return parts;
}

/**
 * The Filelist as `--file-changed` would read it: `(^|\n)filelist\s([0-9]+)\n(.*?)(\nvolume\s|$)`
 * with DOTALL, one `type path` per line. Paths are unquoted here (duplicity keeps them quoted).
 */
function parseFileList(text: string): FileChange[] | undefined {
  const m = /(?:^|\n)filelist[ \t\n\v\f\r]([0-9]+)\n([\s\S]*?)(?:\nvolume[ \t\n\v\f\r]|(?=\n?$))/i.exec(text);
  if (m === null) return undefined;
  if (/^0+$/.test(m[1]!)) return [];
  const out: FileChange[] = [];
  for (const line of m[2]!.split('\n')) {
    const words = splitAscii(line);
    const type = words[0];
    if (words.length < 2 || (type !== 'new' && type !== 'changed' && type !== 'deleted')) return undefined;
    try {
      out.push({ type, path: Buffer.from(unquote(Buffer.from(words.slice(1).join(''), 'latin1'))) });
    } catch {
      return undefined;
    }
  }
  return out;
}

/** `bytes.strip()`: ASCII white space only. */
function stripAscii(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isSpace(s.charCodeAt(a))) a++;
  while (b > a && isSpace(s.charCodeAt(b - 1))) b--;
  return s.slice(a, b);
}

/** `bytes.split()`: runs of ASCII white space, no empty words. */
function splitAscii(s: string): string[] {
  return s.split(/[ \t\n\v\f\r]+/).filter((w) => w !== '');
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function isUtf8(b: Buffer): boolean {
  try {
    STRICT_UTF8.decode(b);
    return true;
  } catch {
    return false;
  }
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}
