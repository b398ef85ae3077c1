/*
 * MD4 (RFC 1320) as WebAssembly, for md4.ts: 1.4-1.6x the speed of the TypeScript version on
 * rsync blocks (bench/md4-wasm/run.ts), and whole runs of signature records (rollsum + MD4 per
 * block) for signature.ts, so that a file's blocks cost one call instead of two per block, with
 * wasm SIMD: four MD4s at once and a vector rollsum (signatures of 2 KiB blocks: 1.14 GB/s with
 * scalar code, 1.39 GB/s now). Compiled by scripts/build-md4-wasm.sh (Debian's clang and lld)
 * into md4-wasm-module.ts, which is committed, so installing needs no compiler. Little-endian,
 * as wasm is.
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
 * Four MD4s at once, one per 32-bit lane of wasm SIMD (the multi-buffer technique): the blocks
 * of a signature have one length, so their rounds line up, and one pass costs about what a
 * single MD4 does. signature_records uses it for groups of four full blocks.
 */
#include <wasm_simd128.h>
typedef v128_t V;
#define VF(x, y, z) wasm_v128_or(wasm_v128_and(x, y), wasm_v128_andnot(z, x))
#define VG(x, y, z) wasm_v128_or(wasm_v128_or(wasm_v128_and(x, y), wasm_v128_and(x, z)), wasm_v128_and(y, z))
#define VH(x, y, z) wasm_v128_xor(wasm_v128_xor(x, y), z)
#define VROTL(v, s) wasm_v128_or(wasm_i32x4_shl(v, s), wasm_u32x4_shr(v, 32 - (s)))
#define VADD(a, b) wasm_i32x4_add(a, b)
#define VR1(a, b, c, d, k, s) a = VROTL(VADD(VADD(a, VF(b, c, d)), x[k]), s)
#define VR2(a, b, c, d, k, s) a = VROTL(VADD(VADD(VADD(a, VG(b, c, d)), x[k]), k2), s)
#define VR3(a, b, c, d, k, s) a = VROTL(VADD(VADD(VADD(a, VH(b, c, d)), x[k]), k3), s)

static void compress4(V *st, const V *x) {
  const V k2 = wasm_i32x4_splat(0x5a827999);
  const V k3 = wasm_i32x4_splat(0x6ed9eba1);
  V a = st[0], b = st[1], c = st[2], d = st[3];
  VR1(a,b,c,d,0,3); VR1(d,a,b,c,1,7); VR1(c,d,a,b,2,11); VR1(b,c,d,a,3,19);
  VR1(a,b,c,d,4,3); VR1(d,a,b,c,5,7); VR1(c,d,a,b,6,11); VR1(b,c,d,a,7,19);
  VR1(a,b,c,d,8,3); VR1(d,a,b,c,9,7); VR1(c,d,a,b,10,11); VR1(b,c,d,a,11,19);
  VR1(a,b,c,d,12,3); VR1(d,a,b,c,13,7); VR1(c,d,a,b,14,11); VR1(b,c,d,a,15,19);
  VR2(a,b,c,d,0,3); VR2(d,a,b,c,4,5); VR2(c,d,a,b,8,9); VR2(b,c,d,a,12,13);
  VR2(a,b,c,d,1,3); VR2(d,a,b,c,5,5); VR2(c,d,a,b,9,9); VR2(b,c,d,a,13,13);
  VR2(a,b,c,d,2,3); VR2(d,a,b,c,6,5); VR2(c,d,a,b,10,9); VR2(b,c,d,a,14,13);
  VR2(a,b,c,d,3,3); VR2(d,a,b,c,7,5); VR2(c,d,a,b,11,9); VR2(b,c,d,a,15,13);
  VR3(a,b,c,d,0,3); VR3(d,a,b,c,8,9); VR3(c,d,a,b,4,11); VR3(b,c,d,a,12,15);
  VR3(a,b,c,d,2,3); VR3(d,a,b,c,10,9); VR3(c,d,a,b,6,11); VR3(b,c,d,a,14,15);
  VR3(a,b,c,d,1,3); VR3(d,a,b,c,9,9); VR3(c,d,a,b,5,11); VR3(b,c,d,a,13,15);
  VR3(a,b,c,d,3,3); VR3(d,a,b,c,11,9); VR3(c,d,a,b,7,11); VR3(b,c,d,a,15,15);
  st[0] = VADD(st[0], a); st[1] = VADD(st[1], b); st[2] = VADD(st[2], c); st[3] = VADD(st[3], d);
}

