/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum S3 verifies on upload
 * (`x-amz-checksum-crc32c`) and combines across multipart parts into a FULL_OBJECT value.
 *
 * Slicing-by-8 over 32-bit table lookups: eight bytes per step without per-byte allocation.
 * `crc32cCombine` joins the CRCs of two adjacent byte ranges without rereading them (the zlib
 * method: multiply by x^(8·len) modulo the polynomial), so part checksums give the whole file's.
 */

import { crcCombiner } from '../core/crc-combine.ts';

const POLY = 0x82f63b78;

const TABLES: Uint32Array[] = (() => {
  const t = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[0]![n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[0]![n]!;
    for (let k = 1; k < 8; k++) {
      c = t[0]![c & 0xff]! ^ (c >>> 8);
      t[k]![n] = c >>> 0;
    }
  }
  return t;
})();
const [T0, T1, T2, T3, T4, T5, T6, T7] = TABLES as [
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
];

/** Continues `crc` (the value of the bytes so far; 0 for none) over `data`. */
export function crc32c(data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  let i = 0;
  const n = data.length;
  const end8 = n - (n & 7);
  while (i < end8) {
    const lo = (c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24))) >>> 0;
    c =
      T7[lo & 0xff]! ^
      T6[(lo >>> 8) & 0xff]! ^
      T5[(lo >>> 16) & 0xff]! ^
      T4[lo >>> 24]! ^
      T3[data[i + 4]!]! ^
      T2[data[i + 5]!]! ^
      T1[data[i + 6]!]! ^
      T0[data[i + 7]!]!;
    i += 8;
  }
  while (i < n) c = T0[(c ^ data[i++]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** The CRC of A‖B from crc(A), crc(B) and B's length in bytes. */
export const crc32cCombine: (crcA: number, crcB: number, lengthB: number) => number = crcCombiner(POLY);

/** S3's header form: the big-endian 4 bytes, base64. */
export function crc32cBase64(crc: number): string {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(crc >>> 0, 0);
  return b.toString('base64');
}
