import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { encodeHeader } from '../../../src/codec/tar/header.ts';
import type { TarEntry } from '../../../src/codec/tar/reader.ts';
import { endOfArchive, volumeFooter } from '../../../src/codec/tar/writer.ts';
import { duplicityVectors, vectorFile } from './duplicity-vectors.ts';
import { chunked, readAll } from './sources.ts';

/**
 * docs/duplicity-format.md §10 vectors, written by real duplicity 0.8.22 into a temporary directory. Generated at load
 * time so that the file-level `after` hook owns the cleanup; a failure fails every test below.
 */
let vectors = '';
let setupError: unknown;
try {
  vectors = duplicityVectors({ after });
} catch (e) {
  setupError = e;
}

function vectorPath(variant: 'plain' | 'gpg', kind: Parameters<typeof vectorFile>[2]): string {
  if (setupError !== undefined) throw setupError;
  return vectorFile(vectors, variant, kind);
}

const plain = (kind: Parameters<typeof vectorFile>[2]) => readFileSync(vectorPath('plain', kind));

function decrypt(kind: Parameters<typeof vectorFile>[2]): Buffer {
  const r = spawnSync(
    'gpg',
    [
      '--homedir',
      join(vectors, 'gnupg'),
      '--batch',
      '--quiet',
      '--pinentry-mode',
      'loopback',
      '--passphrase',
      'test',
      '--decrypt',
      vectorPath('gpg', kind),
    ],
    { maxBuffer: 1 << 26 },
  );
  assert.equal(r.status, 0, `gpg --decrypt: ${r.stderr?.toString()}`);
  return r.stdout;
}

const listing = (entries: TarEntry[]) =>
  entries.map((e) => [e.header.name.toString('utf8'), e.header.size, e.header.linkname.toString('utf8')] as const);

/** Every header re-encoded gives the bytes duplicity wrote. */
function assertHeadersReencode(file: Buffer, entries: TarEntry[]): void {
  for (const e of entries) {
    const written = file.subarray(e.offset, e.dataOffset);
    assert.ok(encodeHeader(e.header).equals(written), `header of ${e.header.name.toString()} at offset ${e.offset}`);
  }
}

describe('full backup volume (docs/duplicity-format.md §10.3)', () => {
  test('holds exactly the listed entries, with the listed data', async () => {
    const file = plain('full');
    const entries = await readAll(chunked(file, [4096, 65536, 333]));
    assert.deepEqual(listing(entries), [
      ['snapshot/./', 0, ''],
      ['snapshot/a.txt', 6, ''],
      ['multivol_snapshot/big.bin/1', 65536, ''],
      ['multivol_snapshot/big.bin/2', 65536, ''],
      ['multivol_snapshot/big.bin/3', 18928, ''],
      ['snapshot/dir/', 0, ''],
      ['snapshot/dir/b c.txt', 7, ''],
      ['multivol_snapshot/exact.bin/1', 65536, ''],
      ['multivol_snapshot/exact.bin/2', 0, ''],
      ['snapshot/link', 0, 'a.txt'],
    ]);
    // Contents of the test tree (docs/duplicity-format.md §10.1).
    const big = Buffer.alloc(150000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 8)) % 251;
    const exact = Buffer.alloc(65536);
    for (let i = 0; i < exact.length; i++) exact[i] = i % 256;
    const data = (prefix: string) => Buffer.concat(entries.filter((e) => e.header.name.toString().startsWith(prefix)).map((e) => e.data));
    assert.deepEqual(data('snapshot/a.txt'), Buffer.from('hello\n'));
    assert.ok(data('multivol_snapshot/big.bin/').equals(big));
    assert.ok(data('multivol_snapshot/exact.bin/').equals(exact));
    assert.deepEqual(data('snapshot/dir/b c.txt'), Buffer.from('spaced\n'));
    const a = entries[1]!.header;
    assert.deepEqual(
      [a.typeflag, a.mode, a.uid, a.gid, a.mtime, a.uname.toString(), a.gname.toString()],
      [0x30, 0o644, 0, 0, 1704067200, 'root', 'root'],
    );
    assert.equal(entries[0]!.header.typeflag, 0x35);
    assert.equal(entries[9]!.header.typeflag, 0x32);
  });

  test('has no end marker, and every header re-encodes to the same bytes', async () => {
    const file = plain('full');
    const entries = await readAll(chunked(file, [512]));
    assertHeadersReencode(file, entries);
    const last = entries.at(-1)!;
    assert.equal(last.dataOffset, file.length, 'the stream simply stops after the last entry');
  });

  test('the gpg volume decrypts to the plain one plus volumeFooter(), and reads the same', async () => {
    const file = plain('full');
    const decrypted = decrypt('full');
    assert.ok(decrypted.subarray(0, file.length).equals(file));
    assert.ok(decrypted.subarray(file.length).equals(volumeFooter(file.length)), 'footer');
    assert.deepEqual(listing(await readAll(chunked(decrypted, [8192]))), listing(await readAll(chunked(file))));
  });
});

