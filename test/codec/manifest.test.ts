import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  formatDirInfo,
  formatFileList,
  formatManifest,
  formatVolumeInfo,
  manifestsEqual,
  parseManifest,
  volumesContaining,
} from '../../src/codec/manifest.ts';
import type { FileChange, Manifest, VolumeInfo } from '../../src/codec/manifest.ts';
import { unquote } from '../../src/codec/quote.ts';
import { indexFromString } from '../../src/core/path-index.ts';
import type { PathIndex } from '../../src/core/path-index.ts';
import { runPython } from './python-oracle.ts';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');
const idx = (...parts: string[]): PathIndex => parts.map(b);

// docs/duplicity-format.md §2.7 (VERIFIED), with the elided long name `LLLL…LLLL.txt` filled in.
const LONG = `${'L'.repeat(200)}.txt`;
const SAMPLE = [
  'Hostname vm',
  'Localdir /srv/data',
  'Volume 1:',
  '    StartingPath   .  ',
  '    EndingPath     small.txt  ',
  '    Hash SHA1 c1c8d0b6236659d52912bdbf0da9083e059694d4',
  'Filelist 8',
  `    new      ${LONG}`,
  '    new      big.bin',
  '    new      dir/café.txt',
  '    new      "dir/sub/file\\x20with\\x20spaces.txt"',
  '    new      empty',
  '    new      exact64k.bin',
  '    new      hardlink-to-small',
  '    new      small.txt',
  '',
].join('\n');

test('the docs/duplicity-format.md §2.7 sample parses and re-formats byte-identically', () => {
  const m = parseManifest(b(SAMPLE));
  assert.deepEqual(m.hostname, b('vm'));
  assert.deepEqual(m.localdir, b('/srv/data'));
  assert.equal(m.volumes.length, 1);
  const v = m.volumes[0]!;
  assert.deepEqual([v.volume, v.startIndex, v.startBlock, v.endIndex, v.endBlock], [1, [], null, idx('small.txt'), null]);
  assert.deepEqual([...v.hashes], [['SHA1', 'c1c8d0b6236659d52912bdbf0da9083e059694d4']]);
  assert.deepEqual(
    m.files?.map((f) => [f.type, f.path.toString()]),
    [
      ['new', LONG],
      ['new', 'big.bin'],
      ['new', 'dir/café.txt'],
      ['new', 'dir/sub/file with spaces.txt'],
      ['new', 'empty'],
      ['new', 'exact64k.bin'],
      ['new', 'hardlink-to-small'],
      ['new', 'small.txt'],
    ],
  );
  // Written piece by piece, as a backup does.
  const written = Buffer.concat([formatDirInfo('vm', b('/srv/data')), ...m.volumes.map(formatVolumeInfo), formatFileList(m.files!)]);
  assert.equal(written.toString(), SAMPLE);
  assert.ok(formatManifest(m).equals(b(SAMPLE)));
});

test('the docs/duplicity-format.md §10.3 manifests: sizes 238/232 + hostname + Localdir, ranges and file lists', () => {
  const vol = (end: string, hash: string): VolumeInfo => ({
    volume: 1,
    startIndex: [],
    startBlock: null,
    endIndex: idx(end),
    endBlock: null,
    hashes: new Map([['SHA1', hash]]),
  });
  const full: Manifest = {
    hostname: b('vm'),
    localdir: b('/tmp/vectors/src-plain').subarray(0, 21),
    volumes: [vol('link', '72b7a7e3eef9e912d55cfbdb4e2eb137bc20c409')],
    files: [
      { type: 'new', path: b('a.txt') },
      { type: 'new', path: b('big.bin') },
      { type: 'new', path: b('dir/b c.txt') },
      { type: 'new', path: b('exact.bin') },
    ],
  };
  const inc: Manifest = {
    ...full,
    volumes: [vol('new.txt', '044f6c92697d91ac868709af009f2a6362d91176')],
    files: [
      { type: 'changed', path: b('a.txt') },
      { type: 'changed', path: b('big.bin') },
      { type: 'deleted', path: b('exact.bin') },
      { type: 'new', path: b('new.txt') },
    ],
  };
  assert.equal(formatManifest(full).length, 261);
  assert.equal(formatManifest(inc).length, 255);
  for (const [host, dir] of [
    ['h', '/x'],
    ['backup-host.example.org', './relative/src'],
  ] as const) {
    assert.equal(formatManifest({ ...full, hostname: b(host), localdir: b(dir) }).length, 238 + host.length + dir.length);
    assert.equal(formatManifest({ ...inc, hostname: b(host), localdir: b(dir) }).length, 232 + host.length + dir.length);
  }
  const text = formatManifest(full).toString();
  assert.ok(text.includes('    new      "dir/b\\x20c.txt"\n'));
  assert.ok(formatManifest(inc).toString().includes('    deleted  exact.bin\n'));
  const back = parseManifest(formatManifest(full));
  assert.deepEqual(back.volumes[0]!.endIndex, idx('link'));
  assert.ok(manifestsEqual(back, full));
});

