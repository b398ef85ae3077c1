import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { encodeHeader, type TarHeader } from '../../../src/codec/tar/header.ts';
import { endOfArchive } from '../../../src/codec/tar/writer.ts';
import { tarHeader } from './arbitraries.ts';
import { PythonTarfile } from './python-tarfile.ts';

const py = new PythonTarfile();
after(() => py.close());

function header(over: Partial<TarHeader>): TarHeader {
  return {
    name: Buffer.from('snapshot/a.txt'),
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: 6,
    mtime: 1704067200,
    typeflag: 0x30,
    linkname: Buffer.alloc(0),
    uname: Buffer.from('root'),
    gname: Buffer.from('root'),
    devmajor: 0,
    devminor: 0,
    ...over,
  };
}

async function assertSameAsPython(h: TarHeader): Promise<void> {
  const ours = encodeHeader(h);
  const theirs = await py.encodeHeader(h);
  if (!ours.equals(theirs)) {
    assert.fail(
      `encodeHeader differs from Python for ${JSON.stringify(show(h))}\nours:   ${ours.toString('hex')}\npython: ${theirs.toString('hex')}`,
    );
  }
}

function show(h: TarHeader): object {
  return {
    ...h,
    name: h.name.toString('hex'),
    linkname: h.linkname.toString('hex'),
    uname: h.uname.toString('hex'),
    gname: h.gname.toString('hex'),
  };
}

describe('encodeHeader is byte-identical to Python 3.11 TarInfo.tobuf(PAX_FORMAT)', () => {
  const B = (s: string | number[]) => (typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s));
  const cases: Array<[string, Partial<TarHeader>]> = [
    ['plain regular file', {}],
    ['name of exactly 100 bytes', { name: B('n'.repeat(100)) }],
    ['name of 101 bytes', { name: B('n'.repeat(101)) }],
    ['directory without trailing slash', { name: B('snapshot/dir'), typeflag: 0x35, size: 0 }],
    ['directory of 100 bytes plus the slash', { name: B('d'.repeat(100)), typeflag: 0x35, size: 0 }],
    ['root directory of a volume', { name: B('snapshot/./'), typeflag: 0x35, size: 0 }],
    ['non-ASCII name', { name: B('snapshot/dir/café.txt') }],
    ['invalid UTF-8 name', { name: Buffer.concat([B('bad'), B([0xff]), B('name')]) }],
    ['encoded surrogate (invalid UTF-8)', { name: B([0x61, 0xed, 0xa0, 0x80, 0x62]) }],
    ['truncated 4-byte sequence', { name: B([0x61, 0xf0, 0x9f, 0x98, 0x41]) }],
    ['overlong encoding', { name: B([0xc0, 0xaf, 0xe0, 0x80, 0xaf]) }],
    ['long non-ASCII name', { name: B('é'.repeat(80)) }],
    ['symlink with long target', { typeflag: 0x32, size: 0, linkname: B('t'.repeat(150)) }],
    ['symlink with non-ASCII target', { typeflag: 0x32, size: 0, linkname: B('ünï') }],
    ['uname of 32 bytes', { uname: B('u'.repeat(32)) }],
    ['gname of 33 bytes', { gname: B('g'.repeat(33)) }],
    ['non-ASCII uname, invalid UTF-8 gname', { uname: B('jürgen'), gname: B([0x67, 0xfe]) }],
    ['uid 8^7 - 1', { uid: 8 ** 7 - 1 }],
    ['uid 3000000', { uid: 3000000 }],
    ['gid 8^7', { gid: 8 ** 7 }],
    ['size 8^11 - 1', { size: 8 ** 11 - 1 }],
    ['size 8^11', { size: 8 ** 11 }],
    ['mtime 8^11', { mtime: 8 ** 11 }],
    ['negative mtime', { mtime: -5 }],
    ['very negative mtime', { mtime: -(2 ** 40) }],
    ['character device', { typeflag: 0x33, size: 0, devmajor: 1, devminor: 3 }],
    ['block device', { typeflag: 0x34, size: 0, devmajor: 7, devminor: 200 }],
    ['device numbers on a fifo are not written', { typeflag: 0x36, size: 0, devmajor: 9, devminor: 9 }],
    ['mode with file-type bits', { mode: 0o100755 }],
    ['setuid, setgid and sticky', { mode: 0o7777 }],
    ['deleted entry (spec 3.3)', { name: B('deleted/x'), mode: 0, size: 0, mtime: 0, uname: B(''), gname: B('') }],
    ['vendor PAX record alone', { extraPax: [['PERMAFROST.size', B('12')]] }],
    ['vendor record with a long name and big uid', { name: B('p'.repeat(120)), uid: 8 ** 7, extraPax: [['PERMAFROST.size', B('12')]] }],
    ['vendor record overriding path', { name: B('p'.repeat(120)), extraPax: [['path', B('other')]] }],
    [
      'repeated vendor key',
      {
        extraPax: [
          ['a', B('1')],
          ['b', B('2')],
          ['a', B('3')],
        ],
      },
    ],
    ['invalid UTF-8 in a vendor value', { name: B('é'), extraPax: [['x', B([0xff])]] }],
    ['record whose length prefix gains a digit', { name: B('q'.repeat(96)) }],
    ['record length crossing 1000', { name: B('r'.repeat(992)) }],
  ];
  for (const [label, over] of cases) {
    test(label, () => assertSameAsPython(header(over)));
  }

  test('random headers (names, owners, ids, sizes, mtimes, devices, vendor records)', async () => {
    await fc.assert(
      fc.asyncProperty(tarHeader(), (h) => assertSameAsPython(h)),
      { numRuns: 700 },
    );
  });
});

