import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { manifestName, NO_PREFIXES, parseRemoteName, signatureName, volumeName } from '../../src/codec/remote-name.ts';
import type { NamePrefixes, NameOptions, ParsedName, SetTimes } from '../../src/codec/remote-name.ts';
import { timeToString } from '../../src/codec/time-string.ts';
import { runPython, withTz } from './python-oracle.ts';

const T0 = 1700000000;
const T1 = 1700000100;
const FULL: SetTimes = { kind: 'full', time: T0 };
const INC: SetTimes = { kind: 'inc', startTime: T0, endTime: T1 };

test('short names: the docs/duplicity-format.md §1.5 VERIFIED names for 1700000000 -> 1700000100', () => {
  const o = { short: true, compressed: true };
  assert.equal(volumeName(FULL, 1, NO_PREFIXES, o), 'df.s44we8.1.dt.z');
  assert.equal(manifestName(FULL, NO_PREFIXES, o), 'df.s44we8.m');
  assert.equal(signatureName(FULL, NO_PREFIXES, o), 'dfs.s44we8.st.z');
  assert.equal(volumeName(INC, 1, NO_PREFIXES, o), 'di.s44we8.s44wh0.1.dt.z');
  assert.equal(manifestName(INC, NO_PREFIXES, o), 'di.s44we8.s44wh0.m');
  assert.equal(signatureName(INC, NO_PREFIXES, o), 'dns.s44we8.s44wh0.st.z');
});

test('long names: docs/duplicity-format.md §1.2 table, suffix rules and prefixes', () => {
  const T = timeToString(T0);
  const U = timeToString(T1);
  assert.equal(T, '20231114T221320Z');
  assert.equal(volumeName(FULL, 3, NO_PREFIXES, { compressed: true }), `duplicity-full.${T}.vol3.difftar.gz`);
  assert.equal(volumeName(FULL, 3, NO_PREFIXES, { compressed: true, encrypted: true }), `duplicity-full.${T}.vol3.difftar.gpg`);
  assert.equal(volumeName(INC, 12, NO_PREFIXES), `duplicity-inc.${T}.to.${U}.vol12.difftar`);
  assert.equal(manifestName(FULL, NO_PREFIXES, { compressed: true }), `duplicity-full.${T}.manifest`);
  assert.equal(manifestName(INC, NO_PREFIXES, { encrypted: true }), `duplicity-inc.${T}.to.${U}.manifest.gpg`);
  assert.equal(manifestName(FULL, NO_PREFIXES, { partial: true }), `duplicity-full.${T}.manifest.part`);
  assert.equal(signatureName(FULL, NO_PREFIXES, { compressed: true }), `duplicity-full-signatures.${T}.sigtar.gz`);
  assert.equal(signatureName(INC, NO_PREFIXES, { partial: true }), `duplicity-new-signatures.${T}.to.${U}.sigtar.part`);
  // docs/duplicity-format.md §1.2: the same prefixes name the cache files (VERIFIED P_man_… and P_sig_…).
  const p: NamePrefixes = { base: 'P_', archive: 'arc_', manifest: 'man_', signature: 'sig_' };
  assert.equal(manifestName(FULL, p), `P_man_duplicity-full.${T}.manifest`);
  assert.equal(signatureName(FULL, p, { compressed: true }), `P_sig_duplicity-full-signatures.${T}.sigtar.gz`);
  assert.equal(volumeName(FULL, 1, p), `P_arc_duplicity-full.${T}.vol1.difftar`);
  assert.throws(() => volumeName(FULL, 0), RangeError);
});