test('parseManifest: duplicates, ordering, case, and missing fields', () => {
  const block = (n: number, start: string, end: string, hash: string): string =>
    `Volume ${n}:\n    StartingPath   ${start}\n    EndingPath     ${end}\n    Hash SHA1 ${hash}\n`;
  // A restart rewrites volume 2: the later block wins, in volume 2's original position, and
  // volumes listed above the last block are dropped (docs/duplicity-format.md §2.5, VERIFIED).
  const restarted = parseManifest(
    b(block(1, '. ', 'a 3', 'h1') + block(2, 'a 4', 'b ', 'old') + block(3, 'c ', 'd ', 'h3') + block(2, 'a 4', 'b ', 'new')),
  );
  assert.deepEqual(
    restarted.volumes.map((v) => [v.volume, v.hashes.get('SHA1')]),
    [
      [1, 'h1'],
      [2, 'new'],
    ],
  );
  assert.deepEqual(restarted.volumes[0]!.endIndex, idx('a'));
  assert.equal(restarted.volumes[0]!.endBlock, 3);
  assert.equal(restarted.volumes[1]!.startBlock, 4);
  // to_string() order (Filelist before volumes), lower case field names.
  const reordered = parseManifest(b('filelist 1\n    new      x\nVOLUME 1:\n startingpath . \n ENDINGPATH x\n hash SHA1 abc\n'));
  assert.deepEqual(
    reordered.files?.map((f) => f.path.toString()),
    ['x'],
  );
  assert.deepEqual(
    reordered.volumes.map((v) => v.endIndex),
    [idx('x')],
  );
  assert.equal(reordered.hostname, null);
  assert.throws(() => parseManifest(b('Volume 1:\n    EndingPath     x  \n')), { message: 'manifest volume 1 has no StartingPath' });
  assert.throws(() => parseManifest(b('Volume 7:\n    StartingPath   x  \n')), { message: 'manifest volume 7 has no EndingPath' });
  assert.throws(() => parseManifest(b(block(1, '.', 'a', 'h') + block(4, 'a', 'b', 'h') + block(2, 'b', 'c', 'h'))), /volume 3 is missing/);
  assert.throws(() => parseManifest(b('Volume 99999999999999999999:\n StartingPath . \n EndingPath . \n')), /too large/);
});

test('volumesContaining: start[:len(index)] <= index <= end', () => {
  const v = (n: number, s: PathIndex, e: PathIndex): VolumeInfo => ({
    volume: n,
    startIndex: s,
    startBlock: null,
    endIndex: e,
    endBlock: null,
    hashes: new Map(),
  });
  const m: Manifest = {
    hostname: null,
    localdir: null,
    volumes: [v(1, [], idx('a', 'f')), v(2, idx('a', 'f'), idx('c')), v(3, idx('c'), idx('c')), v(4, idx('d', 'x'), idx('e'))],
  };
  const nums = (i: PathIndex): number[] => volumesContaining(m, i).map((x) => x.volume);
  assert.deepEqual(nums([]), [1, 2, 3, 4]);
  assert.deepEqual(nums(idx('a')), [1, 2]);
  assert.deepEqual(nums(idx('b')), [2]);
  assert.deepEqual(nums(idx('c')), [2, 3]);
  assert.deepEqual(nums(idx('d')), [4]); // ('d','x')[:1] <= ('d',)
  assert.deepEqual(nums(indexFromString('d/a')), []);
});

// ---- Generated manifests, checked against duplicity's manifest.py ----

