/**
 * Python's `int(text, base)`, which duplicity applies to fields of hostile remote data (time
 * fields in file names, `\xHH` escapes in manifests, block numbers). It is far more lenient than
 * a digit regex: surrounding whitespace, a sign, single underscores between digits, and any
 * Unicode decimal digit (e.g. Arabic-Indic) are accepted. Matching it exactly keeps "what counts
 * as a valid file name / manifest" identical to duplicity's.
 */

/** CPython 3.11 refuses to convert longer decimal strings (`sys.int_info.default_max_str_digits`). */
const MAX_DECIMAL_DIGITS = 4300;

const SPACE = '[ \\t\\n\\v\\f\\r]*';

/** Digits of each base, and the letter of the prefix Python allows in front of them (`0x1f`, `0o17`, `0b101`). */
const BASES = { 2: ['01', 'bB'], 8: ['0-7', 'oO'], 10: ['0-9', ''], 16: ['0-9a-fA-F', 'xX'] } as const;

export type PythonIntBase = keyof typeof BASES;

const SHAPES = new Map<PythonIntBase, RegExp>(
  ([2, 8, 10, 16] as const).map((base) => {
    const [digits, prefix] = BASES[base];
    const d = `[${digits}]`;
    const lead = prefix === '' ? '' : `(?:0[${prefix}]_?)?`;
    return [base, new RegExp(`^${SPACE}([+-]?)${lead}(${d}(?:_?${d})*)${SPACE}$`)];
  }),
);
const BIGINT_PREFIX: Record<PythonIntBase, string> = { 2: '0b', 8: '0o', 10: '', 16: '0x' };
const UNICODE_DIGIT = /^\p{Nd}$/u;

/**
 * The value Python's `int(text, base)` gives, or null where Python raises ValueError.
 * `asciiOnly` models `int(bytes)`, which does no Unicode digit or space translation.
 */
export function parsePythonInt(text: string, base: PythonIntBase, asciiOnly = false): bigint | null {
  const ascii = asciiOnly ? (/^[\x00-\x7f]*$/.test(text) ? text : null) : toAsciiLikeCPython(text);
  if (ascii === null) return null;
  const m = SHAPES.get(base)!.exec(ascii);
  if (m === null) return null;
  const digits = m[2]!.replaceAll('_', '');
  if (base === 10 && digits.length > MAX_DECIMAL_DIGITS) return null;
  const magnitude = BigInt(`${BIGINT_PREFIX[base]}${digits}`);
  return m[1] === '-' ? -magnitude : magnitude;
}

/** `parsePythonInt` narrowed to a safe JS integer; null when Python would fail or the value does not fit. */
export function parsePythonSafeInt(text: string, base: PythonIntBase, asciiOnly = false): number | null {
  const v = parsePythonInt(text, base, asciiOnly);
  if (v === null || v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) return null;
  return Number(v);
}

/**
 * CPython's `_PyUnicode_TransformDecimalAndSpaceToASCII`: ASCII is kept, other white space becomes
 * ' ', other decimal digits become their ASCII digit; anything else cannot be part of a number.
 */
function toAsciiLikeCPython(text: string): string | null {
  if (/^[\x00-\x7f]*$/.test(text)) return text;
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) out += ch;
    else if (isPythonUnicodeSpace(cp)) out += ' ';
    else {
      const d = unicodeDecimalValue(cp);
      if (d < 0) return null;
      out += String.fromCharCode(0x30 + d);
    }
  }
  return out;
}

/** `str.isspace()` above U+007F (Python 3.11). */
function isPythonUnicodeSpace(cp: number): boolean {
  return (
    cp === 0x85 ||
    cp === 0xa0 ||
    cp === 0x1680 ||
    (cp >= 0x2000 && cp <= 0x200a) ||
    cp === 0x2028 ||
    cp === 0x2029 ||
    cp === 0x202f ||
    cp === 0x205f ||
    cp === 0x3000
  );
}

/**
 * Unicode encodes every decimal digit set as ten consecutive code points 0..9, and adjacent sets
 * (the mathematical digits) start on a zero, so the value is the distance from the start of the
 * run of digits, modulo 10. Runs are at most 50 long.
 */
function unicodeDecimalValue(cp: number): number {
  if (!UNICODE_DIGIT.test(String.fromCodePoint(cp))) return -1;
  let start = cp;
  while (start > 0 && UNICODE_DIGIT.test(String.fromCodePoint(start - 1))) start--;
  return (cp - start) % 10;
}
