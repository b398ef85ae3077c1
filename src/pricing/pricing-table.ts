import { readFile } from 'node:fs/promises';
// Imported rather than read at run time so that tsc copies it into dist/ next to this module.
import builtinJson from './pricing-us-east-1.json' with { type: 'json' };
// A bad pricing file must end the run with exit 2 like any bad option.
import { ExitCode, PermafrostError } from '../core/errors.ts';
import type { RestoreTier } from '../core/restore-tier.ts';

/**
 * S3 list prices: storage, requests, retrieval, minimum durations and the per-object overhead of
 * each storage class. The built-in table is spec/pricing-us-east-1.json (us-east-1, USD, as of
 * mid-2026); `--pricing-file` gives another one in the same layout (another region, a discount,
 * newer prices). Fields the calculations do not use (`confidence`, `note`, Intelligent-Tiering's
 * `tiers`, STANDARD's `storageTiers`) may be present and are ignored.
 */

export const RESTORE_TIERS: readonly RestoreTier[] = ['Expedited', 'Standard', 'Bulk'];

export interface TierPrices {
  /** USD per GB retrieved */
  perGB: number;
  /** USD per 1,000 restore requests */
  per1000: number;
  /** Usual time until the restored copy is readable, hours: [from, to]. */
  typicalHours: readonly [number, number];
}

export interface ClassPrices {
  /** USD per GB-month */
  storageGBMonth: number;
  /** USD per 1,000 PUT/COPY/POST (and CompleteMultipartUpload into this class) */
  putPer1000: number;
  /** USD per 1,000 GET/HEAD */
  getPer1000: number;
  /** Deleting earlier bills the remaining days, pro-rated, at storageGBMonth. */
  minDays: number;
  /** Smaller objects are billed as this size. */
  minBillableBytes: number;
  /** Objects must be restored before a GET. */
  archived: boolean;
  /** Billed bytes per object on top of its data: part at this class's price, part at STANDARD's. */
  overhead?: { archiveRateBytes: number; standardRateBytes: number };
  restore?: Readonly<Partial<Record<RestoreTier, TierPrices>>>;
  /** USD per GB read (IA classes, GLACIER_IR); archived classes bill it per restore tier instead (0 when the file leaves it out) */
  retrievalPerGB: number;
}

export interface PricingTable {
  region: string;
  currency: string;
  /** When the prices were taken, e.g. `2026-06`. */
  asOf: string;
  /** Bytes in the GB of the prices (AWS: 2^30). */
  gbBytes: number;
  /** USD per 1,000 LIST requests (billed at the bucket level, whatever the classes). */
  listPer1000: number;
  classes: Readonly<Record<string, ClassPrices>>;
  /** 'built-in' or the pricing file's path. */
  source: string;
}

/** The class whose prices bill metadata, the 8 KB per-object overhead and restored copies. */
export const STANDARD_CLASS = 'STANDARD';

/** Days per billing month when pro-rating (AWS bills byte-hours over the calendar month; 30 is the usual estimate). */
export const DAYS_PER_MONTH = 30;

const BUILTIN: PricingTable = parsePricing(builtinJson, 'built-in');

/** The project's copy of spec/pricing-us-east-1.json. */
export function builtinPricing(): PricingTable {
  return BUILTIN;
}

/**
 * The pricing table of `file` (JSON in the layout of pricing-us-east-1.json), checked field by
 * field; the built-in table without a file. A missing, unreadable or invalid file is a usage error
 * (exit 2) whose one-line message names the file and the first bad field.
 */