const COMPONENT_BYTES = [0x61, 0x62, 0x7a, 0x2e, 0x20, 0x22, 0x27, 0x5c, 0x0a, 0x09, 0xc3, 0xa9, 0xff, 0x30, 0x2d];
const component = fc.array(fc.constantFrom(...COMPONENT_BYTES), { minLength: 1, maxLength: 5 }).map((a) => Buffer.from(a));
const index = fc.array(component, { maxLength: 3 }).filter((i) => !(i.length === 1 && i[0]!.equals(Buffer.from('.'))));
const hex = (n: number): fc.Arbitrary<string> =>
  fc.array(fc.constantFrom(...'0123456789abcdef'), { minLength: n, maxLength: n }).map((a) => a.join(''));
const hashes = fc.oneof(
  hex(40).map((h) => new Map([['SHA1', h]])),
  fc.tuple(hex(40), hex(32)).map(
    ([s, m]) =>
      new Map([
        ['SHA1', s],
        ['MD5', m],
      ]),
  ),
  fc.constant(new Map<string, string>()),
);
const block = fc.oneof(fc.constant(null), fc.integer({ min: 1, max: 5000 }));
const manifestArb: fc.Arbitrary<Manifest> = fc
  .record({
    hostname: fc.constantFrom('vm', 'host.example.com', 'h é', ''),
    localdir: fc.oneof(
      fc.constant(Buffer.alloc(0)),
      fc.array(component, { minLength: 1, maxLength: 3 }).map((cs) => Buffer.concat(cs.flatMap((c) => [Buffer.from('/'), c]))),
    ),
    volumes: fc.array(fc.record({ startIndex: index, startBlock: block, endIndex: index, endBlock: block, hashes }), { maxLength: 5 }),
    files: fc.option(
      fc.array(
        fc.record({
          type: fc.constantFrom('new' as const, 'changed' as const, 'deleted' as const),
          path: fc
            .array(component, { minLength: 1, maxLength: 3 })
            .map((cs) => Buffer.concat(cs.flatMap((c, i) => (i ? [Buffer.from('/'), c] : [c])))),
        }),
        { maxLength: 4 },
      ),
      { nil: undefined },
    ),
  })
  .map(({ hostname, localdir, volumes, files }) => {
    const m: Manifest = {
      hostname: hostname === '' ? null : b(hostname),
      localdir: localdir.length === 0 ? null : localdir,
      volumes: volumes.map((v, i) => ({ volume: i + 1, ...v })),
    };
    if (files !== undefined) m.files = files.map((f): FileChange => ({ type: f.type, path: f.path }));
    return m;
  });

interface WireVolume {
  volume: number;
  start: string[];
  startBlock: number | null;
  end: string[];
  endBlock: number | null;
  hashes: [string, string][];
}
interface WireManifest {
  hostname: string | null;
  localdir: string | null;
  volumes: WireVolume[];
}

const toWire = (m: Manifest): WireManifest => ({
  hostname: m.hostname?.toString('hex') ?? null,
  localdir: m.localdir?.toString('hex') ?? null,
  volumes: m.volumes.map((v) => ({
    volume: v.volume,
    start: v.startIndex.map((c) => c.toString('hex')),
    startBlock: v.startBlock,
    end: v.endIndex.map((c) => c.toString('hex')),
    endBlock: v.endBlock,
    hashes: [...v.hashes],
  })),
});

const PY_PARSE = `
def wire(m):
    return {'hostname': None if m.hostname is None else tohex(m.hostname.encode()),
            'localdir': None if m.local_dirname is None else tohex(m.local_dirname),
            'volumes': [{'volume': k, 'start': [tohex(x) for x in v.start_index], 'startBlock': v.start_block,
                         'end': [tohex(x) for x in v.end_index], 'endBlock': v.end_block, 'hashes': list(v.hashes.items())}
                        for k, v in m.volume_info_dict.items()]}
def parse(h):
    config.file_changed = None
    try:
        return wire(manifest.Manifest().from_string(unhex(h)))
    except Exception as e:
        return {'error': type(e).__name__}
def files(h):
    config.file_changed = 'x'
    try:
        return [[t.decode('latin1'), tohex(p)] for (t, p) in manifest.Manifest().from_string(unhex(h)).files_changed]
    except Exception:
        return None
    finally:
        config.file_changed = None
`;

