/*
 * MD4 (RFC 1320) as WebAssembly, for md4.ts: 1.4-1.6x the speed of the TypeScript version on
 * rsync blocks (bench/md4-wasm/run.ts), and whole runs of signature records (rollsum + MD4 per
 * block) for signature.ts, so that a file's blocks cost one call instead of two per block.
 * Compiled by scripts/build-md4-wasm.sh (Debian's clang and lld) into md4-wasm-module.ts, which
 * is committed, so installing needs no compiler. Little-endian, as wasm is.
 */
typedef unsigned int u32;
typedef unsigned char u8;

#define F(x, y, z) (((x) & (y)) | (~(x) & (z)))
#define G(x, y, z) (((x) & (y)) | ((x) & (z)) | ((y) & (z)))
#define H(x, y, z) ((x) ^ (y) ^ (z))
#define ROTL(v, s) (((v) << (s)) | ((v) >> (32 - (s))))
#define R1(a, b, c, d, k, s) a = ROTL(a + F(b, c, d) + x[k], s)
#define R2(a, b, c, d, k, s) a = ROTL(a + G(b, c, d) + x[k] + 0x5a827999u, s)
#define R3(a, b, c, d, k, s) a = ROTL(a + H(b, c, d) + x[k] + 0x6ed9eba1u, s)

static void compress(u32 *st, const u32 *x) {
  u32 a = st[0], b = st[1], c = st[2], d = st[3];
  R1(a,b,c,d,0,3); R1(d,a,b,c,1,7); R1(c,d,a,b,2,11); R1(b,c,d,a,3,19);
  R1(a,b,c,d,4,3); R1(d,a,b,c,5,7); R1(c,d,a,b,6,11); R1(b,c,d,a,7,19);
  R1(a,b,c,d,8,3); R1(d,a,b,c,9,7); R1(c,d,a,b,10,11); R1(b,c,d,a,11,19);
  R1(a,b,c,d,12,3); R1(d,a,b,c,13,7); R1(c,d,a,b,14,11); R1(b,c,d,a,15,19);
  R2(a,b,c,d,0,3); R2(d,a,b,c,4,5); R2(c,d,a,b,8,9); R2(b,c,d,a,12,13);
  R2(a,b,c,d,1,3); R2(d,a,b,c,5,5); R2(c,d,a,b,9,9); R2(b,c,d,a,13,13);
  R2(a,b,c,d,2,3); R2(d,a,b,c,6,5); R2(c,d,a,b,10,9); R2(b,c,d,a,14,13);
  R2(a,b,c,d,3,3); R2(d,a,b,c,7,5); R2(c,d,a,b,11,9); R2(b,c,d,a,15,13);
  R3(a,b,c,d,0,3); R3(d,a,b,c,8,9); R3(c,d,a,b,4,11); R3(b,c,d,a,12,15);
  R3(a,b,c,d,2,3); R3(d,a,b,c,10,9); R3(c,d,a,b,6,11); R3(b,c,d,a,14,15);
  R3(a,b,c,d,1,3); R3(d,a,b,c,9,9); R3(c,d,a,b,5,11); R3(b,c,d,a,13,15);
  R3(a,b,c,d,3,3); R3(d,a,b,c,11,9); R3(c,d,a,b,7,11); R3(b,c,d,a,15,15);
  st[0] += a; st[1] += b; st[2] += c; st[3] += d;
}

static void md4_one(const u8 *p, u32 len, u8 *out) {
  u32 st[4] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u};
  u32 tail[32];
  u32 n = len;
  while (n >= 64) {
    u32 x[16];
    __builtin_memcpy(x, p, 64);
    compress(st, x);
    p += 64;
    n -= 64;
  }
  u8 *t = (u8 *)tail;
  for (u32 i = 0; i < 128; i++) t[i] = 0;
  for (u32 i = 0; i < n; i++) t[i] = p[i];
  t[n] = 0x80;
  u32 tl = n < 56 ? 64 : 128;
  unsigned long long bits = (unsigned long long)len * 8;
  for (u32 i = 0; i < 8; i++) t[tl - 8 + i] = (u8)(bits >> (8 * i));
  compress(st, tail);
  if (tl == 128) compress(st, tail + 16);
  __builtin_memcpy(out, st, 16);
}

/* Digests of consecutive `block`-byte blocks of data[0, len) (the last may be shorter), 16 bytes each to out. */
void md4_blocks(const u8 *data, u32 len, u32 block, u8 *out) {
  for (u32 at = 0; at < len; at += block, out += 16) md4_one(data + at, len - at < block ? len - at : block, out);
}

/*
 * librsync's rollsum of one block (rollsum.ts is the reference): byte sums with an offset of 31
 * per byte, both mod 2^16, which u32 arithmetic wrapping mod 2^32 preserves.
 */
static u32 rollsum(const u8 *p, u32 n) {
  u32 s1 = 0, s2 = 0;
  for (u32 i = 0; i < n; i++) {
    s1 += p[i];
    s2 += s1;
  }
  unsigned long long m = n;
  s1 += 31u * n;
  s2 += (u32)(31ull * (m * (m + 1) / 2));
  return ((s2 & 0xffffu) << 16) | (s1 & 0xffffu);
}

/*
 * Signature records of consecutive `block`-byte blocks of data[0, len) (the last may be shorter):
 * per block the rollsum (big-endian) and the first `strong` (at most 16) bytes of its MD4, as a
 * librsync signature lists them (spec §5.1).
 */
void signature_records(const u8 *data, u32 len, u32 block, u32 strong, u8 *out) {
  u8 digest[16];
  for (u32 at = 0; at < len; at += block) {
    u32 n = len - at < block ? len - at : block;
    u32 weak = rollsum(data + at, n);
    out[0] = (u8)(weak >> 24);
    out[1] = (u8)(weak >> 16);
    out[2] = (u8)(weak >> 8);
    out[3] = (u8)weak;
    md4_one(data + at, n, digest);
    for (u32 i = 0; i < strong; i++) out[4 + i] = digest[i];
    out += 4 + strong;
  }
}

/*
 * A fixed scratch area: the caller copies input to input_area() and reads digests or records
 * from output_area(), which holds 20 bytes for every 512 bytes of input (the shortest block the
 * callers batch).
 */
#define INPUT_BYTES (1 << 20)
static u8 input[INPUT_BYTES];
static u8 output[INPUT_BYTES / 512 * 20];
u32 input_bytes(void) { return INPUT_BYTES; }
u8 *input_area(void) { return input; }
u8 *output_area(void) { return output; }
