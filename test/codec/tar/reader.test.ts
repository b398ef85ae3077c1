import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { encodeHeader, type TarHeader } from '../../../src/codec/tar/header.ts';
import { TarReader, type TarEntry } from '../../../src/codec/tar/reader.ts';
import { typeflagCarriesData } from '../../../src/codec/tar/typeflags.ts';
import { encodeEntry, endOfArchive, volumeFooter } from '../../../src/codec/tar/writer.ts';
import { tmpDir } from '../../support/tmp.ts';
import { tarHeader } from './arbitraries.ts';
import { PythonTarfile, type PythonMember } from './python-tarfile.ts';
import { chunked, chunkSizes, readAll } from './sources.ts';

const py = new PythonTarfile();
after(() => py.close());

const DERIVED = new Set(['path', 'linkpath', 'uname', 'gname', 'uid', 'gid', 'size', 'mtime', 'hdrcharset']);

interface Member {
  header: TarHeader;
  data: Buffer;
}

/** Random members that a tar can carry: no data for the types readers do not skip data for. */
const member: fc.Arbitrary<Member> = fc
  .tuple(
    tarHeader({ typeflags: fc.constantFrom(0x30, 0x35, 0x32, 0x36, 0x33, 0x34, 0x31, 0x37, 0x00) }),
    fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 0, max: 3000 }) }, { weight: 1, arbitrary: fc.integer({ min: 60000, max: 70000 }) }),
    fc.integer(),
  )
  .map(([h, size, seed]) => {
    const { extraPax, ...rest }: TarHeader = h;
    const header: TarHeader = rest;
    const vendor = extraPax?.filter(([k]) => !DERIVED.has(k)) ?? [];
    if (vendor.length > 0) header.extraPax = vendor;
    const hasData = typeflagCarriesData(h.typeflag) && !(h.typeflag === 0 && ustarNameEndsWithSlash(header));
    const n = hasData ? size : 0;
    const data = Buffer.alloc(n);
    for (let i = 0; i < n; i++) data[i] = (seed + i * 31 + (i >> 7)) & 0xff;
    return { header: { ...header, size: n }, data };
  });

function ustarNameEndsWithSlash(h: TarHeader): boolean {
  const block = encodeHeader(h).subarray(-512);
  const end = Math.min(100, block.indexOf(0) < 0 ? 100 : block.indexOf(0));
  return end > 0 && block[end - 1] === 0x2f;
}

/** What reading gives back for a header we wrote: Python's normalisations, nothing else. */
function expectedHeader(h: TarHeader): TarHeader {
  const isDevice = h.typeflag === 0x33 || h.typeflag === 0x34;
  const isDir = h.typeflag === 0x35 || (h.typeflag === 0 && ustarNameEndsWithSlash(h));
  const name = h.typeflag === 0x35 && h.name.at(-1) !== 0x2f ? Buffer.concat([h.name, Buffer.from('/')]) : h.name;
  const out: TarHeader = {
    ...h,
    name,
    typeflag: isDir ? 0x35 : h.typeflag,
    mode: h.mode & 0o7777,
    devmajor: isDevice ? h.devmajor : 0,
    devminor: isDevice ? h.devminor : 0,
  };
  if (h.extraPax) {
    // Python's dict semantics: a repeated key keeps its first place and its last value.
    const m = new Map<string, Buffer>();
    for (const [k, v] of h.extraPax) m.set(k, v);
    out.extraPax = [...m];
  }
  return out;
}

function tarOf(members: Member[]): { tar: Buffer; offsets: number[] } {
  const parts: Buffer[] = [];
  const offsets: number[] = [];
  let pos = 0;
  for (const m of members) {
    offsets.push(pos);
    for (const p of encodeEntry(m.header, m.data)) {
      parts.push(p);
      pos += p.length;
    }
  }
  return { tar: Buffer.concat(parts), offsets };
}