test('parseRemoteName: spec facts', () => {
  const T = timeToString(T0);
  assert.deepEqual(parseRemoteName(`duplicity-full.${T}.vol1.difftar.gz`), {
    kind: 'full',
    manifest: false,
    volume: 1,
    time: T0,
    partial: false,
    compressed: true,
    encrypted: false,
  });
  // Anything after the stem and one dot is tolerated.
  assert.equal(parseRemoteName(`duplicity-full.${T}.vol1.difftar.gz.anything`)?.volume, 1);
  // Short names are recognised without --short-filenames.
  assert.deepEqual(parseRemoteName('di.s44we8.s44wh0.1.dt.z'), {
    kind: 'inc',
    manifest: false,
    volume: 1,
    startTime: T0,
    endTime: T1,
    partial: false,
    compressed: true,
    encrypted: false,
  });
  // Prefixes are required.
  const p: NamePrefixes = { base: 'P_', archive: '', manifest: 'man_', signature: '' };
  assert.equal(parseRemoteName(`P_man_duplicity-full.${T}.manifest`), null);
  assert.equal(parseRemoteName(`P_man_duplicity-full.${T}.manifest`, p)?.manifest, true);
  // Old-style local time with offset (--old-filenames, VERIFIED with TZ=Europe/Berlin).
  assert.equal(parseRemoteName('duplicity-full.2023-11-14T23:13:20+01:00.vol1.difftar.gz')?.time, T0);
  assert.equal(parseRemoteName('duplicity-full.2023-11-14T23_13_20+01_00.vol1.difftar.gz', NO_PREFIXES, { timeSeparator: '_' })?.time, T0);
  // A time of 0 is a failure; a partial manifest is flagged; a partial volume is not.
  assert.equal(parseRemoteName('duplicity-full.0.vol1.difftar'), null);
  assert.equal(parseRemoteName(`duplicity-full.${T}.manifest.part`)?.partial, true);
  assert.equal(parseRemoteName(`duplicity-full.${T}.vol1.difftar.part`)?.partial, false);
  assert.equal(parseRemoteName('unrelated.txt'), null);
});

interface PyName {
  type: string;
  manifest: boolean;
  volume_number: number | null;
  time: number | null;
  start_time: number | null;
  end_time: number | null;
  compressed: boolean;
  encrypted: boolean;
  partial: boolean;
}

function toPyShape(p: ParsedName | null): PyName | null {
  if (p === null) return null;
  return {
    type: p.kind,
    manifest: p.manifest,
    volume_number: p.volume ?? null,
    time: p.time ?? null,
    start_time: p.startTime ?? null,
    end_time: p.endTime ?? null,
    compressed: p.compressed,
    encrypted: p.encrypted,
    partial: p.partial,
  };
}

const PY_SETUP = `
def configure(c):
    config.file_prefix = c['prefixes']['base'].encode()
    config.file_prefix_archive = c['prefixes']['archive'].encode()
    config.file_prefix_manifest = c['prefixes']['manifest'].encode()
    config.file_prefix_signature = c['prefixes']['signature'].encode()
    config.short_filenames = c.get('shortFilenames', False)
    config.time_separator = c.get('sep', ':')
    file_naming.prepare_regex(force=True)
`;

// Literal-safe prefixes (duplicity would read regex metacharacters as a pattern, see remote-name.ts).
const prefix = fc.constantFrom('', '', '', 'P_', 'arch/', 'man_', 'sig_', 'é-', 'a b ', 'x');
const prefixes = fc.record({ base: prefix, archive: prefix, manifest: prefix, signature: prefix });
const epoch = fc.integer({ min: 1, max: 4102444799 });

interface BuiltName {
  name: string;
  prefixes: NamePrefixes;
  what: 'vol' | 'man' | 'sig';
  set: SetTimes;
  volume: number;
  opts: NameOptions;
}

const built: fc.Arbitrary<BuiltName> = fc
  .record({
    prefixes,
    what: fc.constantFrom('vol' as const, 'man' as const, 'sig' as const),
    inc: fc.boolean(),
    t0: epoch,
    t1: epoch,
    volume: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 2 ** 40 })),
    opts: fc.record({ encrypted: fc.boolean(), compressed: fc.boolean(), partial: fc.boolean(), short: fc.boolean() }),
  })
  .map(({ prefixes: p, what, inc, t0, t1, volume, opts }) => {
    const set: SetTimes = inc ? { kind: 'inc', startTime: t0, endTime: t1 } : { kind: 'full', time: t1 };
    const name =
      what === 'vol' ? volumeName(set, volume, p, opts) : what === 'man' ? manifestName(set, p, opts) : signatureName(set, p, opts);
    return { name, prefixes: p, what, set, volume, opts };
  });

