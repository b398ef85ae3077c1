/**
 * duplicity's time strings (`duplicity/dup_time.py`, docs/duplicity-format.md §1.1 and §7.5): the 16-character UTC
 * form used in file names, the old zoned form, and the `--time` / `remove-older-than` syntax
 * (`genstrtotime`). The parsers follow the Python code closely, quirks included, because file
 * names that duplicity accepts (or ignores) must be accepted (or ignored) here too.
 *
 * Local time is the process time zone (`TZ`). Python takes two things from it: `time.timezone`
 * (the standard offset of the current year) and `mktime` with DST forced off (the standard offset
 * of the given date). JavaScript has no DST flag, so the standard offset of a year is taken as the
 * smaller of its January and July offsets. That is glibc's answer for every zone whose DST adds
 * time; zones with "negative DST" in tzdata (Europe/Dublin, Africa/Casablanca) and years in which
 * a zone changed its standard offset can differ by the size of that change.
 */
import { parsePythonInt, parsePythonSafeInt } from './python-int.ts';

export const DEFAULT_TIME_SEPARATOR = ':';

export interface TimeSpecOptions {
  /** `--time-separator`, used by old-style (zoned) time strings; default ':'. */
  readonly timeSeparator?: string;
}

/** `YYYYMMDDTHHMMSSZ` in UTC, e.g. `20231114T221320Z` for 1700000000. Always 16 characters. */
export function timeToString(epochSeconds: number): string {
  if (!Number.isSafeInteger(epochSeconds)) throw new RangeError(`time must be whole seconds, got ${epochSeconds}`);
  const d = new Date(epochSeconds * 1000);
  const year = d.getUTCFullYear();
  if (Number.isNaN(year) || year < 1000 || year > 9999) {
    throw new RangeError(`time ${epochSeconds} is outside the years 1000-9999 a duplicity time string can hold`);
  }
  return `${year}${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())}T${pad2(d.getUTCHours())}${pad2(d.getUTCMinutes())}${pad2(d.getUTCSeconds())}Z`;
}

/**
 * `dup_time.stringtotime`: a 16-character string is `YYYYMMDDTHHMMSS` plus any character, in UTC;
 * any other length is `YYYY-MM-DDTHH<sep>MM<sep>SS` followed by `Z` or `±HH<sep>MM`. Years must be
 * 1901..2099 (Python checks `1900 < year < 2100`). Null when Python returns None. The result may
 * be 0 or negative; callers decide whether that counts (duplicity treats 0 as a failure).
 */
export function stringToTime(s: string, timeSeparator: string = DEFAULT_TIME_SEPARATOR): number | null {
  const plain = PLAIN_NEW_FORMAT.exec(s);
  if (plain !== null) return utcFields(plain.slice(1).map(Number));
  const chars = Array.from(s); // Python slices and measures code points
  const halves = chars.slice(0, 19).join('').split('T');
  if (halves.length !== 2) return null;
  const [date, daytime] = halves as [string, string];

  let fields: (bigint | null)[];
  if (chars.length === 16) {
    const d = Array.from(date);
    const t = Array.from(daytime);
    const int = (cs: string[], from: number, to: number): bigint | null => parsePythonInt(cs.slice(from, to).join(''), 10);
    fields = [int(d, 0, 4), int(d, 4, 6), int(d, 6, 8), int(t, 0, 2), int(t, 2, 4), int(t, 4, 6)];
  } else {
    if (timeSeparator === '') return null; // str.split('') raises ValueError
    const ymd = date.split('-');
    const hms = daytime.split(timeSeparator);
    if (ymd.length !== 3 || hms.length !== 3) return null;
    fields = [...ymd, ...hms].map((f) => parsePythonInt(f, 10));
  }
  if (fields.some((f) => f === null)) return null;
  if (chars.length === 16) return utcFields(fields.map(Number));
  const [year, month, day, hour, minute, second] = fields.map(Number) as [number, number, number, number, number, number];
  if (!inRange(year, month, day, hour, minute, second)) return null;
  const wall = Date.UTC(year, month - 1, day, hour, minute, second) / 1000;

  // mktime(isdst=0) - time.timezone; both cancel unless the zone's standard offset has changed.
  const utc = wall - standardOffsetOfYear(year) - pythonTimezone();
  const zone = zoneToSeconds(chars.slice(19), timeSeparator);
  return zone === null ? null : utc + zone;
}

/** The common case, digits where Python's int() would see them, without per-character work. */
const PLAIN_NEW_FORMAT = /^([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})[^T]$/;

function inRange(year: number, month: number, day: number, hour: number, minute: number, second: number): boolean {
  return (
    year > 1900 &&
    year < 2100 &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= 31 &&
    hour >= 0 &&
    hour <= 23 &&
    minute >= 0 &&
    minute <= 59 &&
    second >= 0 &&
    second <= 61
  );
}

/** `calendar.timegm`, which normalises out-of-range days (Feb 31 is Mar 3) exactly as Date.UTC does. */
function utcFields(fields: number[]): number | null {
  const [year, month, day, hour, minute, second] = fields as [number, number, number, number, number, number];
  if (!inRange(year, month, day, hour, minute, second)) return null;
  return Date.UTC(year, month - 1, day, hour, minute, second) / 1000;
}

/**
 * `dup_time.genstrtotime`: `now`; an epoch integer; a w3 datetime with or without zone (without
 * one it is local standard time); an interval before `now` such as `1h30m` or `3D2h` (units
 * s m h D W M Y, M = 30 days, Y = 365 days); or a date `YYYY-MM-DD`, `YYYY/MM/DD`, `MM/DD/YYYY`
 * or `YYYYMMDDZ` at local midnight, standard time. Throws a one-line Error on anything else.
 */
