/**
 * permafrost's durable upload records in manifests: `PermafrostStored <size> CRC32C <base64>` in a
 * volume block and `PermafrostSignatureStored ...` between Localdir and the first volume. They must
 * be invisible to duplicity: 0.8.22's and 3.x's own manifest modules parse a manifest carrying them
 * exactly as the same manifest without them (volumes, hashes, paths, file list), and a malformed
 * record is ignored by both them and us.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import fc from 'fast-check';
import { formatManifest, parseManifest, type Manifest, type StoredRecord, type VolumeInfo } from '../../src/codec/manifest.ts';
import { crc32c, crc32cBase64 } from '../../src/backend/crc32c.ts';
import { PROJECT_ROOT, INSTALL_HINT } from '../support/duplicity.ts';
import { PYTHON } from './python-oracle.ts';

const DUP3_PYTHON = process.env['PERMAFROST_DUP3_PYTHON'] ?? `${PROJECT_ROOT}.cache/duplicity3/bin/python`;
const b = (s: string): Buffer => Buffer.from(s, 'utf8');

const record = (bytes: string): StoredRecord => ({ size: Buffer.byteLength(bytes), crc32c: crc32cBase64(crc32c(b(bytes))) });

function sample(): Manifest {
  const vol = (n: number, start: string[], end: string[], endBlock: number | null, sha1: string, stored?: StoredRecord): VolumeInfo => ({
    volume: n,
    startIndex: start.map(b),
    startBlock: null,
    endIndex: end.map(b),
    endBlock,
    hashes: new Map([['SHA1', sha1]]),
    ...(stored ? { stored } : {}),
  });
  return {
    hostname: b('host1'),
    localdir: b('/srv/data dir'),
    signatureStored: record('signature bytes'),
    volumes: [
      vol(1, [], ['big.bin'], 3, 'a'.repeat(40), record('volume one')),
      vol(2, ['big.bin'], ['z', 'last file'], null, 'b'.repeat(40), record('volume two, a little longer')),
    ],
    files: [
      { type: 'new', path: b('big.bin') },
      { type: 'changed', path: b('z/last file') },
    ],
  };
}

function withoutRecords(m: Manifest): Manifest {
  const { signatureStored: _, ...rest } = m;
  return { ...rest, volumes: m.volumes.map(({ stored: _s, ...v }) => v) };
}

test('records are written where duplicity does not look, and read back', () => {
  const m = sample();
  const text = formatManifest(m).toString('latin1');
  const lines = text.split('\n');
  // the CRC of 'signature bytes', computed independently of the writer
  const sigCrc = crc32cBase64(crc32c(b('signature bytes')));
  assert.equal(lines[2], `PermafrostSignatureStored 15 CRC32C ${sigCrc}`);
  assert.equal(lines[3], 'Volume 1:');
  assert.equal(lines[7], `    PermafrostStored 10 CRC32C ${crc32cBase64(crc32c(b('volume one')))}`);
  assert.ok(lines.indexOf('Filelist 2') > lines.findLastIndex((l) => l.includes('PermafrostStored')));
  // without records, the bytes are exactly what they were before records existed
  const plain = formatManifest(withoutRecords(m)).toString('latin1');
  assert.equal(
    text
      .split('\n')
      .filter((l) => !l.includes('Stored '))
      .join('\n'),
    plain,
  );

  const back = parseManifest(formatManifest(m));
  assert.deepEqual(back.signatureStored, m.signatureStored);
  assert.deepEqual(
    back.volumes.map((v) => v.stored),
    m.volumes.map((v) => v.stored),
  );
  assert.deepEqual(withoutRecords(back), withoutRecords(m));
  assert.equal(parseManifest(formatManifest(withoutRecords(m))).signatureStored, undefined);
});

test('the writer refuses records that would not read back', () => {
  const m = sample();
  assert.throws(() => formatManifest({ ...m, signatureStored: { size: -1, crc32c: 'AAAAAA==' } }), /bad stored size/);
  assert.throws(() => formatManifest({ ...m, signatureStored: { size: 1, crc32c: 'AAAA AA==' } }), /bad CRC-32C/);
  assert.throws(
    () => formatManifest({ ...m, volumes: [{ ...m.volumes[0]!, stored: { size: 1.5, crc32c: 'AAAAAA==' } }] }),
    /bad stored size/,
  );
});

/** Malformed records and case variants: what a hand edit or corruption could make of them. */
const BAD_RECORDS = [
  'PermafrostStored 10 CRC32C',
  'PermafrostStored ten CRC32C AAAAAA==',
  'PermafrostStored 10 CRC32 AAAAAA==',
  'PermafrostStored 10 CRC32C AAAAAAA=',
  'PermafrostStored 10 CRC32C AAAAAA== extra',
  'PermafrostStored 1234567890123456 CRC32C AAAAAA==',
  'PermafrostStored',
  'PermafrostSignatureStored 5',
];

