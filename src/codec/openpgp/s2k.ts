import { createHash, randomBytes } from 'node:crypto';
import { hashName } from './constants.ts';
import { OpenPgpError } from './errors.ts';

/** A string-to-key specifier (RFC 4880 §3.7): how a passphrase becomes a key. */
export interface S2K {
  /** 0 simple, 1 salted, 3 iterated and salted */
  readonly type: 0 | 1 | 3;
  readonly hash: number;
  /** 8 bytes for types 1 and 3 */
  readonly salt: Buffer | null;
  /** the coded count octet (type 3) */
  readonly countOctet: number;
}

/** Bytes hashed by an iterated S2K with this count octet. */
export function decodeCount(c: number): number {
  return (16 + (c & 15)) << ((c >> 4) + 6);
}

/** The S2K at the start of `b`, and how many bytes it took. */
export function parseS2K(b: Buffer, offset: number): { s2k: S2K; size: number } {
  const type = b[offset];
  const hash = b[offset + 1];
  if (type === undefined || hash === undefined) throw new OpenPgpError('format', 'truncated S2K specifier');
  if (type === 0) return { s2k: { type, hash, salt: null, countOctet: 0 }, size: 2 };
  if (type === 1 || type === 3) {
    const size = type === 1 ? 10 : 11;
    if (b.length < offset + size) throw new OpenPgpError('format', 'truncated S2K specifier');
    const salt = Buffer.from(b.subarray(offset + 2, offset + 10));
    return { s2k: { type, hash, salt, countOctet: type === 3 ? b[offset + 10]! : 0 }, size };
  }
  throw new OpenPgpError('unsupported', `S2K type ${type} is not supported`);
}

export function serializeS2K(s: S2K): Buffer {
  if (s.type === 0) return Buffer.from([0, s.hash]);
  if (s.salt?.length !== 8) throw new RangeError('S2K salt must be 8 bytes');
  return Buffer.concat([Buffer.from([s.type, s.hash]), s.salt, s.type === 3 ? Buffer.from([s.countOctet]) : Buffer.alloc(0)]);
}

/** A fresh iterated-and-salted S2K. gpg 2.2 calibrates its count to about 65M bytes (octet 255). */
export function newIteratedS2K(hash: number, countOctet = 255): S2K {
  return { type: 3, hash, salt: randomBytes(8), countOctet };
}

/** The key a passphrase gives under `s2k` (RFC 4880 §3.7.1), `keyLen` bytes. */
export function deriveKey(s: S2K, passphrase: Buffer, keyLen: number): Buffer {
  const name = hashName(s.hash);
  if (!name) throw new OpenPgpError('unsupported', `S2K hash algorithm ${s.hash} is not supported`);
  const data = s.type === 0 ? passphrase : Buffer.concat([s.salt!, passphrase]);
  const total = s.type === 3 ? Math.max(decodeCount(s.countOctet), data.length) : data.length;
  const repeated = total > data.length && data.length > 0 ? repeat(data, total) : data;
  const out = Buffer.alloc(keyLen);
  let filled = 0;
  for (let preload = 0; filled < keyLen; preload++) {
    const h = createHash(name);
    if (preload > 0) h.update(Buffer.alloc(preload));
    let left = total;
    while (left > 0) {
      const n = Math.min(left, repeated.length);
      h.update(n === repeated.length ? repeated : repeated.subarray(0, n));
      left -= n;
    }
    const digest = h.digest();
    filled += digest.copy(out, filled);
  }
  return out;
}

/** `unit` repeated to about 1 MiB (a whole number of times), or to `total` if less. */
function repeat(unit: Buffer, total: number): Buffer {
  const times = Math.max(1, Math.min(Math.ceil(total / unit.length), Math.floor((1 << 20) / unit.length)));
  const b = Buffer.allocUnsafe(times * unit.length);
  for (let i = 0; i < times; i++) unit.copy(b, i * unit.length);
  return b;
}