describe('round trip: encodeEntry, then TarReader', () => {
  test('random members under random chunkings, with each archive ending', async () => {
    const ending = fc.constantFrom('none', 'endOfArchive', 'volumeFooter+garbage');
    await fc.assert(
      fc.asyncProperty(fc.array(member, { maxLength: 6 }), chunkSizes, ending, async (members, sizes, end) => {
        const { tar, offsets } = tarOf(members);
        let full = tar;
        if (end === 'endOfArchive') full = Buffer.concat([tar, endOfArchive(tar.length)]);
        if (end === 'volumeFooter+garbage') full = Buffer.concat([tar, volumeFooter(tar.length), Buffer.alloc(3000, 0xa5)]);
        const reader = new TarReader(chunked(full, sizes));
        for (const [i, m] of members.entries()) {
          const e = await reader.next();
          assert.ok(e, `entry ${i} missing`);
          assert.deepEqual(e.header, expectedHeader(m.header));
          assert.deepEqual(e.data, m.data);
          assert.equal(e.offset, offsets[i]);
          assert.deepEqual(full.subarray(e.offset, e.dataOffset), encodeHeader(m.header));
          for (const [k] of m.header.extraPax ?? []) assert.ok(e.pax.has(k), `PAX record ${k}`);
        }
        assert.equal(await reader.next(), null);
        assert.equal(await reader.next(), null);
        // It stops at the end marker and leaves the footer and garbage unread.
        assert.equal(reader.bytesConsumed, end === 'none' ? tar.length : tar.length + 512);
      }),
      { numRuns: 300 },
    );
  });

  test('data lying whole inside one source chunk is not copied', async () => {
    const data = Buffer.alloc(5000, 7);
    const h: TarHeader = { ...plainHeader('f'), size: data.length };
    const tar = Buffer.concat(encodeEntry(h, data));
    const [e] = await readAll(chunked(tar));
    assert.equal(e?.data.buffer, tar.buffer);
  });

  test('a multi-megabyte entry from 64 KiB chunks', async () => {
    const data = Buffer.alloc(5 * 1024 * 1024 + 123);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 8)) % 251;
    const tar = Buffer.concat([...encodeEntry({ ...plainHeader('sig'), size: data.length }, data), endOfArchive(0)]);
    const [e, ...rest] = await readAll(chunked(tar, [65536]));
    assert.equal(rest.length, 0);
    assert.ok(e?.data.equals(data));
  });
});

describe("Python's tarfile reads what we write", () => {
  test('random members: same names, owners, ids, times, types and data', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(member, { minLength: 1, maxLength: 4 }), async (members) => {
        const { tar } = tarOf(members);
        const theirs = await py.read(Buffer.concat([tar, endOfArchive(tar.length)]));
        assert.equal(theirs.length, members.length);
        for (const [i, m] of members.entries()) {
          const want = expectedHeader(m.header);
          const got = theirs[i]!;
          assert.deepEqual(stripSlashes(got.name), stripSlashes(want.name));
          assert.deepEqual(got.linkname, want.linkname);
          assert.deepEqual([got.uname, got.gname], [want.uname, want.gname]);
          assert.deepEqual(
            [got.mode, got.uid, got.gid, got.mtime, got.typeflag],
            [want.mode, want.uid, want.gid, want.mtime, want.typeflag],
          );
          if (want.typeflag === 0x33 || want.typeflag === 0x34)
            assert.deepEqual([got.devmajor, got.devminor], [want.devmajor, want.devminor]);
          if (got.typeflag === 0x30 || got.typeflag === 0x37 || got.typeflag === 0) assert.deepEqual(got.data, m.data);
          for (const [k, v] of want.extraPax ?? []) assert.deepEqual(got.pax.get(k), v);
        }
      }),
      { numRuns: 150 },
    );
  });
});

function stripSlashes(b: Buffer): Buffer {
  let end = b.length;
  while (end > 0 && b[end - 1] === 0x2f) end--;
  return b.subarray(0, end);
}

function plainHeader(name: string): TarHeader {
  return {
    name: Buffer.from(name),
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: 0,
    mtime: 1704067200,
    typeflag: 0x30,
    linkname: Buffer.alloc(0),
    uname: Buffer.from('root'),
    gname: Buffer.from('root'),
    devmajor: 0,
    devminor: 0,
  };
}

/** Our reading of an archive against Python's reading of the same bytes. */
function assertMatchesPython(ours: TarEntry[], theirs: PythonMember[]): void {
  assert.equal(ours.length, theirs.length, 'member count');
  for (const [i, e] of ours.entries()) {
    const p = theirs[i]!;
    const label = `member ${i} (${p.name.toString()})`;
    assert.deepEqual(stripSlashes(e.header.name), stripSlashes(p.name), label);
    assert.deepEqual(e.header.linkname, p.linkname, label);
    assert.deepEqual([e.header.uname, e.header.gname], [p.uname, p.gname], label);
    assert.deepEqual(
      [e.header.mode, e.header.uid, e.header.gid, e.header.size, e.header.mtime, e.header.typeflag],
      [p.mode, p.uid, p.gid, p.size, Math.trunc(p.mtime), p.typeflag],
      label,
    );
    if (p.typeflag === 0x30) assert.deepEqual(e.data, p.data, label);
    assert.deepEqual(
      new Map([...e.pax].filter(([k]) => k !== 'hdrcharset')),
      new Map([...p.pax].filter(([k]) => k !== 'hdrcharset')),
      label,
    );
  }
}

