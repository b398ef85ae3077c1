import { isUtf8 } from 'node:buffer';

/**
 * Python's `os.fsdecode` on Linux (UTF-8 with `surrogateescape`): valid UTF-8 sequences decode
 * normally and every other byte b becomes the lone surrogate U+DC00+b. Duplicity matches globs
 * and regular expressions against names decoded this way, so `?` matches one code point, i.e.
 * one valid multi-byte character or one invalid byte.
 */
export function decodeFsName(bytes: Uint8Array): string {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (isAscii(buf)) return buf.toString('latin1');
  // Node's validator, like Python's decoder, rejects overlongs, surrogates and values > U+10FFFF.
  if (isUtf8(buf)) return buf.toString('utf8');
  return decodeSlow(buf);
}

/** The inverse of decodeFsName: lone surrogates U+DC80..U+DCFF go back to single bytes. */
export function encodeFsName(name: string): Buffer {
  if (!/[\uD800-\uDFFF]/.test(name)) return Buffer.from(name, 'utf8');
  const parts: number[] = [];
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0xdc80 && c <= 0xdcff) {
      parts.push(c - 0xdc00);
      continue;
    }
    const cp = name.codePointAt(i)!;
    if (cp > 0xffff) i++;
    else if (c >= 0xd800 && c <= 0xdfff) throw new Error(`file name contains an unpaired surrogate U+${c.toString(16)}`);
    for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) parts.push(b);
  }
  return Buffer.from(parts);
}

function isAscii(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i]! >= 0x80) return false;
  return true;
}

function decodeSlow(buf: Buffer): string {
  let out = '';
  let i = 0;
  while (i < buf.length) {
    const len = validSequenceLength(buf, i);
    if (len === 0) {
      out += String.fromCharCode(0xdc00 + buf[i]!);
      i += 1;
    } else {
      out += buf.toString('utf8', i, i + len);
      i += len;
    }
  }
  return out;
}

/** Length of the well-formed UTF-8 sequence starting at i (Unicode table 3-7), or 0. */
function validSequenceLength(b: Buffer, i: number): number {
  const c0 = b[i]!;
  if (c0 < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => {
    const c = b[i + k];
    return c !== undefined && c >= lo && c <= hi;
  };
  if (c0 >= 0xc2 && c0 <= 0xdf) return cont(1) ? 2 : 0;
  if (c0 === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c0 >= 0xe1 && c0 <= 0xec) || c0 === 0xee || c0 === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c0 === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c0 === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c0 >= 0xf1 && c0 <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c0 === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}
