/**
 * Joining the CRCs of two adjacent byte strings without rereading them (the zlib method: multiply
 * the first CRC by x^(8·len) modulo the polynomial). One implementation for every reflected 32-bit
 * CRC: CRC-32 for gzip members deflated on several threads, CRC-32C for S3's multipart checksums.
 */

/** `combine(crcA, crcB, lengthB)`: the CRC of A‖B, for the reflected polynomial `poly`. */
export function crcCombiner(poly: number): (crcA: number, crcB: number, lengthB: number) => number {
  /** a·b modulo the polynomial, both in the reflected bit order (x^0 is the top bit). */
  const multModP = (a: number, b: number): number => {
    let m = 0x80000000;
    let p = 0;
    for (;;) {
      if (a & m) {
        p ^= b;
        if ((a & (m - 1)) === 0) break;
      }
      m >>>= 1;
      b = b & 1 ? (b >>> 1) ^ poly : b >>> 1;
    }
    return p >>> 0;
  };
  // x^(2^k) modulo the polynomial, k = 0..63, for x^(8·len) by repeated squaring
  const x2n = new Uint32Array(64);
  let p = 0x40000000; // x^1
  x2n[0] = p;
  for (let k = 1; k < 64; k++) x2n[k] = p = multModP(p, p);
  /** x^(8·n): appending n zero bytes shifts a CRC by this factor */
  const xToTheNBytes = (len: number): number => {
    let q = 0x80000000; // x^0
    let k = 3; // 8 bits per byte
    for (let n = len; n > 0; n = Math.floor(n / 2), k++) if (n % 2 === 1) q = multModP(x2n[k & 63]!, q);
    return q;
  };
  return (crcA, crcB, lengthB) => (multModP(xToTheNBytes(lengthB), crcA >>> 0) ^ crcB) >>> 0;
}