test("writers agree with duplicity's incremental writer (set_dirinfo, add_volume_info, set_files_changed_info)", () => {
  const cases = fc.sample(manifestArb, { numRuns: 600, seed: 13 });
  const py = runPython<string[]>(
    `
class LocalPath: pass
result = []
for c in data:
    config.hostname = '' if c['hostname'] is None else unhex(c['hostname']).decode()
    lp = LocalPath(); lp.name = b'' if c['localdir'] is None else unhex(c['localdir']); config.local_path = lp
    fh = io.BytesIO()
    m = manifest.Manifest(fh=fh)
    m.set_dirinfo()
    for v in c['volumes']:
        vi = manifest.VolumeInfo().set_info(v['volume'], tuple(unhex(x) for x in v['start']), v['startBlock'], tuple(unhex(x) for x in v['end']), v['endBlock'])
        for k, val in v['hashes']: vi.set_hash(k, val)
        m.add_volume_info(vi)
    if c['files'] is not None:
        m.set_files_changed_info([(unhex(f[1]), f[0].encode()) for f in c['files']])
    result.append(tohex(fh.getvalue()))
`,
    cases.map((m) => ({ ...toWire(m), files: m.files?.map((f) => [f.type, f.path.toString('hex')]) ?? null })),
  );
  cases.forEach((m, i) => {
    assert.equal(formatManifest(m).toString('hex'), py[i], `manifest ${i}`);
  });
});

test('parseManifest inverts formatManifest', () => {
  fc.assert(
    fc.property(manifestArb, (m) => {
      const back = parseManifest(formatManifest(m));
      assert.deepEqual(toWire(back), toWire(m));
      assert.deepEqual(back.files, m.files);
      assert.ok(manifestsEqual(back, m));
    }),
    { numRuns: 1000 },
  );
});

test('parseManifest with fileList: false gives the same manifest without its file list', () => {
  fc.assert(
    fc.property(manifestArb, (m) => {
      const text = formatManifest(m);
      const { files, ...rest } = parseManifest(text);
      const partial = parseManifest(text, { fileList: false });
      assert.equal(partial.files, undefined);
      assert.deepEqual(toWire(partial), toWire(rest));
      assert.deepEqual(partial.signatureStored, rest.signatureStored);
      void files;
    }),
    { numRuns: 300 },
  );
});

/** Line-level damage: what a restart, a hand edit, a foreign writer or corruption could produce. */
function mutate(text: string, ops: number[], picks: number[]): string {
  let lines = text.split('\n');
  const pick = (k: number, n: number): number => (n === 0 ? 0 : picks[k % picks.length]! % n);
  const numbers = ['0', '+5', '1_0', '\u0663', '-3', '007', '99999999999999999999', 'x', ''];
  const paths = ['"abc', '"\\x4"', '"\\xzz"', '"', '"\\x 9"', '"a\\x2fb"', '.', '/', 'a//b'];
  ops.forEach((op, k) => {
    const at = pick(k, lines.length);
    switch (op) {
      case 0:
        lines.splice(at, 1);
        break;
      case 1:
        lines.splice(at, 0, lines[at] ?? '');
        break;
      case 2:
        lines[at] = (lines[at] ?? '').toUpperCase();
        break;
      case 3:
        lines.splice(at, 0, ['   ', '\t', '', '\r'][pick(k + 1, 4)]!);
        break;
      case 4:
        lines[at] = (lines[at] ?? '').replace(/[0-9]+/, numbers[pick(k + 1, numbers.length)]!);
        break;
      case 5:
        lines[at] = (lines[at] ?? '').replace(/(Path +)\S+/, `$1${paths[pick(k + 1, paths.length)]!}`);
        break;
      case 6:
        lines = lines.map((l) => `${l}\r`);
        break;
      case 7:
        lines.splice(at, 0, `Volume ${[1, 2, 3, 7, 0][pick(k + 1, 5)]}:`);
        break;
      case 8:
        lines = [lines.join('\n').slice(0, pick(k, text.length + 1))];
        return;
      case 9:
        lines.push('', '');
        break;
      case 10:
        lines[at] = (lines[at] ?? '').replace(/^ +/, '');
        break;
      case 11:
        lines[at] = `${lines[at] ?? ''} extra`;
        break;
      case 12:
        lines[at] = ['volume\t1:', 'Volume', 'Volume 2', 'Hostname', 'Localdir  ', 'Hash SHA1', 'StartingPath', '    EndingPath'][
          pick(k + 1, 8)
        ]!;
        break;
      default:
        lines.reverse();
    }
  });
  return lines.join('\n');
}