test('builders agree with file_naming.get()', () => {
  const cases = fc.sample(built, { numRuns: 1500, seed: 21 });
  const py = runPython<string[]>(
    `${PY_SETUP}
result = []
for c in data:
    configure(c)
    s = c['set']
    if s['kind'] == 'full':
        dup_time.setcurtime(s['time'])
    else:
        dup_time.setprevtime(s['startTime']); dup_time.setcurtime(s['endTime'])
    o = c['opts']
    if c['what'] == 'sig':
        name = file_naming.get(s['kind'] + '-sig' if s['kind'] == 'full' else 'new-sig', encrypted=o['encrypted'], gzipped=o['compressed'], partial=o['partial'])
    elif c['what'] == 'man':
        name = file_naming.get(s['kind'], manifest=True, encrypted=o['encrypted'], partial=o['partial'])
    else:
        name = file_naming.get(s['kind'], volume_number=c['volume'], encrypted=o['encrypted'], gzipped=o['compressed'], partial=o['partial'])
    result.append(name.decode())
`,
    cases.map((c) => ({ ...c, shortFilenames: c.opts.short })),
  );
  cases.forEach((c, i) => {
    assert.equal(c.name, py[i], JSON.stringify(c));
  });
});

test('parseRemoteName inverts the builders', () => {
  fc.assert(
    fc.property(built, (c) => {
      const p = parseRemoteName(c.name, c.prefixes, { shortFilenames: c.opts.short === true });
      assert.ok(p !== null, c.name);
      const kind = c.what === 'sig' ? (c.set.kind === 'full' ? 'full-sig' : 'new-sig') : c.set.kind;
      assert.equal(p.kind, kind);
      assert.equal(p.manifest, c.what === 'man');
      assert.equal(p.volume, c.what === 'vol' ? c.volume : undefined);
      if (c.set.kind === 'full') assert.equal(p.time, c.set.time);
      else assert.deepEqual([p.startTime, p.endTime], [c.set.startTime, c.set.endTime]);
      assert.equal(p.encrypted, c.opts.encrypted === true);
      assert.equal(p.compressed, c.opts.encrypted !== true && c.opts.compressed === true && c.what !== 'man');
      // Only manifests and signatures carry the partial flag (duplicity ignores it on volumes).
      assert.equal(p.partial, c.opts.partial === true && c.what !== 'vol');
    }),
    { numRuns: 2000 },
  );
});

// Replacement time fields: duplicity's and foreign spellings, intervals (relative to now),
// dates, old-style zoned times, Unicode digits, zero and junk.
const longTime = fc.constantFrom(
  '20231114T221320Z',
  '20231114t221320z',
  '1700000000',
  '0',
  '00',
  '1d',
  '2w',
  '3h',
  '1D2s',
  '4W',
  '2023-11-14',
  '11/14/2023',
  '20231114Z',
  '2023-11-14T23:13:20+01:00',
  '2023-11-14T23_13_20+01_00',
  '2023-11-14T22:13:20',
  'abc',
  '',
  '٢٠٢٣١١١٤T221320Z',
  'now',
  '19700101T000000Z',
  '20231114T221320Z.to.x',
);
const shortTime = fc.constantFrom('s44we8', '0', '1', 'zz', 'S44WE8', 'a.b', '');
const tail = fc.constantFrom('', '', '.gz', '.gpg', 'gz', '.z', '.g', '.part', '.p', '.anything', '\n', 'x', '.part.gz', '.p.z', '\n.gz');

function replaceTimes(name: string, t: string, short: boolean): string {
  if (short) return name.replace(/\.(s[0-9a-z]{5})\./, `.${t}.`);
  return name.replace(/[0-9]{8}T[0-9]{6}Z/, t);
}

