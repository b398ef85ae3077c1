/**
 * ManifestHeadReader against parseManifest(…, { fileList: false }): for hand-made hostile manifests, every cut of them and random line soups, fed
 * in chunks of every size, both give the same manifest or the same error (manifest-head-duplicity.test.ts: real duplicity's).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_LINE } from '../../src/codec/manifest-head.ts';
import { agrees, streamed } from './manifest-head-compare.ts';

const lines = (...ls: string[]): Buffer => Buffer.from(ls.join('\n'), 'latin1');

const SHA = 'c1c8d0b6236659d52912bdbf0da9083e059694d4';
const GOOD = [
  'Hostname vm',
  'Localdir /srv/data',
  'PermafrostSignatureStored 123 CRC32C AAAAAA==',
  'Volume 1:',
  '    StartingPath   .  ',
  '    EndingPath     "big\\x20file" 3',
  `    Hash SHA1 ${SHA}`,
  '    PermafrostStored 99 CRC32C BBBBBB==',
  'Volume 2:',
  '    StartingPath   "big\\x20file" 4',
  '    EndingPath     z.txt  ',
  `    Hash SHA1 ${SHA}`,
  'Filelist 3',
  '    new      a.txt',
  '    changed  "big\\x20file"',
  '    deleted  z.txt',
  '',
];

test('a well-formed manifest reads the same in chunks of any size, without its file list', () => {
  const r = agrees(lines(...GOOD), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 17, 31, 64, 1000]);
  assert.ok('ok' in r);
  assert.equal(r.ok.volumes.length, 2);
  assert.equal(r.ok.files, undefined);
  assert.deepEqual(r.ok.signatureStored, { size: 123, crc32c: 'AAAAAA==' });
});

test('a manifest cut anywhere reads the same (or fails the same)', () => {
  const whole = lines(...GOOD);
  for (let n = 0; n <= whole.length; n++) agrees(whole.subarray(0, n), [1, 7, whole.length + 1]);
});

test('hostile manifests: lying Filelist counts, Filelist first, CRLF, blanks, odd volume lines, fields in the file list', () => {
  const cases: string[][] = [
    ['Hostname vm', 'Volume 1:', '  StartingPath .', '  EndingPath x', `  Hash SHA1 ${SHA}`, 'Filelist 99', '    new      a', ''],
    [
      'Hostname vm',
      'Volume 1:',
      '  StartingPath .',
      '  EndingPath x',
      `  Hash SHA1 ${SHA}`,
      'Filelist 0',
      '    new      a',
      '    new      b',
    ],
    ['Filelist 2', '    new      a', '    changed  b', 'Volume 1:', '  StartingPath .', '  EndingPath b', `  Hash SHA1 ${SHA}`, ''],
    [
      'Hostname vm\r',
      'Localdir /x\r',
      'Volume 1:\r',
      '  StartingPath .\r',
      '  EndingPath b 2\r',
      `  Hash SHA1 ${SHA}\r`,
      'Filelist 1\r',
      '    new  a\r',
      '',
    ],
    ['Volume 1:', '  StartingPath .', '   ', '  EndingPath b', ''],
    ['Volume 1:', '  StartingPath .', '  EndingPath b', '\r', '  ', 'Volume 2:', '  StartingPath b', '  EndingPath c', '  \t', ''],
    ['Volume 1:', '  StartingPath .', '  EndingPath b', '\r', '    new      x'],
    ['Volume 1:\t  ', '  StartingPath .'],
    ['Volume 1:', '  StartingPath .', '  EndingPath b', 'volume\t2: x', '  StartingPath c'],
    ['Volume 1:', '  StartingPath .', '  EndingPath b', 'volume', 'volume 2:', '  StartingPath c', '  EndingPath d'],
    ['Volume 1:', '  StartingPath .', '  EndingPath b', 'volume'],
    ['Volume 1:', '  StartingPath .', '  EndingPath b', 'VOLUME 3:', '  startingpath c', '  endingpath d', 'Volume 2:', '  StartingPath .'],
    ['Volume 3:', '  StartingPath .', '  EndingPath b', 'Volume 1:', '  StartingPath c', '  EndingPath d'],
    ['Volume 1:', '  StartingPath .', '  EndingPath b', 'Volume 1:', '  StartingPath c', '  EndingPath d 1'],
    ['Volume 99999999999999999999:', '  StartingPath .'],
    ['Volume 1:', '  StartingPath . x', '  EndingPath b'],
    ['Volume 1:', '  StartingPath', '  EndingPath b'],
    ['Volume 1:', '  StartingPath .', '  EndingPath b', '  Hash SHA1'],
    [
      'Volume 1:',
      '  StartingPath .',
      '  EndingPath b',
      'Filelist 1',
      `    Hash SHA1 ${SHA}`,
      '    new a',
      'hostname late',
      'localdir late',
    ],
    ['Volume 1:', '  StartingPath .', '  EndingPath "b\\x2', ''],
    ['hostname', 'hostname', 'localdir', 'volume 1:', '  StartingPath .', '  EndingPath b', ''],
    ['hostname', 'volume 1:', '  StartingPath .', '  EndingPath b', 'hostname x'],
    ['HOSTNAME\tcaf\xe9', 'Volume 1:', '  StartingPath .', '  EndingPath b', ''],
    ['Hostname "a\\xZZ"', 'Volume 1:', '  StartingPath .', '  EndingPath x y', ''],
    ['Localdir "a\\xZZ"', 'Volume 1:', '  StartingPath .', '  EndingPath x y', ''],
    ['  PermafrostSignatureStored 1 CRC32C AAAAAA==', 'PermafrostSignatureStored bad', 'Volume 1:', '  StartingPath .', '  EndingPath b'],
    [
      'Volume 1:',
      '  StartingPath .',
      '  EndingPath b',
      'PermafrostSignatureStored 1 CRC32C AAAAAA==',
      '  PermafrostStored 5 CRC32C CCCCCC==',
    ],
    ['', '', 'volume 1:', '  StartingPath .', '  EndingPath b', '', ''],
    ['no volumes at all', 'Hostname x'],
    [],
  ];
  for (const c of cases) agrees(lines(...c));
});

test('random line soups read the same in random chunks', () => {
  const pieces = [
    'Hostname h',
    'hostname',
    'Localdir /d',
    'localdir\t"x\\x41"',
    'Volume 1:',
    'volume 2:',
    'VOLUME 3: x',
    'volume',
    'volume\tx',
    'Volume 18446744073709551616:',
    '    StartingPath   .',
    '    StartingPath   a 1',
    '    EndingPath     b',
    '    EndingPath     "c d" 2',
    `    Hash SHA1 ${SHA}`,
    '    Hash caf\xe9 x',
    '    PermafrostStored 1 CRC32C AAAAAA==',
    'PermafrostSignatureStored 2 CRC32C AAAAAA==',
    'Filelist 2',
    '    new      a',
    '    deleted  "\\x0a"',
    '',
    '   ',
    '\r',
    '\t\v\f',
  ];
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(...pieces), { maxLength: 14 }),
      fc.constantFrom('\n', '\r\n'),
      fc.boolean(),
      fc.integer({ min: 1, max: 40 }),
      (ls, eol, finalEol, chunk) => {
        const buf = Buffer.from(ls.join(eol) + (finalEol ? eol : ''), 'latin1');
        agrees(buf, [chunk, buf.length + 1]);
      },
    ),
    { numRuns: 3000 },
  );
});

test('very long lines: file-list lines are passed over, a long field line is a one-line error', () => {
  const longPath = 'p'.repeat(3 * MAX_LINE);
  const withLong = lines(...GOOD.slice(0, -1), `    new      ${longPath}`, '    new      after', '');
  agrees(withLong, [1000, 65536, 3 * MAX_LINE + 100, withLong.length + 1]);
  const longHash = lines('Volume 1:', '  StartingPath .', '  EndingPath b', `  Hash SHA1 ${'a'.repeat(MAX_LINE)}`, '');
  assert.throws(() => streamed(longHash, 65536), { message: `manifest has a line longer than ${MAX_LINE} bytes that may hold a field` });
  // just under the limit, a field line is read whole
  const fits = lines('Volume 1:', '  StartingPath .', '  EndingPath b', `  Hash SHA1 ${'a'.repeat(MAX_LINE - 20)}`, '');
  agrees(fits, [4096]);
});