describe('reading archives written by other tools', () => {
  test("Python's TarFile with a global PAX header, long and non-UTF-8 names", async () => {
    const long = `${'d'.repeat(70)}/${'é'.repeat(30)}.txt`;
    const tar = await py.write(
      [
        { name: Buffer.from('top'), typeflag: 0x35, mode: 0o755, mtime: 1 },
        { name: Buffer.from(long), typeflag: 0x30, mode: 0o600, mtime: 1704067200, data: Buffer.from('long one\n') },
        { name: Buffer.from([0x62, 0x61, 0x64, 0xff]), typeflag: 0x30, mode: 0o644, mtime: 2, data: Buffer.alloc(1000, 1) },
        { name: Buffer.from('ln'), typeflag: 0x32, mode: 0o777, mtime: 3, linkname: Buffer.from('t'.repeat(140)) },
      ],
      [['comment', Buffer.from('global one')]],
    );
    assert.equal(tar[156], 0x67, "the archive starts with a 'g' header");
    const ours = await readAll(chunked(tar, [300, 17]));
    assertMatchesPython(ours, await py.read(tar));
    assert.deepEqual(ours[1]?.header.name, Buffer.from(long));
    assert.deepEqual(ours[2]?.header.name, Buffer.from([0x62, 0x61, 0x64, 0xff]));
    assert.deepEqual(ours[3]?.header.linkname, Buffer.from('t'.repeat(140)));
    assert.deepEqual(ours[3]?.pax.get('comment'), Buffer.from('global one'));
    assert.deepEqual(ours[1]?.data, Buffer.from('long one\n'));
  });

  test('GNU tar: gnu (long names, base-256 numbers), posix (PAX) and ustar (prefix) formats', async (t) => {
    const dir = tmpDir(t, 'gnutar');
    const src = join(dir, 'src');
    const longDir = 'd'.repeat(60);
    const longName = `${longDir}/${'n'.repeat(80)}`;
    mkdirSync(join(src, longDir), { recursive: true });
    writeFileSync(join(src, longName), 'hi\n');
    writeFileSync(join(src, 'old'), 'x\n');
    writeFileSync(join(src, 'frac'), 'f\n');
    symlinkSync('t'.repeat(150), join(src, 'longlink'));
    // Node's utimes takes negative times for "now"; touch does not.
    const touched = spawnSync('touch', ['-d', '@-315619200', join(src, 'old')], { encoding: 'utf8' });
    assert.equal(touched.status, 0, touched.stderr);
    utimesSync(join(src, 'frac'), 1700000000.25, 1700000000.75);

    const tarOfFormat = (format: string, extra: string[], members: string[]): Buffer => {
      const out = join(dir, `${format}.tar`);
      const r = spawnSync('tar', [`--format=${format}`, '--sort=name', ...extra, '-cf', out, '-C', src, ...members], { encoding: 'utf8' });
      assert.equal(r.status, 0, `tar --format=${format}: ${r.stderr}`);
      return readFileSync(out);
    };

    const gnu = tarOfFormat('gnu', ['--owner=someone:3000000'], ['.']);
    const gnuEntries = await readAll(chunked(gnu, [512, 1000]));
    assertMatchesPython(gnuEntries, await py.read(gnu));
    const byName = (entries: TarEntry[], name: string) => entries.find((e) => stripSlashes(e.header.name).toString() === name);
    assert.deepEqual(byName(gnuEntries, `./${longName}`)?.data, Buffer.from('hi\n'));
    assert.equal(byName(gnuEntries, './longlink')?.header.linkname.toString(), 't'.repeat(150));
    assert.equal(byName(gnuEntries, './old')?.header.mtime, -315619200);
    assert.equal(byName(gnuEntries, './old')?.header.uid, 3000000);
    assert.equal(gnu.subarray(0, 512).includes(Buffer.from('././@LongLink')), false, 'the first member is the root');
    assert.ok(gnu.includes(Buffer.from('././@LongLink')), 'GNU long names were used');

    const posix = tarOfFormat('posix', [], ['.']);
    const posixEntries = await readAll(chunked(posix, [4096]));
    assertMatchesPython(posixEntries, await py.read(posix));
    assert.equal(byName(posixEntries, './old')?.header.mtime, -315619200);
    assert.equal(byName(posixEntries, './frac')?.header.mtime, 1700000000);
    assert.equal(byName(posixEntries, `./${longName}`)?.header.name.toString(), `./${longName}`);

    // ustar cannot hold the long link nor the negative time; the long name goes into `prefix`.
    const ustar = tarOfFormat('ustar', [], [longName, 'frac']);
    const ustarEntries = await readAll(chunked(ustar, [100]));
    assertMatchesPython(ustarEntries, await py.read(ustar));
    assert.equal(ustarEntries[0]?.header.name.toString(), longName);
    assert.equal(ustar.includes(Buffer.from(longName)), false, 'the name was split into prefix and name');
  });
});

