/**
 * Remote file names (`duplicity/file_naming.py`, docs/duplicity-format.md §1.2-1.6): building the long and short
 * forms, and recognising names in a listing exactly as duplicity's `parse()` does, so that both
 * tools see the same sets in the same remote directory.
 *
 * One deliberate difference: duplicity pastes the prefixes into its regexes unescaped, so a prefix
 * such as `a.b` would also match `axb`; here prefixes match literally.
 */
import { parsePythonSafeInt } from './python-int.ts';
import { timeToString, tryParseTimeSpec } from './time-string.ts';

export type RemoteFileKind = 'full' | 'inc' | 'full-sig' | 'new-sig';

export interface ParsedName {
  readonly kind: RemoteFileKind;
  readonly manifest: boolean;
  /** Volumes only (`full`, `inc` with manifest false). */
  readonly volume?: number;
  /** `full` and `full-sig`. */
  readonly time?: number;
  /** `inc` and `new-sig`. */
  readonly startTime?: number;
  readonly endTime?: number;
  readonly compressed: boolean;
  readonly encrypted: boolean;
  /** A `.part` / `.p` manifest or signature file (local archive directory only). Never set for volumes. */
  readonly partial: boolean;
}

/** `--file-prefix`, `--file-prefix-archive`, `--file-prefix-manifest`, `--file-prefix-signature`. */
export interface NamePrefixes {
  readonly base: string;
  readonly archive: string;
  readonly manifest: string;
  readonly signature: string;
}

export const NO_PREFIXES: NamePrefixes = Object.freeze({ base: '', archive: '', manifest: '', signature: '' });

export interface ParseNameOptions {
  /** "Now" for time fields written as intervals (duplicity's curtime). Default: the clock. */
  readonly now?: number;
  /** `--time-separator`, for old-style time fields. Default ':'. */
  readonly timeSeparator?: string;
  /** `--short-filenames`: only short names are recognised, and `gz`/`.gpg` endings set no flag. */
  readonly shortFilenames?: boolean;
}

/** Which backup set a file belongs to: a full one at `time`, or an incremental from `startTime` to `endTime`. */
export type SetTimes =
  | { readonly kind: 'full'; readonly time: number }
  | { readonly kind: 'inc'; readonly startTime: number; readonly endTime: number };

export interface NameOptions {
  /** `.gpg` / `.g`; wins over compression. */
  readonly encrypted?: boolean;
  /** `.gz` / `.z` when not encrypted. */
  readonly compressed?: boolean;
  /** `.part` / `.p`, before the suffix (local checkpoint copies). */
  readonly partial?: boolean;
  /** `--short-filenames` (deprecated) base-36 form. */
  readonly short?: boolean;
}

/** `{P}{PA}duplicity-full.{T}.vol{N}.difftar{S}` and the other volume forms. */
export function volumeName(set: SetTimes, volume: number, prefixes: NamePrefixes = NO_PREFIXES, opts: NameOptions = {}): string {
  if (!Number.isSafeInteger(volume) || volume < 1) throw new RangeError(`volume number must be a positive integer, got ${volume}`);
  const volPart = opts.short ? `${base36(volume)}.dt` : `vol${volume}.difftar`;
  return prefixes.base + prefixes.archive + setStem(set, opts.short === true) + volPart + tail(opts);
}

/** `{P}{PM}duplicity-full.{T}.manifest{E}`; never compressed (duplicity builds it with encryption only). */
export function manifestName(set: SetTimes, prefixes: NamePrefixes = NO_PREFIXES, opts: NameOptions = {}): string {
  const body = opts.short ? 'm' : 'manifest';
  return prefixes.base + prefixes.manifest + setStem(set, opts.short === true) + body + tail({ ...opts, compressed: false });
}

/** `{P}{PS}duplicity-full-signatures.{T}.sigtar{S}` or `…duplicity-new-signatures.{T0}.to.{T1}.sigtar{S}`. */
export function signatureName(set: SetTimes, prefixes: NamePrefixes = NO_PREFIXES, opts: NameOptions = {}): string {
  let stem: string;
  if (opts.short) {
    stem = set.kind === 'full' ? `dfs.${base36Time(set.time)}.st` : `dns.${base36Time(set.startTime)}.${base36Time(set.endTime)}.st`;
  } else {
    stem =
      set.kind === 'full'
        ? `duplicity-full-signatures.${timeToString(set.time)}.sigtar`
        : `duplicity-new-signatures.${timeToString(set.startTime)}.to.${timeToString(set.endTime)}.sigtar`;
  }
  return prefixes.base + prefixes.signature + stem + tail(opts);
}