describe('incremental volume (docs/duplicity-format.md §10.3)', () => {
  test('entries, deltas and the zeroed deleted header', async () => {
    const file = plain('inc');
    const entries = await readAll(chunked(file, [100]));
    assert.deepEqual(listing(entries), [
      ['snapshot/./', 0, ''],
      ['diff/a.txt', 18, ''],
      ['diff/big.bin', 544, ''],
      ['deleted/exact.bin', 0, ''],
      ['snapshot/new.txt', 4, ''],
    ]);
    assert.equal(entries[1]!.data.toString('hex'), '727302360c68656c6c6f20776f726c640a00');
    const d = entries[3]!.header;
    assert.deepEqual([d.typeflag, d.mode, d.uid, d.gid, d.mtime, d.uname.length, d.gname.length], [0x30, 0, 0, 0, 0, 0, 0]);
    assertHeadersReencode(file, entries);
  });

  test('the gpg volume (4608 bytes of tar) decrypts to the plain one plus volumeFooter()', () => {
    const file = plain('inc');
    const decrypted = decrypt('inc');
    assert.equal(decrypted.length, 10240);
    assert.ok(decrypted.equals(Buffer.concat([file, volumeFooter(file.length)])));
  });
});

describe('signature tars (docs/duplicity-format.md §4, §10.3)', () => {
  test('full signatures: entries, header bytes, and the TarFile.close() end', async () => {
    const file = plain('full-signatures');
    const entries = await readAll(chunked(file, [1000]));
    assert.deepEqual(listing(entries), [
      ['snapshot/', 0, ''],
      ['signature/a.txt', 24, ''],
      ['signature/big.bin', 3528, ''],
      ['snapshot/dir/', 0, ''],
      ['signature/dir/b c.txt', 24, ''],
      ['signature/exact.bin', 1548, ''],
      ['snapshot/link', 0, 'a.txt'],
    ]);
    assert.equal(entries[1]!.data.toString('hex'), '7273013600000200000000080ad002d863481c78ae04c201');
    assertHeadersReencode(file, entries);
    const end = entries.at(-1)!.dataOffset;
    assert.equal(file.length, 20480);
    assert.ok(file.subarray(end).equals(endOfArchive(end)));
  });

  test('new signatures: entries, header bytes, and the end', async () => {
    const file = plain('new-signatures');
    const entries = await readAll(chunked(file));
    assert.deepEqual(
      entries.map((e) => e.header.name.toString()),
      ['snapshot/', 'signature/a.txt', 'signature/big.bin', 'deleted/exact.bin', 'signature/new.txt'],
    );
    assertHeadersReencode(file, entries);
    const last = entries.at(-1)!;
    const end = last.dataOffset + Math.ceil(last.data.length / 512) * 512;
    assert.equal(file.length, 10240);
    assert.ok(file.subarray(end).equals(endOfArchive(end)));
  });
});