test('parseManifest agrees with Manifest.from_string on generated and damaged manifests', () => {
  const cases = fc
    .sample(fc.tuple(manifestArb, fc.array(fc.nat(13), { maxLength: 3 }), fc.array(fc.nat(), { minLength: 4, maxLength: 4 })), {
      numRuns: 1500,
      seed: 17,
    })
    .map(([m, ops, picks]) => Buffer.from(mutate(formatManifest(m).toString('latin1'), ops, picks), 'latin1'));
  agreesWithDuplicity(cases);
});

test('parseManifest agrees with Manifest.from_string on damaged manifests in the order a backup writes them', () => {
  // volumes first, then the Filelist: the last volume's block runs on through the file list
  const cases = fc
    .sample(fc.tuple(manifestArb, fc.array(fc.nat(13), { maxLength: 3 }), fc.array(fc.nat(), { minLength: 4, maxLength: 4 })), {
      numRuns: 1500,
      seed: 23,
    })
    .map(([m, ops, picks]) => {
      const written = Buffer.concat([
        formatDirInfo(m.hostname ?? 'h', m.localdir ?? b('/')),
        ...m.volumes.map(formatVolumeInfo),
        formatFileList(m.files ?? []),
      ]);
      return Buffer.from(mutate(written.toString('latin1'), ops, picks), 'latin1');
    });
  agreesWithDuplicity(cases);
});

function agreesWithDuplicity(cases: Buffer[]): void {
  const py = runPython<{ parsed: (WireManifest | { error: string })[]; files: ([string, string][] | null)[] }>(
    `${PY_PARSE}
result = {'parsed': [parse(h) for h in data], 'files': [files(h) for h in data]}`,
    cases.map((c) => c.toString('hex')),
  );
  let errors = 0;
  let withFiles = 0;
  cases.forEach((c, i) => {
    const want = py.parsed[i]!;
    let ours: Manifest | Error;
    try {
      ours = parseManifest(c);
    } catch (e) {
      assert.ok(e instanceof Error && e.message.length > 0 && !e.message.includes('\n'), String(e));
      ours = e;
    }
    const what = `case ${i}: ${JSON.stringify(c.toString('latin1'))}`;
    const huge =
      !('error' in want) &&
      want.volumes.some((v) => [v.volume, v.startBlock, v.endBlock].some((n) => n !== null && !Number.isSafeInteger(n)));
    if ('error' in want || huge) {
      assert.ok(ours instanceof Error, `${what}: duplicity fails (${'error' in want ? want.error : 'huge number'}) but we parsed it`);
      errors++;
      return;
    }
    assert.ok(!(ours instanceof Error), `${what}: duplicity parses it but we threw ${String(ours)}`);
    assert.deepEqual(toWire(ours), want, what);
    const pyFiles = py.files[i];
    if (ours.files !== undefined && ours.files.length > 0) {
      withFiles++;
      assert.deepEqual(
        ours.files.map((f) => [f.type, f.path.toString('hex')]),
        pyFiles?.map(([t, p]) => [t, unquote(Buffer.from(p, 'hex')).toString('hex')]),
        what,
      );
    }
  });
  assert.ok(errors > 150 && errors < cases.length - 300, `both outcomes exercised (${errors} errors)`);
  assert.ok(withFiles > 100, `file lists compared (${withFiles})`);
}