function setStem(set: SetTimes, short: boolean): string {
  if (short) {
    return set.kind === 'full' ? `df.${base36Time(set.time)}.` : `di.${base36Time(set.startTime)}.${base36Time(set.endTime)}.`;
  }
  return set.kind === 'full'
    ? `duplicity-full.${timeToString(set.time)}.`
    : `duplicity-inc.${timeToString(set.startTime)}.to.${timeToString(set.endTime)}.`;
}

/** `file_naming.get_suffix()` after the partial marker. */
function tail(opts: NameOptions): string {
  const part = opts.partial ? (opts.short ? '.p' : '.part') : '';
  if (opts.encrypted) return part + (opts.short ? '.g' : '.gpg');
  if (opts.compressed) return part + (opts.short ? '.z' : '.gz');
  return part;
}

function base36Time(t: number): string {
  if (!Number.isSafeInteger(t) || t < 1) throw new RangeError(`short file names need a positive time, got ${t}`);
  return base36(t);
}

function base36(n: number): string {
  return n.toString(36);
}

/**
 * `file_naming.parse()`: the kind, times, volume and flags of a duplicity file name, or null for
 * a name duplicity ignores. Full names are tried, then incremental, then signatures; in each
 * group the short form first. A name that matches a group but whose time does not parse (or is
 * 0) fails that group; a full-signature name with a bad time fails the whole parse.
 *
 * Differences from duplicity, for names it would crash on or keep with absurd values: volume 0
 * (an assertion in duplicity) and numbers beyond 2^53 give null.
 */
export function parseRemoteName(name: string, prefixes: NamePrefixes = NO_PREFIXES, opts: ParseNameOptions = {}): ParsedName | null {
  if (opts.now !== undefined && !Number.isSafeInteger(opts.now)) throw new RangeError(`now must be whole seconds, got ${opts.now}`);
  const re = regexesFor(prefixes);
  const short = opts.shortFilenames === true;
  const ctx: TimeContext = {
    now: opts.now ?? Math.floor(Date.now() / 1000),
    timeSeparator: opts.timeSeparator ?? ':',
  };
  const found = matchFull(name, re, short, ctx) ?? matchInc(name, re, short, ctx) ?? matchSig(name, re, short, ctx);
  if (found === null || found === FAILED) return null;
  return {
    ...found,
    compressed: name.endsWith('.z') || (!short && name.endsWith('gz')),
    encrypted: name.endsWith('.g') || (!short && name.endsWith('.gpg')),
  };
}

type Unflagged = Omit<ParsedName, 'compressed' | 'encrypted'>;
/** A match that ends the whole parse with no result (a full-signature name with a bad time). */
const FAILED = Symbol('failed');

interface TimeContext {
  readonly now: number;
  readonly timeSeparator: string;
}

function matchFull(name: string, re: NameRegexes, shortOnly: boolean, ctx: TimeContext): Unflagged | null {
  let short = true;
  let vol = re.fullVolShort.exec(name);
  let man = re.fullManifestShort.exec(name);
  if (vol === null && man === null && !shortOnly) {
    short = false;
    vol = re.fullVol.exec(name);
    man = re.fullManifest.exec(name);
  }
  const m = vol ?? man;
  if (m === null) return null;
  const time = fieldTime(m.groups!['time']!, short, ctx);
  if (time === null) return null;
  if (vol !== null) {
    const volume = volumeNumber(vol.groups!['num']!, short);
    return volume === null ? null : { kind: 'full', manifest: false, volume, time, partial: false };
  }
  return { kind: 'full', manifest: true, time, partial: m.groups!['partial'] !== undefined };
}

function matchInc(name: string, re: NameRegexes, shortOnly: boolean, ctx: TimeContext): Unflagged | null {
  let short = true;
  let vol = re.incVolShort.exec(name);
  let man = re.incManifestShort.exec(name);
  if (vol === null && man === null && !shortOnly) {
    short = false;
    vol = re.incVol.exec(name);
    man = re.incManifest.exec(name);
  }
  const m = vol ?? man;
  if (m === null) return null;
  const startTime = fieldTime(m.groups!['start']!, short, ctx);
  const endTime = fieldTime(m.groups!['end']!, short, ctx);
  if (startTime === null || endTime === null) return null;
  if (vol !== null) {
    const volume = volumeNumber(vol.groups!['num']!, short);
    return volume === null ? null : { kind: 'inc', manifest: false, volume, startTime, endTime, partial: false };
  }
  return { kind: 'inc', manifest: true, startTime, endTime, partial: m.groups!['partial'] !== undefined };
}