test('a malformed record is no record, for us as for duplicity', () => {
  const base = withoutRecords(sample());
  const text = formatManifest(base).toString('latin1');
  for (const bad of BAD_RECORDS) {
    for (const damaged of [text.replace('Volume 2:\n', `Volume 2:\n    ${bad}\n`), text.replace('Volume 1:\n', `${bad}\nVolume 1:\n`)]) {
      const m = parseManifest(Buffer.from(damaged, 'latin1'));
      assert.equal(m.signatureStored, undefined, damaged);
      assert.ok(
        m.volumes.every((v) => v.stored === undefined),
        damaged,
      );
      assert.deepEqual(m, parseManifest(formatManifest(base)), damaged);
    }
  }
  // field names are case-insensitive, as duplicity's; a well-formed record keeps the last one
  const good = 'PERMAFROSTstored 7 CRC32C BBBBBB==';
  const m = parseManifest(
    Buffer.from(
      text.replace('Volume 1:\n', `Volume 1:\n    PermafrostStored 3 CRC32C AAAAAA==\n    ${good}\n    ${BAD_RECORDS[0]}\n`),
      'latin1',
    ),
  );
  assert.deepEqual(m.volumes[0]!.stored, { size: 7, crc32c: 'BBBBBB==' });
  // a signature record after the first volume line is part of a volume block, not the header
  const late = parseManifest(
    Buffer.from(text.replace('Volume 2:\n', 'Volume 2:\nPermafrostSignatureStored 1 CRC32C AAAAAA==\n'), 'latin1'),
  );
  assert.equal(late.signatureStored, undefined);
});

/** duplicity's reading of each manifest (hex): volumes with paths, blocks and hashes, host, dir, file list. */
const PY_READ = `
import sys, json
from duplicity import log, config, manifest
log.setup()
log.setverbosity(log.ERROR)
config.file_changed = b'x'
def unhex(h): return bytes.fromhex(h)
out = []
for h in json.loads(sys.stdin.read()):
    m = manifest.Manifest().from_string(unhex(h))
    out.append({
        'hostname': m.hostname, 'localdir': m.local_dirname.hex() if m.local_dirname is not None else None,
        'volumes': [[n, [x.hex() for x in vi.start_index], vi.start_block, [x.hex() for x in vi.end_index], vi.end_block, sorted(vi.hashes.items()), list(vi.get_best_hash())]
                    for n, vi in sorted(m.volume_info_dict.items())],
        'files': [[t.hex(), p.hex()] for p, t in m.get_files_changed()],
        'corrupt': getattr(m, 'corrupt_filelist', False),
    })
sys.stdout.write(json.dumps(out))
`;