const mutated = fc
  .tuple(
    built,
    fc.nat(5),
    longTime,
    shortTime,
    tail,
    fc.nat(200),
    fc.constantFrom('', '.', 'x', '\n', '0', 'vol0', 'vol007'),
    fc.boolean(),
    fc.constantFrom(':', ':', '_'),
  )
  .map(([c, kind, lt, st, tl, pos, ins, dropPrefix, sep]) => {
    let name = c.name;
    if (kind === 1) name = replaceTimes(name, c.opts.short ? st : lt, c.opts.short === true);
    if (kind === 2) name += tl;
    if (kind === 3) {
      const at = pos % (name.length + 1);
      name = name.slice(0, at) + ins + name.slice(at + (ins === '' ? 1 : 0));
    }
    if (kind === 4) name = name.replace(/vol[0-9]+/, ins.startsWith('vol') ? ins : 'vol').replace(/\.([0-9a-z]+)\.dt/, '.0.dt');
    if (kind === 5) name = replaceTimes(name, c.opts.short ? st : lt, c.opts.short === true) + tl;
    const p = dropPrefix ? { ...c.prefixes, base: '' } : c.prefixes;
    return { name, prefixes: p, shortFilenames: c.opts.short === true && kind === 0, sep, now: 1_750_000_000 };
  });

test('parseRemoteName agrees with file_naming.parse() on generated and mutated names', () => {
  const cases = fc.sample(mutated, { numRuns: 3000, seed: 8 });
  const py = runPython<(PyName | 'crash' | null)[]>(
    `${PY_SETUP}
set_tz('Europe/Berlin')
result = []
for c in data:
    configure(c)
    dup_time.curtime = c['now']
    try:
        pr = file_naming.parse(c['name'].encode())
    except (AssertionError, ValueError):
        result.append('crash'); continue
    if pr is None:
        result.append(None); continue
    result.append({'type': pr.type, 'manifest': bool(pr.manifest), 'volume_number': pr.volume_number, 'time': pr.time,
        'start_time': pr.start_time, 'end_time': pr.end_time, 'compressed': bool(pr.compressed),
        'encrypted': bool(pr.encrypted), 'partial': bool(pr.partial)})
`,
    cases,
  );
  let recognised = 0;
  withTz('Europe/Berlin', () => {
    cases.forEach((c, i) => {
      const ours = toPyShape(parseRemoteName(c.name, c.prefixes, { now: c.now, timeSeparator: c.sep, shortFilenames: c.shortFilenames }));
      const want = py[i]!;
      // duplicity crashes on volume 0, and keeps numbers beyond 2^53; such names are ignored here.
      const huge =
        want !== null &&
        want !== 'crash' &&
        [want.volume_number, want.time, want.start_time, want.end_time].some((n) => n !== null && !Number.isSafeInteger(n));
      const expected = want === 'crash' || huge ? null : want;
      if (ours !== null) recognised++;
      assert.deepEqual(ours, expected, `${JSON.stringify(c)}`);
    });
  });
  assert.ok(recognised > cases.length / 3 && recognised < cases.length - 300, `both outcomes exercised (${recognised} recognised)`);
});

test('parseRemoteName on hostile names: never throws, stays fast', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), prefixes, (s, p) => {
      const r = parseRemoteName(s, p, { now: 1 });
      assert.ok(r === null || typeof r.kind === 'string');
    }),
    { numRuns: 3000 },
  );
  const started = performance.now();
  const evil = [
    `duplicity-inc.${'.to.'.repeat(1000)}${'.vol'.repeat(500)}`,
    `duplicity-new-signatures.${'a.to.'.repeat(800)}.sigtar`.slice(0, -1),
    `duplicity-full.${'.vol1.difftar'.repeat(300)}x`,
    `di.${'a.'.repeat(2000)}`,
  ];
  for (const name of evil) parseRemoteName(name, NO_PREFIXES, { now: 1 });
  assert.ok(performance.now() - started < 2000, 'pathological names parse quickly');
});