/* Word k of each lane's 64 bytes, one vector per word: 16-byte loads and 4x4 transposes. */
static void gather(V *x, const u8 *p0, const u8 *p1, const u8 *p2, const u8 *p3) {
  for (u32 q = 0; q < 4; q++) {
    V a = wasm_v128_load(p0 + 16 * q), b = wasm_v128_load(p1 + 16 * q);
    V c = wasm_v128_load(p2 + 16 * q), d = wasm_v128_load(p3 + 16 * q);
    V ab_lo = wasm_i32x4_shuffle(a, b, 0, 4, 1, 5), ab_hi = wasm_i32x4_shuffle(a, b, 2, 6, 3, 7);
    V cd_lo = wasm_i32x4_shuffle(c, d, 0, 4, 1, 5), cd_hi = wasm_i32x4_shuffle(c, d, 2, 6, 3, 7);
    x[4 * q + 0] = wasm_i64x2_shuffle(ab_lo, cd_lo, 0, 2);
    x[4 * q + 1] = wasm_i64x2_shuffle(ab_lo, cd_lo, 1, 3);
    x[4 * q + 2] = wasm_i64x2_shuffle(ab_hi, cd_hi, 0, 2);
    x[4 * q + 3] = wasm_i64x2_shuffle(ab_hi, cd_hi, 1, 3);
  }
}

/* MD4 of the `len`-byte blocks at p[0..3] (one length for all four), 16 bytes each to out[0..3]. */
static void md4_four(const u8 *const *p, u32 len, u8 *const *out) {
  V st[4] = {wasm_i32x4_splat(0x67452301), wasm_i32x4_splat((int)0xefcdab89u), wasm_i32x4_splat((int)0x98badcfeu), wasm_i32x4_splat(0x10325476)};
  V x[16];
  u32 at = 0;
  for (; at + 64 <= len; at += 64) {
    gather(x, p[0] + at, p[1] + at, p[2] + at, p[3] + at);
    compress4(st, x);
  }
  /* the padded tail: the same shape in every lane, since the lengths are equal */
  u8 tail[4][128];
  u32 n = len - at;
  u32 tl = n < 56 ? 64 : 128;
  unsigned long long bits = (unsigned long long)len * 8;
  for (u32 l = 0; l < 4; l++) {
    for (u32 i = 0; i < 128; i++) tail[l][i] = 0;
    for (u32 i = 0; i < n; i++) tail[l][i] = p[l][at + i];
    tail[l][n] = 0x80;
    for (u32 i = 0; i < 8; i++) tail[l][tl - 8 + i] = (u8)(bits >> (8 * i));
  }
  gather(x, tail[0], tail[1], tail[2], tail[3]);
  compress4(st, x);
  if (tl == 128) {
    gather(x, tail[0] + 64, tail[1] + 64, tail[2] + 64, tail[3] + 64);
    compress4(st, x);
  }
  for (u32 l = 0; l < 4; l++) {
    u32 w[4] = {0, 0, 0, 0};
    switch (l) {
      case 0: w[0] = wasm_i32x4_extract_lane(st[0], 0); w[1] = wasm_i32x4_extract_lane(st[1], 0); w[2] = wasm_i32x4_extract_lane(st[2], 0); w[3] = wasm_i32x4_extract_lane(st[3], 0); break;
      case 1: w[0] = wasm_i32x4_extract_lane(st[0], 1); w[1] = wasm_i32x4_extract_lane(st[1], 1); w[2] = wasm_i32x4_extract_lane(st[2], 1); w[3] = wasm_i32x4_extract_lane(st[3], 1); break;
      case 2: w[0] = wasm_i32x4_extract_lane(st[0], 2); w[1] = wasm_i32x4_extract_lane(st[1], 2); w[2] = wasm_i32x4_extract_lane(st[2], 2); w[3] = wasm_i32x4_extract_lane(st[3], 2); break;
      default: w[0] = wasm_i32x4_extract_lane(st[0], 3); w[1] = wasm_i32x4_extract_lane(st[1], 3); w[2] = wasm_i32x4_extract_lane(st[2], 3); w[3] = wasm_i32x4_extract_lane(st[3], 3); break;
    }
    __builtin_memcpy(out[l], w, 16);
  }
}