export function parseTimeSpec(spec: string, now: number, opts: TimeSpecOptions = {}): number {
  const t = tryParseTimeSpec(spec, now, opts);
  if (t === null) {
    const shown = spec.length > 100 ? `${spec.slice(0, 100)}…` : spec;
    throw new Error(
      `bad time string ${JSON.stringify(shown)}: expected "now", seconds since the epoch, ` +
        'a w3 datetime like 2002-04-26T04:22:01-07:00 (without the zone: local time), an interval like ' +
        '3D2h30m (units s m h D W M Y), or a date like 2001-04-23, 2001/04/23 or 4/23/2001',
    );
  }
  return t;
}

/** `parseTimeSpec` returning null instead of throwing (duplicity's TimeException, or a value out of range). */
export function tryParseTimeSpec(spec: string, now: number, opts: TimeSpecOptions = {}): number | null {
  if (!Number.isSafeInteger(now)) throw new RangeError(`now must be whole seconds, got ${now}`);
  const sep = opts.timeSeparator ?? DEFAULT_TIME_SEPARATOR;
  if (spec === 'now') return now;

  // Python's `$` also matches before a final newline, hence the `\n?`.
  if (/^[0-9]+\n?$/.test(spec)) return parsePythonSafeInt(spec, 10);

  const t = stringToTime(spec, sep) || stringToTime(spec + standardZoneDesignator(sep), sep);
  if (t) return t;

  const interval = intervalSeconds(spec);
  if (interval !== null) return safeOrNull(BigInt(now) - interval);

  const m = DATE_YMD.exec(spec) ?? DATE_MDY.exec(spec) ?? DATE_YMDZ.exec(spec);
  if (m === null) return null;
  const g = m.groups!;
  // The `00:00:00` is literal ':' whatever the separator, so another separator never parses a date.
  const midnight = `${g['year']}-${pad2(Number(g['month']))}-${pad2(Number(g['day']))}T00:00:00${standardZoneDesignator(sep)}`;
  return stringToTime(midnight, sep) || null;
}

const DATE_YMD = /^(?<year>[0-9]{4})[-/](?<month>[0-9]{1,2})[-/](?<day>[0-9]{1,2})\n?$/;
const DATE_MDY = /^(?<month>[0-9]{1,2})[-/](?<day>[0-9]{1,2})[-/](?<year>[0-9]{4})\n?$/;
const DATE_YMDZ = /^(?<year>[0-9]{4})(?<month>[0-9]{2})(?<day>[0-9]{2})Z\n?$/;

const UNIT_SECONDS: Readonly<Record<string, bigint>> = {
  s: 1n,
  m: 60n,
  h: 3600n,
  D: 86400n,
  W: 7n * 86400n,
  M: 30n * 86400n,
  Y: 365n * 86400n,
};
const INTERVAL_PART = /^([0-9]+)([smhDWMY])/;

/** `dup_time.intstringtoseconds`: one or more `<digits><unit>`, nothing else. */
function intervalSeconds(s: string): bigint | null {
  if (Array.from(s).length < 2) return null;
  let total = 0n;
  let rest = s;
  while (rest !== '') {
    const m = INTERVAL_PART.exec(rest);
    if (m === null) return null;
    const n = parsePythonInt(m[1]!, 10);
    if (n === null) return null;
    total += n * UNIT_SECONDS[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return total;
}

/** `dup_time.tzdtoseconds`: seconds to add to a local time to get UTC. */
function zoneToSeconds(zone: string[], sep: string): number | null {
  if (zone.length === 1 && zone[0] === 'Z') return 0;
  if (zone.length !== 6 || (zone[0] !== '+' && zone[0] !== '-') || zone[3] !== sep) return null;
  // int('-04') + int('30'): duplicity's own writer emits -03:30 as '-04:30', and this undoes it.
  const hours = parsePythonSafeInt(zone.slice(0, 3).join(''), 10);
  const minutes = parsePythonSafeInt(zone.slice(4).join(''), 10);
  if (hours === null || minutes === null) return null;
  return -60 * (60 * hours + minutes);
}

/**
 * `dup_time.gettzd(0)`: the standard-time zone designator, `Z` or `±HH<sep>MM`, including
 * Python's divmod quirk for negative half-hour zones (UTC-03:30 is written `-04<sep>30`).
 */
function standardZoneDesignator(sep: string): string {
  const minutesEast = Math.floor(-pythonTimezone() / 60);
  if (minutesEast === 0) return 'Z';
  const hours = Math.abs(Math.floor(minutesEast / 60));
  const minutes = Math.abs(minutesEast - 60 * Math.floor(minutesEast / 60));
  return `${minutesEast > 0 ? '+' : '-'}${pad2(hours)}${sep}${pad2(minutes)}`;
}

/**
 * Python's `time.timezone` on glibc: seconds west of UTC in standard time, taken from the offsets
 * near the start and the middle of the current year (the larger one, i.e. the non-DST one).
 */
function pythonTimezone(): number {
  const year = 31557600; // CPython's (365 * 24 + 6) * 3600
  const start = Math.floor(Math.floor(Date.now() / 1000) / year) * year;
  return Math.max(-utcOffsetAt(start), -utcOffsetAt(start + year / 2));
}

function standardOffsetOfYear(year: number): number {
  return Math.min(utcOffsetAt(Date.UTC(year, 0, 1) / 1000), utcOffsetAt(Date.UTC(year, 6, 1) / 1000));
}

/** Seconds east of UTC at an instant, in the process time zone. */
function utcOffsetAt(epochSeconds: number): number {
  return Math.round(-new Date(epochSeconds * 1000).getTimezoneOffset() * 60);
}

function safeOrNull(v: bigint): number | null {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : null;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