describe('values Python writes in PAX records read back through Python', () => {
  test('a negative mtime survives (Python writes mtime=-N and the ustar field 0)', async () => {
    const h = header({ mtime: -86400 * 365 });
    const tar = Buffer.concat([encodeHeader(h), Buffer.from('hello\n'), Buffer.alloc(506), endOfArchive(1536)]);
    assert.match(tar.toString('latin1', 512, 1024), /^\d+ mtime=-31536000\n/);
    assert.equal(tar.toString('latin1', 1024 + 136, 1024 + 148), '00000000000\0');
    const [m] = await py.read(tar);
    assert.equal(m?.mtime, -31536000);
  });

  test('vendor records reach Python unchanged, next to the standard ones', async () => {
    const h = header({ name: Buffer.from('ü'.repeat(60)), extraPax: [['PERMAFROST.size', Buffer.from('123456')]] });
    const tar = Buffer.concat([encodeHeader(h), Buffer.from('hello\n'), Buffer.alloc(506)]);
    const [m] = await py.read(tar);
    assert.deepEqual(m?.pax.get('PERMAFROST.size'), Buffer.from('123456'));
    assert.deepEqual(m?.name, h.name);
  });
});

describe('encodeHeader rejects what no reader could get back', () => {
  const bad: Array<[string, Partial<TarHeader>]> = [
    ['NUL in the name', { name: Buffer.from('a\0b') }],
    ['NUL in the link name', { linkname: Buffer.from('a\0') }],
    ['negative uid', { uid: -1 }],
    ['fractional size', { size: 1.5 }],
    ['unsafe mtime', { mtime: 2 ** 60 }],
    ['device number too big for the field', { typeflag: 0x33, devmajor: 8 ** 7 }],
    ['typeflag not a byte', { typeflag: 256 }],
    ['PAX key with =', { extraPax: [['a=b', Buffer.from('x')]] }],
  ];
  for (const [label, over] of bad) {
    test(label, () => assert.throws(() => encodeHeader(header(over)), RangeError));
  }
});
