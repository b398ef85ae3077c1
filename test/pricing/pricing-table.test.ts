import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import fc from 'fast-check';
import { builtinPricing, loadPricing, parsePricing, RESTORE_TIERS } from '../../src/pricing/pricing-table.ts';
import { PermafrostError } from '../../src/core/errors.ts';
import { PROJECT_ROOT } from '../support/duplicity.ts';
import { tmpDir } from '../support/tmp.ts';

const PROJECT_COPY = join(PROJECT_ROOT, 'src/pricing/pricing-us-east-1.json');
/** Where the project's specs live next to the checkout (the file the copy was taken from). */
const SPEC_FILE = join(PROJECT_ROOT, '../shared/spec/pricing-us-east-1.json');

/** A JSON document, edited in place. */
// biome-ignore lint/suspicious/noExplicitAny: a JSON document whose every level the test walks by name
type Json = Record<string, any>;

function rawTable(): Json {
  return JSON.parse(readFileSync(PROJECT_COPY, 'utf8')) as Json;
}

/**
 * SHA-256 of spec/pricing-us-east-1.json (as of 2026-06) when it was copied into the project: the
 * copy is checked against it everywhere, and against the spec file itself where the spec is
 * checked out beside the project, so that an edit to either side is noticed.
 */
const SPEC_SHA256 = 'c4e6089866b6475486477c911805b797dc89f5bdcf128aedd9b2df9c3b3e199c';

test('the project copy of the pricing table is the spec file, byte for byte', () => {
  const copy = readFileSync(PROJECT_COPY);
  assert.equal(createHash('sha256').update(copy).digest('hex'), SPEC_SHA256, 'the copy differs from the spec file it was taken from');
  if (existsSync(SPEC_FILE))
    assert.ok(copy.equals(readFileSync(SPEC_FILE)), `${SPEC_FILE} changed: copy it into src/pricing and update SPEC_SHA256`);
});

test('the built-in table holds every price of the file, class by class', () => {
  const raw = rawTable();
  const p = builtinPricing();
  assert.equal(p.source, 'built-in');
  assert.equal(p.region, raw['region']);
  assert.equal(p.currency, raw['currency']);
  assert.equal(p.asOf, raw['asOf']);
  assert.equal(p.gbBytes, raw['gbBytes']);
  assert.equal(p.listPer1000, raw['listPer1000']);
  assert.deepEqual(Object.keys(p.classes).sort(), Object.keys(raw['classes']).sort());
  for (const [name, c] of Object.entries(raw['classes'] as Record<string, Json>)) {
    const got = p.classes[name]!;
    for (const k of ['storageGBMonth', 'putPer1000', 'getPer1000', 'minDays', 'minBillableBytes'])
      assert.equal((got as Json)[k], c[k], `${name}.${k}`);
    // archived classes bill retrieval per tier: the file leaves retrievalPerGB out there
    assert.equal(got.retrievalPerGB, c['retrievalPerGB'] ?? (c['archived'] === true ? 0 : NaN), `${name}.retrievalPerGB`);
    assert.equal(got.archived, c['archived'] === true, `${name}.archived`);
    assert.deepEqual(got.overhead, c['overhead'], `${name}.overhead`);
    const restore = c['restore'] as Record<string, Json> | undefined;
    assert.deepEqual(Object.keys(got.restore ?? {}).sort(), Object.keys(restore ?? {}).sort(), `${name}.restore tiers`);
    for (const [tier, prices] of Object.entries(restore ?? {})) {
      const g = got.restore![tier as 'Bulk']!;
      assert.deepEqual(
        [g.perGB, g.per1000, [...g.typicalHours]],
        [prices['perGB'], prices['per1000'], prices['typicalHours']],
        `${name}.restore.${tier}`,
      );
    }
  }
});

test("the spec's key numbers (glacier-semantics §0) are what the table says", () => {
  const p = builtinPricing();
  const da = p.classes['DEEP_ARCHIVE']!;
  const gl = p.classes['GLACIER']!;
  assert.deepEqual([da.storageGBMonth, da.minDays, da.putPer1000], [0.00099, 180, 0.05]);
  assert.deepEqual([gl.storageGBMonth, gl.minDays, gl.putPer1000], [0.0036, 90, 0.03]);
  assert.deepEqual(da.overhead, { archiveRateBytes: 32 * 1024, standardRateBytes: 8 * 1024 });
  assert.equal(da.restore?.Expedited, undefined);
  assert.deepEqual(gl.restore?.Bulk, { perGB: 0, per1000: 0, typicalHours: [5, 12] });
  assert.equal(p.classes['GLACIER_IR']!.archived, false);
  assert.equal(p.classes['INTELLIGENT_TIERING']!.archived, false);
});

test('loadPricing without a file is the built-in table; with one, the file (unknown classes kept)', async (t) => {
  assert.equal(await loadPricing(), builtinPricing());
  const raw = rawTable();
  raw['region'] = 'eu-west-1';
  raw['classes']['EXPRESS_ONEZONE'] = {
    storageGBMonth: 0.11,
    putPer1000: 0.0025,
    getPer1000: 0.0002,
    minDays: 0,
    minBillableBytes: 0,
    retrievalPerGB: 0.0015,
    archived: false,
  };
  raw['classes']['DEEP_ARCHIVE']['storageGBMonth'] = 0.0018;
  const file = join(tmpDir(t, 'pricing'), 'prices.json');
  writeFileSync(file, JSON.stringify(raw));
  const p = await loadPricing(file);
  assert.equal(p.source, file);
  assert.equal(p.region, 'eu-west-1');
  assert.equal(p.classes['DEEP_ARCHIVE']!.storageGBMonth, 0.0018);
  assert.equal(p.classes['EXPRESS_ONEZONE']!.storageGBMonth, 0.11);
});

