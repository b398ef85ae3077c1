import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import type { TarHeader } from '../../../src/codec/tar/header.ts';
import { encodeEntry, endOfArchive, volumeFooter } from '../../../src/codec/tar/writer.ts';
import { PythonTarfile, type PythonEntrySpec } from './python-tarfile.ts';

const py = new PythonTarfile();
after(() => py.close());

/** The header Python's TarFile.addfile() writes for a bare TarInfo with these fields. */
function headerOf(e: PythonEntrySpec): TarHeader {
  const none = Buffer.alloc(0);
  return {
    name: e.name,
    mode: e.mode,
    uid: 0,
    gid: 0,
    size: e.data?.length ?? 0,
    mtime: e.mtime,
    typeflag: e.typeflag,
    linkname: e.linkname ?? none,
    uname: none,
    gname: none,
    devmajor: 0,
    devminor: 0,
  };
}

async function assertSameArchiveAsPython(entries: PythonEntrySpec[]): Promise<void> {
  const parts = entries.flatMap((e) => encodeEntry(headerOf(e), e.data ?? Buffer.alloc(0)));
  const body = Buffer.concat(parts);
  const ours = Buffer.concat([body, endOfArchive(body.length)]);
  const theirs = await py.write(entries);
  assert.equal(ours.length, theirs.length, `archive length for a ${body.length}-byte body`);
  assert.ok(ours.equals(theirs), `archive bytes for a ${body.length}-byte body`);
}

describe("whole archives are byte-identical to Python's TarFile (entries, then close())", () => {
  const file = (name: string, size: number): PythonEntrySpec => ({
    name: Buffer.from(name),
    typeflag: 0x30,
    mode: 0o644,
    mtime: 1704067200,
    data: Buffer.alloc(size, 0x61),
  });

  test('the empty archive', () => assertSameArchiveAsPython([]));
  test('a body of 9216 bytes: the two zero blocks end exactly on a record', () => assertSameArchiveAsPython([file('f', 8704)]));
  test('a body of 9728 bytes: the end blocks cross a record boundary', () => assertSameArchiveAsPython([file('f', 9216)]));
  test('a body of 10240 bytes', () => assertSameArchiveAsPython([file('f', 9728)]));

  test('random entries of random sizes', async () => {
    const entry = fc.record({
      name: fc.stringMatching(/^[a-z]{1,8}(\/[a-z]{1,8}){0,2}$/).map((s) => Buffer.from(s)),
      typeflag: fc.constantFrom(0x30, 0x35, 0x32),
      mode: fc.integer({ min: 0, max: 0o7777 }),
      mtime: fc.integer({ min: 0, max: 2 ** 33 }),
      size: fc.integer({ min: 0, max: 12000 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { maxLength: 5 }), async (specs) => {
        await assertSameArchiveAsPython(
          specs.map(({ size, ...e }) =>
            e.typeflag === 0x30
              ? { ...e, data: Buffer.alloc(size, size & 0xff) }
              : e.typeflag === 0x32
                ? { ...e, linkname: Buffer.from('target') }
                : e,
          ),
        );
      }),
      { numRuns: 60 },
    );
  });
});

describe('volumeFooter (duplicity get_footer)', () => {
  test('pads the volume to a multiple of 10240 with 512 to 10240 zero bytes', () => {
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 30 }), (blocks) => {
        const n = blocks * 512;
        const footer = volumeFooter(n);
        assert.equal((n + footer.length) % 10240, 0);
        assert.ok(footer.length >= 512 && footer.length <= 10240);
        assert.ok(footer.every((b) => b === 0));
      }),
    );
  });
  // Checked against real duplicity gpg volumes in duplicity-volumes.test.ts.
});

describe('encodeEntry', () => {
  const h: TarHeader = headerOf({ name: Buffer.from('f'), typeflag: 0x30, mode: 0o644, mtime: 0 });

  test('returns the data buffer itself, not a copy', () => {
    const data = Buffer.from('hello');
    const parts = encodeEntry({ ...h, size: 5 }, data);
    assert.equal(parts[1], data);
    assert.equal(
      parts.reduce((n, p) => n + p.length, 0),
      1024,
    );
  });

  test('refuses a size that does not match the data, and data on types readers do not skip', () => {
    assert.throws(() => encodeEntry({ ...h, size: 4 }, Buffer.from('hello')), RangeError);
    assert.throws(() => encodeEntry({ ...h, typeflag: 0x35, size: 1 }, Buffer.from('x')), RangeError);
    assert.throws(() => encodeEntry({ ...h, typeflag: 0x00, name: Buffer.from('d/'), size: 1 }, Buffer.from('x')), RangeError);
  });

  test('stream lengths must be whole blocks', () => {
    assert.throws(() => endOfArchive(100), RangeError);
    assert.throws(() => volumeFooter(-512), RangeError);
  });
});
