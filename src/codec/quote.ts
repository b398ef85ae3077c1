/**
 * Manifest quoting (`duplicity/manifest.py:Quote()` / `Unquote()`, docs/duplicity-format.md §2.3). Manifest fields are
 * split on white space, so a path containing white space, a backslash or a quote is written as
 * `"…"` with each such byte as `\xHH`; every other byte, UTF-8 or not, is written raw.
 */
import { parsePythonSafeInt } from './python-int.ts';

const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const LOWER_X = 0x78;
const HEX_DIGITS = '0123456789abcdef';

/** Python's bytes-regex `\s` plus `\`, `"` and `'`. */
function needsEscape(b: number): boolean {
  return b === 0x20 || (b >= 0x09 && b <= 0x0d) || b === BACKSLASH || b === DQUOTE || b === 0x27;
}

/** The quoted form; the input itself when nothing needs quoting. */
export function quote(raw: Buffer): Buffer {
  let special = 0;
  for (let i = 0; i < raw.length; i++) if (needsEscape(raw[i]!)) special++;
  if (special === 0) return raw;
  const out = Buffer.allocUnsafe(raw.length + 3 * special + 2);
  let o = 0;
  out[o++] = DQUOTE;
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]!;
    if (needsEscape(b)) {
      out[o++] = BACKSLASH;
      out[o++] = LOWER_X;
      out[o++] = HEX_DIGITS.charCodeAt(b >> 4);
      out[o++] = HEX_DIGITS.charCodeAt(b & 15);
    } else {
      out[o++] = b;
    }
  }
  out[o++] = DQUOTE;
  return out;
}

/**
 * The original bytes of a field written by `quote`; the input itself when it does not start with
 * `"`. Rejects what duplicity's Unquote rejects (it crashes on those): an empty field, a missing
 * closing quote, a backslash not followed by `x`, and an escape Python's `int(…, 16)` refuses.
 * Like Python, the two escape characters go through `int()`, so `\x 9` or `\x+f` are accepted.
 */
export function unquote(field: Buffer): Buffer {
  if (field.length === 0) throw new Error('empty quoted field in manifest');
  if (field[0] !== DQUOTE) return field;
  const last = field.length - 1;
  if (field[last] !== DQUOTE) throw new Error(`unterminated quoted field in manifest: ${describe(field)}`);
  const out = Buffer.alloc(Math.max(0, last - 1));
  let o = 0;
  let i = 1;
  while (i < last) {
    const b = field[i]!;
    if (b !== BACKSLASH) {
      out[o++] = b;
      i++;
      continue;
    }
    if (field[i + 1] !== LOWER_X) throw new Error(`bad escape in quoted manifest field: ${describe(field)}`);
    const value = escapeValue(field.subarray(i + 2, i + 4));
    if (value === null) throw new Error(`bad \\x escape in quoted manifest field: ${describe(field)}`);
    out[o++] = value;
    i += 4;
  }
  return out.subarray(0, o);
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** `int(two_bytes.decode(), 16)`, which must then fit in one byte (`to_bytes(1)`). */
function escapeValue(hex: Buffer): number | null {
  let text: string;
  if (hex.length === 2 && hex[0]! < 0x80 && hex[1]! < 0x80) {
    text = String.fromCharCode(hex[0]!, hex[1]!);
  } else {
    try {
      text = STRICT_UTF8.decode(hex);
    } catch {
      return null;
    }
  }
  const v = parsePythonSafeInt(text, 16);
  return v !== null && v >= 0 && v <= 0xff ? v : null;
}

/** A bounded, single-line rendering for error messages. */
function describe(field: Buffer): string {
  const shown = field.length > 80 ? `${field.subarray(0, 80).toString('latin1')}…` : field.toString('latin1');
  return JSON.stringify(shown);
}