/*
 * librsync's rollsum of one block (rollsum.ts is the reference): byte sums with an offset of 31
 * per byte, both mod 2^16, which u32 arithmetic wrapping mod 2^32 preserves.
 */
static u32 rollsum(const u8 *p, u32 n) {
  u32 s1 = 0, s2 = 0;
  u32 i = 0;
  if (n >= 16) {
    /*
     * 16 bytes per step: s1 gains their sum; s2 gains 16 times the s1 before them plus their
     * sum weighted 16, 15, ..., 1. Lane sums wrap mod 2^32, which keeps them right mod 2^16.
     */
    const V w_lo = wasm_i16x8_make(16, 15, 14, 13, 12, 11, 10, 9);
    const V w_hi = wasm_i16x8_make(8, 7, 6, 5, 4, 3, 2, 1);
    V v1 = wasm_i32x4_splat(0), before = wasm_i32x4_splat(0), weighted = wasm_i32x4_splat(0);
    for (; i + 16 <= n; i += 16) {
      V bytes = wasm_v128_load(p + i);
      V lo = wasm_u16x8_extend_low_u8x16(bytes), hi = wasm_u16x8_extend_high_u8x16(bytes);
      before = wasm_i32x4_add(before, v1);
      v1 = wasm_i32x4_add(v1, wasm_i32x4_add(wasm_u32x4_extadd_pairwise_u16x8(lo), wasm_u32x4_extadd_pairwise_u16x8(hi)));
      weighted = wasm_i32x4_add(weighted, wasm_i32x4_add(wasm_i32x4_dot_i16x8(lo, w_lo), wasm_i32x4_dot_i16x8(hi, w_hi)));
    }
    u32 t1 = 0, tb = 0, tw = 0;
    t1 += wasm_i32x4_extract_lane(v1, 0) + wasm_i32x4_extract_lane(v1, 1) + wasm_i32x4_extract_lane(v1, 2) + wasm_i32x4_extract_lane(v1, 3);
    tb += wasm_i32x4_extract_lane(before, 0) + wasm_i32x4_extract_lane(before, 1) + wasm_i32x4_extract_lane(before, 2) + wasm_i32x4_extract_lane(before, 3);
    tw += wasm_i32x4_extract_lane(weighted, 0) + wasm_i32x4_extract_lane(weighted, 1) + wasm_i32x4_extract_lane(weighted, 2) + wasm_i32x4_extract_lane(weighted, 3);
    s1 = t1;
    s2 = 16u * tb + tw;
  }
  for (; i < n; i++) {
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
 * librsync signature lists them (docs/duplicity-format.md §5.1).
 */
static void put_weak(u8 *out, u32 weak) {
  out[0] = (u8)(weak >> 24);
  out[1] = (u8)(weak >> 16);
  out[2] = (u8)(weak >> 8);
  out[3] = (u8)weak;
}

void signature_records(const u8 *data, u32 len, u32 block, u32 strong, u8 *out) {
  u8 digest[16];
  u32 record = 4 + strong;
  u32 at = 0;
  /* groups of four full blocks through the four-lane MD4 */
  for (; at + 4 * block <= len; at += 4 * block) {
    u8 d[4][16];
    const u8 *p[4] = {data + at, data + at + block, data + at + 2 * block, data + at + 3 * block};
    u8 *o[4] = {d[0], d[1], d[2], d[3]};
    md4_four(p, block, o);
    for (u32 l = 0; l < 4; l++) {
      put_weak(out, rollsum(p[l], block));
      for (u32 i = 0; i < strong; i++) out[4 + i] = d[l][i];
      out += record;
    }
  }
  for (; at < len; at += block) {
    u32 n = len - at < block ? len - at : block;
    put_weak(out, rollsum(data + at, n));
    md4_one(data + at, n, digest);
    for (u32 i = 0; i < strong; i++) out[4 + i] = digest[i];
    out += record;
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
