import fc from 'fast-check';
import type { TarHeader } from '../../../src/codec/tar/header.ts';

/** Bytes without NUL (tar text fields cannot hold one): ASCII, UTF-8 text, or arbitrary bytes. */
export function textBytes(maxLength: number): fc.Arbitrary<Buffer> {
  const ascii = fc.string({ unit: fc.integer({ min: 1, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength });
  const unicode = fc.string({ unit: 'grapheme', maxLength: Math.ceil(maxLength / 3) });
  const raw = fc.uint8Array({ min: 1, max: 255, maxLength });
  const piece = fc.oneof(
    { weight: 3, arbitrary: ascii.map((s) => Buffer.from(s, 'latin1')) },
    { weight: 2, arbitrary: unicode.map((s) => Buffer.from(s.replace(/\0/g, ''), 'utf8')) },
    { weight: 2, arbitrary: raw.map((a) => Buffer.from(a)) },
  );
  return fc
    .array(piece, { maxLength: 3 })
    .map((parts) => Buffer.concat(parts))
    .map((b) => (b.length > maxLength ? b.subarray(0, maxLength) : b));
}

/** Names around the 100-byte ustar limit, and long ones. */
export const nameBytes: fc.Arbitrary<Buffer> = fc.oneof(
  textBytes(40),
  textBytes(300),
  fc.integer({ min: 95, max: 105 }).map((n) => Buffer.from('n'.repeat(n), 'latin1')),
  fc.constantFrom('snapshot/./', 'snapshot/', 'deleted/x', 'multivol_snapshot/big.bin/1').map((s) => Buffer.from(s)),
);

const ownerName: fc.Arbitrary<Buffer> = fc.oneof(
  fc.constantFrom('', 'root', 'nobody', 'x'.repeat(32), 'y'.repeat(33)).map((s) => Buffer.from(s)),
  textBytes(40),
);

/** Numbers on both sides of the octal field limits (8^7 for ids, 8^11 for size and mtime). */
const id = fc.oneof(
  fc.integer({ min: 0, max: 70000 }),
  fc.integer({ min: 8 ** 7 - 2, max: 8 ** 7 + 1 }),
  fc.integer({ min: 0, max: 2 ** 32 - 1 }),
);
const size = fc.oneof(
  fc.integer({ min: 0, max: 200000 }),
  fc.integer({ min: 8 ** 11 - 2, max: 8 ** 11 + 1 }),
  fc.integer({ min: 0, max: 2 ** 50 }),
);
export const mtime: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 0, max: 2 ** 31 }),
  fc.integer({ min: -(2 ** 40), max: -1 }),
  fc.integer({ min: 8 ** 11 - 2, max: 8 ** 11 + 1 }),
  fc.integer({ min: 0, max: 2 ** 45 }),
);

/** The types duplicity writes, plus a hard link and the old '\0' and '7' regular types. */
export const typeflag: fc.Arbitrary<number> = fc.constantFrom(0x30, 0x35, 0x32, 0x36, 0x33, 0x34, 0x31, 0x37, 0x00);

const paxKey = fc.oneof(
  fc.constantFrom('PERMAFROST.size', 'comment', 'SCHILY.xattr.user.test', 'path', 'mtime', 'uname'),
  fc.stringMatching(/^[A-Za-z][A-Za-z0-9._]{0,15}$/),
);
export const extraPax: fc.Arbitrary<[string, Buffer][]> = fc.array(fc.tuple(paxKey, textBytes(30)), { minLength: 1, maxLength: 3 });

export interface HeaderArbOptions {
  /** Restrict to what round-trips through our own reader unchanged (no '\0' regular type etc.). */
  typeflags?: fc.Arbitrary<number>;
  sizes?: fc.Arbitrary<number>;
  withExtraPax?: boolean;
}

export function tarHeader(opts: HeaderArbOptions = {}): fc.Arbitrary<TarHeader> {
  return fc
    .record({
      name: nameBytes,
      mode: fc.oneof(fc.integer({ min: 0, max: 0o7777 }), fc.integer({ min: 0, max: 0o177777 })),
      uid: id,
      gid: id,
      size: opts.sizes ?? size,
      mtime,
      typeflag: opts.typeflags ?? typeflag,
      linkname: fc.oneof(fc.constant(Buffer.alloc(0)), textBytes(200)),
      uname: ownerName,
      gname: ownerName,
      devmajor: fc.integer({ min: 0, max: 8 ** 7 - 1 }),
      devminor: fc.integer({ min: 0, max: 8 ** 7 - 1 }),
      extraPax: opts.withExtraPax === false ? fc.constant(undefined) : fc.option(extraPax, { nil: undefined, freq: 4 }),
    })
    .map(({ extraPax: extra, ...rest }) => (extra === undefined ? rest : { ...rest, extraPax: extra }));
}