describe('end of archive and errors', () => {
  const one = Buffer.concat(encodeEntry({ ...plainHeader('a'), size: 3 }, Buffer.from('abc')));

  test('an empty source and an all-zero block are empty archives', async () => {
    assert.deepEqual(await readAll(chunked(Buffer.alloc(0))), []);
    assert.deepEqual(await readAll(chunked(Buffer.alloc(10240))), []);
  });

  test('a source ending inside a header or inside data is a truncated tar', async () => {
    for (const cut of [100, 511, 512 + 2, 1023, one.length + 300]) {
      const bytes = Buffer.concat([one, one]).subarray(0, cut);
      await assert.rejects(readAll(chunked(bytes, [64])), /^Error: truncated tar/, `cut at ${cut}`);
    }
  });

  test('a PAX header at the end of the source, or followed by the end marker', async () => {
    const withPax = encodeHeader({ ...plainHeader('p'.repeat(150)) });
    await assert.rejects(readAll(chunked(withPax.subarray(0, 1024))), /truncated tar/);
    await assert.rejects(readAll(chunked(Buffer.concat([withPax.subarray(0, 1024), Buffer.alloc(1024)]))), /not followed by an entry/);
  });

  test('a corrupted header fails its checksum', async () => {
    const bad = Buffer.from(one);
    bad[3] = 0x41;
    await assert.rejects(readAll(chunked(bad)), /bad tar header checksum at offset 0/);
  });

  test('a signed-char checksum (old Sun tar) is accepted, as Python accepts it', async () => {
    const h = Buffer.from(
      encodeHeader({ ...plainHeader('\u00e9t\u00e9'), uname: Buffer.from([0xe9]), extraPax: undefined }).subarray(-512),
    );
    let signed = 8 * 32;
    for (let i = 0; i < 512; i++) if (i < 148 || i >= 156) signed += h[i]! >= 128 ? h[i]! - 256 : h[i]!;
    h.write(`${signed.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    const [e] = await readAll(chunked(h));
    assert.equal(e?.header.name.toString('latin1'), '?t?');
    assert.equal((await py.read(h)).length, 1);
  });

  test('a size over maxEntrySize is refused before buffering', async () => {
    const h = encodeHeader({ ...plainHeader('big'), size: 2 ** 40 });
    await assert.rejects(readAll(chunked(h)), /over the limit/);
    await assert.rejects(
      readAll(chunked(Buffer.concat(encodeEntry({ ...plainHeader('f'), size: 10 }, Buffer.alloc(10)))), { maxEntrySize: 9 }),
      /over the limit of 9/,
    );
  });

  test('malformed PAX records', async () => {
    for (const body of ['5 x=\n', '4 x=\n', '7 x=1\n', '6 =12\n', 'ab x=1\n', '11 path=a\n']) {
      const payload = Buffer.from(body, 'latin1');
      const paxHeader = Buffer.from(
        encodeHeader({ ...plainHeader('x'), typeflag: 0x78, size: payload.length, uname: Buffer.alloc(0), gname: Buffer.alloc(0) }),
      );
      const tar = Buffer.concat([
        paxHeader,
        payload,
        Buffer.alloc(512 - payload.length),
        ...encodeEntry(plainHeader('after'), Buffer.alloc(0)),
      ]);
      if (body === '5 x=\n') {
        const [e] = await readAll(chunked(tar));
        assert.deepEqual(e?.pax.get('x'), Buffer.alloc(0));
        assert.deepEqual(e?.header.extraPax, [['x', Buffer.alloc(0)]]);
      } else {
        await assert.rejects(readAll(chunked(tar)), /invalid PAX record at offset 0/, body);
      }
    }
  });

  test('global PAX records are bounded over the whole archive', async () => {
    const parts: Buffer[] = [];
    for (let i = 0; i < 20; i++) {
      const body = Buffer.from(`20 key${String(i).padStart(4, '0')}=${'v'.repeat(8)}\n`, 'latin1');
      assert.equal(body.length, 20);
      parts.push(
        encodeHeader({ ...plainHeader('g'), typeflag: 0x67, size: body.length, uname: Buffer.alloc(0), gname: Buffer.alloc(0) }),
        body,
        Buffer.alloc(492),
      );
      parts.push(...encodeEntry(plainHeader(`f${i}`), Buffer.alloc(0)));
    }
    const tar = Buffer.concat(parts);
    assert.equal((await readAll(chunked(tar), { maxMetaSize: 1000 })).length, 20);
    await assert.rejects(readAll(chunked(tar), { maxMetaSize: 100 }), /global PAX records at offset \d+ exceed 100 bytes/);
  });

  test('close() releases the source without reading the rest', async () => {
    let released = false;
    async function* source() {
      try {
        yield Buffer.concat(encodeEntry(plainHeader('a'), Buffer.alloc(0)));
        yield Buffer.alloc(1024);
        yield Buffer.alloc(100, 0xee); // top-off garbage
      } finally {
        released = true;
      }
    }
    const reader = new TarReader(source());
    assert.ok(await reader.next());
    assert.equal(await reader.next(), null);
    assert.equal(released, false);
    await reader.close();
    assert.equal(released, true);
  });

  test('GNU sparse members are refused', async () => {
    const tar = Buffer.concat(encodeEntry({ ...plainHeader('s'), typeflag: 0x53 }, Buffer.alloc(0)));
    await assert.rejects(readAll(chunked(tar)), /sparse/);
  });
});

describe('hostile input', () => {
  const sample = (() => {
    const parts: Buffer[] = [];
    const add = (h: TarHeader, data: Buffer) => parts.push(...encodeEntry({ ...h, size: data.length }, data));
    add(
      { ...plainHeader('é'.repeat(70)), uid: 8 ** 7, mtime: -7, extraPax: [['PERMAFROST.size', Buffer.from('9')]] },
      Buffer.from('some data'),
    );
    add({ ...plainHeader('dir'), typeflag: 0x35 }, Buffer.alloc(0));
    add({ ...plainHeader('ln'), typeflag: 0x32, linkname: Buffer.from('x'.repeat(120)) }, Buffer.alloc(0));
    add(plainHeader('f'), Buffer.alloc(700, 3));
    return Buffer.concat(parts);
  })();

  async function survives(bytes: Buffer, sizes: readonly number[]): Promise<void> {
    try {
      await readAll(chunked(bytes, sizes), { maxEntrySize: 1 << 20 });
    } catch (e) {
      assert.ok(e instanceof Error, 'an Error');
      assert.ok(!(e instanceof RangeError || e instanceof TypeError), `not an internal failure: ${e.stack}`);
      assert.ok(!e.message.includes('\n'), 'a one-line message');
    }
  }

  test('random bytes', { timeout: 10000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 4000 }), chunkSizes, (bytes, sizes) => survives(Buffer.from(bytes), sizes)),
      { numRuns: 400 },
    );
  });

  test('mutated and truncated archives', { timeout: 10000 }, async () => {
    const mutation = fc.record({
      edits: fc.array(fc.tuple(fc.nat({ max: sample.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
      cut: fc.option(fc.nat({ max: sample.length }), { nil: undefined }),
      fixChecksums: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(mutation, chunkSizes, async ({ edits, cut, fixChecksums }, sizes) => {
        const bytes = Buffer.from(sample);
        for (const [at, v] of edits) bytes[at] = v;
        // Recomputing checksums lets mutations reach the field and PAX parsers.
        if (fixChecksums) for (let off = 0; off + 512 <= bytes.length; off += 512) fixChecksum(bytes.subarray(off, off + 512));
        await survives(cut === undefined ? bytes : bytes.subarray(0, cut), sizes);
      }),
      { numRuns: 800 },
    );
  });
});

/** Rewrites a block's checksum field if the block looks like a header (has the ustar magic). */
function fixChecksum(block: Buffer): void {
  if (block.toString('latin1', 257, 262) !== 'ustar') return;
  let sum = 8 * 32;
  for (let i = 0; i < 512; i++) if (i < 148 || i >= 156) sum += block[i]!;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
}