/** The table with one field replaced (path of keys; undefined deletes it). */
function edited(path: readonly string[], value: unknown): Json {
  const raw = rawTable();
  let o = raw;
  for (const k of path.slice(0, -1)) o = o[k] as Json;
  const last = path[path.length - 1]!;
  if (value === undefined) delete o[last];
  else o[last] = value;
  return raw;
}

async function loadError(t: TestContext, content: string): Promise<{ file: string; err: PermafrostError }> {
  const file = join(tmpDir(t, 'pricing-bad'), 'bad.json');
  writeFileSync(file, content);
  try {
    await loadPricing(file);
  } catch (err) {
    assert.ok(err instanceof PermafrostError, String(err));
    return { file, err };
  }
  assert.fail('loadPricing accepted a bad file');
}

const BAD_FIELDS: [string[], unknown, string][] = [
  [['classes', 'DEEP_ARCHIVE', 'storageGBMonth'], -0.001, 'classes.DEEP_ARCHIVE.storageGBMonth'],
  [['classes', 'GLACIER', 'putPer1000'], '0.03', 'classes.GLACIER.putPer1000'],
  [['classes', 'STANDARD', 'getPer1000'], undefined, 'classes.STANDARD.getPer1000'],
  [['classes', 'GLACIER_IR', 'retrievalPerGB'], undefined, 'classes.GLACIER_IR.retrievalPerGB'],
  [['classes', 'GLACIER', 'restore', 'Bulk', 'perGB'], null, 'classes.GLACIER.restore.Bulk.perGB'],
  [['classes', 'GLACIER', 'restore', 'Fast'], { perGB: 1, per1000: 1, typicalHours: [0, 1] }, 'classes.GLACIER.restore.Fast'],
  [['classes', 'DEEP_ARCHIVE', 'restore', 'Bulk', 'typicalHours'], [48, 0], 'classes.DEEP_ARCHIVE.restore.Bulk.typicalHours'],
  [['classes', 'DEEP_ARCHIVE', 'restore'], undefined, 'classes.DEEP_ARCHIVE.restore'],
  [['classes', 'GLACIER', 'overhead', 'standardRateBytes'], 'lots', 'classes.GLACIER.overhead.standardRateBytes'],
  [['classes', 'GLACIER', 'archived'], 1, 'classes.GLACIER.archived'],
  [['classes', 'STANDARD'], undefined, 'classes.STANDARD'],
  [['classes'], [], 'classes'],
  [['gbBytes'], 0, 'gbBytes'],
  [['listPer1000'], undefined, 'listPer1000'],
  [['asOf'], 2026, 'asOf'],
];

for (const [path, value, field] of BAD_FIELDS) {
  test(`a pricing file with a bad ${field} is a usage error naming the file and the field`, async (t) => {
    const { file, err } = await loadError(t, JSON.stringify(edited(path, value)));
    assert.equal(err.exitCode, 2);
    assert.ok(!err.message.includes('\n'), err.message);
    assert.ok(err.message.startsWith(`pricing file ${file}: ${field} `), err.message);
  });
}

test('a pricing file that is not JSON, or missing, is a one-line usage error', async (t) => {
  const { file, err } = await loadError(t, '{ "region": "us-east-1",\n oops }');
  assert.equal(err.exitCode, 2);
  assert.match(err.message, new RegExp(`^pricing file ${file}: not valid JSON \\([^\\n]+\\)$`));
  await assert.rejects(
    loadPricing(join(tmpDir(t, 'pricing-none'), 'absent.json')),
    (e: unknown) => e instanceof PermafrostError && e.exitCode === 2 && /absent\.json: cannot read it \(ENOENT\)$/.test(e.message),
  );
});

test('any non-finite or negative price is refused, any finite price >= 0 accepted (property)', () => {
  const priced: string[][] = [];
  const raw = rawTable();
  for (const [name, c] of Object.entries(raw['classes'] as Record<string, Json>)) {
    for (const k of ['storageGBMonth', 'putPer1000', 'getPer1000', 'minDays', 'minBillableBytes', 'retrievalPerGB'])
      if (k in c) priced.push(['classes', name, k]);
    for (const tier of RESTORE_TIERS)
      if (c['restore']?.[tier]) priced.push(['classes', name, 'restore', tier, 'perGB'], ['classes', name, 'restore', tier, 'per1000']);
  }
  fc.assert(
    fc.property(fc.constantFrom(...priced), fc.double(), (path, v) => {
      const ok = Number.isFinite(v) && v >= 0;
      let accepted: boolean;
      try {
        const p = parsePricing(edited(path, v), 'x.json');
        accepted = true;
        let got: unknown = p;
        for (const k of path) got = (got as Json)[k];
        assert.ok(Object.is(got, v) || (got === 0 && v === 0), `${path.join('.')}: ${String(got)} for ${v}`);
      } catch (err) {
        assert.ok(err instanceof PermafrostError && err.message.includes(path.join('.')), String(err));
        accepted = false;
      }
      assert.equal(accepted, ok, `${path.join('.')} = ${v}`);
    }),
    { numRuns: 500 },
  );
});