export async function loadPricing(file?: string): Promise<PricingTable> {
  if (file === undefined) return BUILTIN;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new PermafrostError(
      ExitCode.usage,
      `pricing file ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new PermafrostError(ExitCode.usage, `pricing file ${file}: not valid JSON (${oneLine((err as Error).message)})`);
  }
  return parsePricing(raw, file);
}

/** Checks a parsed pricing table; `source` names it in errors and in the result. */
export function parsePricing(raw: unknown, source: string): PricingTable {
  const fail = (field: string, problem: string): never => {
    throw new PermafrostError(ExitCode.usage, `pricing file ${source}: ${field} ${problem}`);
  };
  const top = object(raw, '(top level)', fail);
  const classesRaw = object(top['classes'], 'classes', fail);
  const classes: Record<string, ClassPrices> = {};
  for (const [name, value] of Object.entries(classesRaw)) classes[name] = parseClass(value, `classes.${name}`, fail);
  if (!(STANDARD_CLASS in classes))
    fail(`classes.${STANDARD_CLASS}`, 'is missing (metadata, the per-object overhead and restored copies are billed at its prices)');
  const gbBytes = price(top['gbBytes'], 'gbBytes', fail);
  if (gbBytes === 0) fail('gbBytes', 'must be greater than 0');
  return Object.freeze({
    region: text(top['region'], 'region', fail),
    currency: text(top['currency'], 'currency', fail),
    asOf: text(top['asOf'], 'asOf', fail),
    gbBytes,
    listPer1000: price(top['listPer1000'], 'listPer1000', fail),
    classes: Object.freeze(classes),
    source,
  });
}

type Fail = (field: string, problem: string) => never;

function parseClass(raw: unknown, at: string, fail: Fail): ClassPrices {
  const c = object(raw, at, fail);
  const archivedRaw = c['archived'];
  // the spec marks Intelligent-Tiering with a string: only its opt-in archive tiers need a restore
  if (typeof archivedRaw !== 'boolean' && (typeof archivedRaw !== 'string' || archivedRaw === '')) {
    fail(`${at}.archived`, `must be true, false or a note on which tiers are archived (got ${shown(archivedRaw)})`);
  }
  const archived = archivedRaw === true;
  const out: ClassPrices = {
    storageGBMonth: price(c['storageGBMonth'], `${at}.storageGBMonth`, fail),
    putPer1000: price(c['putPer1000'], `${at}.putPer1000`, fail),
    getPer1000: price(c['getPer1000'], `${at}.getPer1000`, fail),
    minDays: price(c['minDays'], `${at}.minDays`, fail),
    minBillableBytes: price(c['minBillableBytes'], `${at}.minBillableBytes`, fail),
    archived,
    // archived classes bill retrieval per restore tier instead
    retrievalPerGB: archived && c['retrievalPerGB'] === undefined ? 0 : price(c['retrievalPerGB'], `${at}.retrievalPerGB`, fail),
  };
  if (c['overhead'] !== undefined) {
    const o = object(c['overhead'], `${at}.overhead`, fail);
    out.overhead = Object.freeze({
      archiveRateBytes: price(o['archiveRateBytes'], `${at}.overhead.archiveRateBytes`, fail),
      standardRateBytes: price(o['standardRateBytes'], `${at}.overhead.standardRateBytes`, fail),
    });
  }
  if (c['restore'] !== undefined) {
    const r = object(c['restore'], `${at}.restore`, fail);
    const restore: Partial<Record<RestoreTier, TierPrices>> = {};
    for (const [tier, value] of Object.entries(r)) {
      if (!(RESTORE_TIERS as readonly string[]).includes(tier))
        fail(`${at}.restore.${tier}`, `is not a restore tier (choose from ${RESTORE_TIERS.join(', ')})`);
      restore[tier as RestoreTier] = parseTier(value, `${at}.restore.${tier}`, fail);
    }
    out.restore = Object.freeze(restore);
  }
  if (archived && (out.restore === undefined || Object.keys(out.restore).length === 0)) {
    fail(`${at}.restore`, 'is required for an archived class (the prices of at least one tier)');
  }
  return Object.freeze(out);
}

function parseTier(raw: unknown, at: string, fail: Fail): TierPrices {
  const t = object(raw, at, fail);
  const hours = t['typicalHours'];
  if (!Array.isArray(hours) || hours.length !== 2) fail(`${at}.typicalHours`, `must be [from, to] in hours (got ${shown(hours)})`);
  const h = hours as unknown[];
  const from = price(h[0], `${at}.typicalHours[0]`, fail);
  const to = price(h[1], `${at}.typicalHours[1]`, fail);
  if (to < from) fail(`${at}.typicalHours`, `must not end before it starts (got [${from}, ${to}])`);
  return Object.freeze({
    perGB: price(t['perGB'], `${at}.perGB`, fail),
    per1000: price(t['per1000'], `${at}.per1000`, fail),
    typicalHours: Object.freeze([from, to] as const),
  });
}

function object(raw: unknown, at: string, fail: Fail): Record<string, unknown> {
  if (raw === undefined) return fail(at, 'is missing');
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail(at, `must be an object (got ${shown(raw)})`);
  return raw as Record<string, unknown>;
}

/** A price, byte count or day count: a finite number, not negative. */
function price(raw: unknown, at: string, fail: Fail): number {
  if (raw === undefined) return fail(at, 'is missing');
  if (typeof raw !== 'number' || !Number.isFinite(raw) || raw < 0) return fail(at, `must be a finite number >= 0 (got ${shown(raw)})`);
  return raw;
}

function text(raw: unknown, at: string, fail: Fail): string {
  if (raw === undefined) return fail(at, 'is missing');
  if (typeof raw !== 'string' || raw === '') return fail(at, `must be a non-empty string (got ${shown(raw)})`);
  return raw;
}

/** A value quoted for a one-line message, cut short. */
function shown(v: unknown): string {
  const s = v === undefined ? 'nothing' : oneLine(JSON.stringify(v) ?? String(v));
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}
