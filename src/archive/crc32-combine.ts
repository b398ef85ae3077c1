/**
 * CRC-32 (the gzip polynomial) of two byte strings joined, from the CRC of each and the second's
 * length, as zlib's crc32_combine: batches of one gzip member compressed on different threads
 * each bring their own CRC, and the writer joins them in order without seeing the input.
 */
export function crc32Combine(crc1: number, crc2: number, length2: number): number {
  return (multiplyModP(xPower8n(length2), crc1 >>> 0) ^ crc2) >>> 0;
}

/** The reflected CRC-32 polynomial. */
const POLY = 0xedb88320;

/** a·b modulo the CRC polynomial, both in the reflected bit order (x^0 is the top bit). */
function multiplyModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

/** x^(2^k) modulo the polynomial, k = 0..31. */
const X_POW_2K: Uint32Array = (() => {
  const table = new Uint32Array(32);
  let p = 0x40000000; // x^1
  table[0] = p;
  for (let k = 1; k < 32; k++) table[k] = p = multiplyModP(p, p);
  return table;
})();

/** x^(8·n) modulo the polynomial: appending n zero bytes shifts a CRC by this factor. */
function xPower8n(n: number): number {
  let p = 0x80000000; // x^0
  let k = 3;
  while (n > 0) {
    if (n % 2 === 1) p = multiplyModP(X_POW_2K[k & 31]!, p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}