function duplicityReads(python: string, what: string, manifests: readonly Buffer[]): unknown[] {
  if (!existsSync(python)) throw new Error(`${what}'s python is missing (${python}); ${INSTALL_HINT}`);
  const r = spawnSync(python, ['-c', PY_READ], {
    input: JSON.stringify(manifests.map((m) => m.toString('hex'))),
    encoding: 'utf8',
    env: { ...process.env, LC_ALL: 'C.UTF-8' },
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`${what} failed to read the manifests: ${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout) as unknown[];
}

const storedArb: fc.Arbitrary<StoredRecord> = fc.record({
  size: fc.oneof(fc.nat(), fc.constant(2 ** 40)),
  crc32c: fc.integer({ min: 0, max: 0xffffffff }).map(crc32cBase64),
});

test('duplicity 0.8.22 and 3.x read a manifest with records exactly as the one without', () => {
  const pathArb = fc.array(
    fc.stringMatching(/^[a-zA-Z0-9 é._-]{1,8}$/).filter((s) => s !== '.' && s !== '..'),
    { maxLength: 3 },
  );
  const cases = fc
    .sample(
      fc.record({
        sig: fc.option(storedArb, { nil: undefined }),
        volumes: fc.array(
          fc.record({
            start: pathArb,
            end: pathArb,
            block: fc.option(fc.nat(99), { nil: null }),
            stored: fc.option(storedArb, { nil: undefined }),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        files: fc.array(
          fc.tuple(
            fc.constantFrom('new' as const, 'changed' as const, 'deleted' as const),
            fc.stringMatching(/^[a-z]{1,5}( [a-z]{1,3})?$/),
          ),
          { maxLength: 4 },
        ),
      }),
      { numRuns: 150, seed: 29 },
    )
    .map(
      (c): Manifest => ({
        hostname: b('h'),
        localdir: b('/src'),
        ...(c.sig ? { signatureStored: c.sig } : {}),
        volumes: c.volumes.map((v, i) => ({
          volume: i + 1,
          startIndex: v.start.map(b),
          startBlock: null,
          endIndex: v.end.map(b),
          endBlock: v.block,
          hashes: new Map([['SHA1', (i + 1).toString(16).repeat(40).slice(0, 40)]]),
          ...(v.stored ? { stored: v.stored } : {}),
        })),
        files: c.files.map(([type, p]) => ({ type, path: b(p) })),
      }),
    );
  const withRecords = cases.map((m) => formatManifest(m));
  const without = cases.map((m) => formatManifest(withoutRecords(m)));
  assert.ok(cases.filter((m) => m.signatureStored && m.volumes.some((v) => v.stored)).length > 20, 'records exercised');
  for (const [python, what] of [
    [PYTHON, 'duplicity 0.8.22'],
    [DUP3_PYTHON, 'duplicity 3.x'],
  ] as const) {
    const got = duplicityReads(python, what, [...withRecords, ...without]);
    cases.forEach((m, i) => {
      const seen = got[i] as { corrupt: boolean; files: unknown[]; volumes: unknown[] };
      assert.deepEqual(seen, got[cases.length + i], `${what}, case ${i}:\n${withRecords[i]!.toString()}`);
      assert.equal(seen.corrupt, false);
      assert.equal(seen.files.length, m.files!.length);
      assert.equal(seen.volumes.length, m.volumes.length);
    });
    // and the malformed ones too
    const base = formatManifest(withoutRecords(sample())).toString('latin1');
    const damaged = BAD_RECORDS.map((bad) =>
      Buffer.from(base.replace('Volume 2:\n', `Volume 2:\n    ${bad}\n`).replace('Volume 1:\n', `${bad}\nVolume 1:\n`), 'latin1'),
    );
    const read = duplicityReads(python, what, [Buffer.from(base, 'latin1'), ...damaged]);
    for (let i = 1; i < read.length; i++) assert.deepEqual(read[i], read[0], `${what}: ${BAD_RECORDS[i - 1]}`);
  }
});

test('hostile input around records: only one-line Errors, linear time', () => {
  const check = (buf: Buffer): void => {
    try {
      parseManifest(buf);
    } catch (e) {
      assert.ok(e instanceof Error && !e.message.includes('\n') && e.message.length < 300, String(e));
    }
  };
  const line = fc.constantFrom(
    'Volume 1:',
    'Volume 2:',
    ' StartingPath . ',
    ' EndingPath a 3',
    ' Hash SHA1 ab',
    'Hostname h',
    'Filelist 1',
    '  new x',
    '',
    ...BAD_RECORDS,
    ' PermafrostStored 4 CRC32C AAAAAA==',
    'PermafrostSignatureStored 4 CRC32C AAAAAA==',
  );
  fc.assert(
    fc.property(fc.array(line, { maxLength: 40 }), (ls) => check(b(ls.join('\n')))),
    { numRuns: 2000 },
  );
  const started = performance.now();
  check(b('PermafrostSignatureStored 1 CRC32C AAAAAA==\n'.repeat(100_000)));
  check(b(`Volume 1:\n StartingPath . \n EndingPath . \n${' PermafrostStored 1 CRC32C AAAAAA==\n'.repeat(100_000)}`));
  assert.ok(performance.now() - started < 3000, 'many record lines parse in linear time');
});