function matchSig(name: string, re: NameRegexes, shortOnly: boolean, ctx: TimeContext): Unflagged | typeof FAILED | null {
  let short = true;
  let m = re.fullSigShort.exec(name);
  if (m === null && !shortOnly) {
    short = false;
    m = re.fullSig.exec(name);
  }
  if (m !== null) {
    const time = fieldTime(m.groups!['time']!, short, ctx);
    if (time === null) return FAILED;
    return { kind: 'full-sig', manifest: false, time, partial: m.groups!['partial'] !== undefined };
  }
  short = true;
  m = re.newSigShort.exec(name);
  if (m === null && !shortOnly) {
    short = false;
    m = re.newSig.exec(name);
  }
  if (m === null) return null;
  const startTime = fieldTime(m.groups!['start']!, short, ctx);
  const endTime = fieldTime(m.groups!['end']!, short, ctx);
  if (startTime === null || endTime === null) return null;
  return { kind: 'new-sig', manifest: false, startTime, endTime, partial: m.groups!['partial'] !== undefined };
}

/** `str2time`: base 36 for short names, else `genstrtotime(upper())`; 0 counts as failure (`if t:`). */
function fieldTime(field: string, short: boolean, ctx: TimeContext): number | null {
  const t = short ? fromBase36(field) : tryParseTimeSpec(field.toUpperCase(), ctx.now, ctx);
  return t === 0 ? null : t;
}

function volumeNumber(field: string, short: boolean): number | null {
  const n = short ? fromBase36(field) : parsePythonSafeInt(field, 10, true);
  return n !== null && Number.isSafeInteger(n) && n > 0 ? n : null;
}

/** The regexes guarantee [0-9a-z]+. Null beyond 2^53. */
function fromBase36(s: string): number | null {
  let total = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    total = total * 36 + (c <= 0x39 ? c - 0x30 : c - 0x61 + 10);
    if (total > Number.MAX_SAFE_INTEGER) return null;
  }
  return total;
}

interface NameRegexes {
  readonly fullVol: RegExp;
  readonly fullVolShort: RegExp;
  readonly fullManifest: RegExp;
  readonly fullManifestShort: RegExp;
  readonly incVol: RegExp;
  readonly incVolShort: RegExp;
  readonly incManifest: RegExp;
  readonly incManifestShort: RegExp;
  readonly fullSig: RegExp;
  readonly fullSigShort: RegExp;
  readonly newSig: RegExp;
  readonly newSigShort: RegExp;
}

const regexCache = new Map<string, NameRegexes>();

/**
 * `file_naming.prepare_regex()`. Python's bytes `.` is any byte but `\n`, and its `$` also
 * matches before a final `\n`; the translations below keep both.
 */
function regexesFor(p: NamePrefixes): NameRegexes {
  const key = JSON.stringify([p.base, p.archive, p.manifest, p.signature]);
  const cached = regexCache.get(key);
  if (cached !== undefined) return cached;
  const any = '[^\\n]*?';
  const b36 = '[0-9a-z]+?';
  const end = '(?:\\.|(?=\\n?$))';
  const build = (prefix: string, body: string): RegExp => new RegExp(`^${escapeRegex(p.base + prefix)}${body}${end}`);
  const regexes: NameRegexes = {
    fullVol: build(p.archive, `duplicity-full\\.(?<time>${any})\\.vol(?<num>[0-9]+)\\.difftar(?<partial>\\.part)?`),
    fullVolShort: build(p.archive, `df\\.(?<time>${b36})\\.(?<num>[0-9a-z]+)\\.dt(?<partial>\\.p)?`),
    fullManifest: build(p.manifest, `duplicity-full\\.(?<time>${any})\\.manifest(?<partial>\\.part)?`),
    fullManifestShort: build(p.manifest, `df\\.(?<time>${b36})\\.m(?<partial>\\.p)?`),
    incVol: build(p.archive, `duplicity-inc\\.(?<start>${any})\\.to\\.(?<end>${any})\\.vol(?<num>[0-9]+)\\.difftar`),
    incVolShort: build(p.archive, `di\\.(?<start>${b36})\\.(?<end>${b36})\\.(?<num>[0-9a-z]+)\\.dt`),
    incManifest: build(p.manifest, `duplicity-inc\\.(?<start>${any})\\.to\\.(?<end>${any})\\.manifest(?<partial>\\.part)?`),
    incManifestShort: build(p.manifest, `di\\.(?<start>${b36})\\.(?<end>${b36})\\.m(?<partial>\\.p)?`),
    fullSig: build(p.signature, `duplicity-full-signatures\\.(?<time>${any})\\.sigtar(?<partial>\\.part)?`),
    fullSigShort: build(p.signature, `dfs\\.(?<time>${b36})\\.st(?<partial>\\.p)?`),
    newSig: build(p.signature, `duplicity-new-signatures\\.(?<start>${any})\\.to\\.(?<end>${any})\\.sigtar(?<partial>\\.part)?`),
    newSigShort: build(p.signature, `dns\\.(?<start>${b36})\\.(?<end>${b36})\\.st(?<partial>\\.p)?`),
  };
  if (regexCache.size > 64) regexCache.clear();
  regexCache.set(key, regexes);
  return regexes;
}

function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}