test('volumesContaining agrees with get_containing_volumes', () => {
  const cases = fc
    .sample(fc.tuple(manifestArb, fc.array(fc.oneof(index, fc.constant([] as Buffer[])), { minLength: 1, maxLength: 4 })), {
      numRuns: 500,
      seed: 19,
    })
    .map(([m, queries]) => {
      // Also ask for prefixes of the manifest's own boundaries, where the comparison is delicate.
      const own = m.volumes.flatMap((v) => [v.startIndex.slice(0, 1), v.endIndex, v.startIndex]);
      return { m, queries: [...queries, ...own] };
    });
  const py = runPython<number[][][]>(
    `${PY_PARSE}
result = []
for c in data:
    m = manifest.Manifest().from_string(unhex(c['text']))
    result.append([m.get_containing_volumes(tuple(unhex(x) for x in q)) for q in c['queries']])
`,
    cases.map((c) => ({ text: formatManifest(c.m).toString('hex'), queries: c.queries.map((q) => q.map((x) => x.toString('hex'))) })),
  );
  cases.forEach((c, i) => {
    const parsed = parseManifest(formatManifest(c.m));
    c.queries.forEach((q, j) => {
      assert.deepEqual(
        volumesContaining(parsed, q).map((v) => v.volume),
        py[i]![j],
        `case ${i} query ${j}`,
      );
    });
  });
});

test('manifestsEqual agrees with Manifest.__eq__', () => {
  const cases = fc.sample(fc.tuple(manifestArb, manifestArb, fc.nat(4)), { numRuns: 400, seed: 23 }).map(([a, other, how]) => {
    const bm: Manifest = { ...a, volumes: a.volumes.map((v) => ({ ...v, hashes: new Map(v.hashes) })) };
    if (how === 1) bm.hostname = other.hostname;
    // duplicity compares neither hashes nor indexes nor block numbers.
    if (how === 2 && bm.volumes[0]) bm.volumes[0].hashes.set('SHA1', '0'.repeat(40));
    if (how === 3 && bm.volumes[0]) bm.volumes[0] = { ...bm.volumes[0], startBlock: 77, endIndex: [Buffer.from('zz')] };
    if (how === 4) bm.volumes = other.volumes;
    return [a, bm] as const;
  });
  const py = runPython<boolean[]>(
    `${PY_PARSE}
result = [manifest.Manifest().from_string(unhex(a)) == manifest.Manifest().from_string(unhex(b)) for a, b in data]`,
    cases.map(([x, y]) => [formatManifest(x).toString('hex'), formatManifest(y).toString('hex')]),
  );
  let unequal = 0;
  cases.forEach(([x, y], i) => {
    const ours = manifestsEqual(parseManifest(formatManifest(x)), parseManifest(formatManifest(y)));
    if (!ours) unequal++;
    assert.equal(ours, py[i], `case ${i}`);
  });
  assert.ok(unequal > 50 && unequal < cases.length - 50, `both outcomes exercised (${unequal} unequal)`);
});

test('parseManifest on hostile input: only one-line Errors, linear time', () => {
  const check = (buf: Buffer): void => {
    try {
      parseManifest(buf);
    } catch (e) {
      assert.ok(e instanceof Error && !e.message.includes('\n') && e.message.length < 300, String(e));
    }
  };
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (a) => check(Buffer.from(a))),
    { numRuns: 2000 },
  );
  const line = fc.constantFrom(
    'Volume 1:',
    'volume 2:',
    'Volume 99999999999999:',
    ' StartingPath . ',
    ' EndingPath "a\\x20" 3',
    ' Hash SHA1 ab',
    'Hostname h',
    'Filelist 2',
    '  new x',
    '',
    ' ',
    '\r',
    'Volume\t3:',
    'Volume 0:',
  );
  fc.assert(
    fc.property(fc.array(line, { maxLength: 40 }), (ls) => check(b(ls.join('\n')))),
    { numRuns: 2000 },
  );

  const started = performance.now();
  const big = (n: number, f: (i: number) => string): Buffer => b(Array.from({ length: n }, (_, i) => f(i)).join(''));
  // 20000 volumes, then a restart back to volume 1: the drop loop must not walk huge ranges.
  check(big(20000, (i) => `Volume ${i + 1}:\n StartingPath . \n EndingPath . \n`));
  check(b(`Volume ${2 ** 52}:\n StartingPath . \n EndingPath . \nVolume 1:\n StartingPath . \n EndingPath . \n`));
  check(big(200000, () => '\nvolume'));
  check(big(200000, () => 'Hostname'));
  check(b(`Filelist 5\n${'x'.repeat(1_000_000)}`));
  assert.ok(performance.now() - started < 3000, 'large hostile manifests parse in linear time');
});
