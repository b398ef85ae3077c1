import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parsePythonInt } from '../../src/codec/python-int.ts';
import { runPython } from './python-oracle.ts';

// Characters that matter to int(): digits, separators, signs, hex letters, ASCII and Unicode
// white space, Unicode decimal digits (Arabic-Indic, NKo, mathematical bold 0 and 9), and
// look-alikes that are not decimal (superscript two, roman numeral, fullwidth A).
const POOL = [
  '0',
  '1',
  '7',
  '9',
  '_',
  '+',
  '-',
  ' ',
  '\t',
  '\n',
  '\v',
  '\x1c',
  'a',
  'f',
  'F',
  'g',
  'x',
  'X',
  '\u0663',
  '\u07c5',
  '\u{1d7ce}',
  '\u{1d7d7}',
  '\u{1d7d8}',
  '\u00a0',
  '\u2003',
  '\u0085',
  '\u00b2',
  '\u216b',
  '\uff21',
];
const LATIN1_POOL = ['0', '5', '9', '_', '+', '-', ' ', '\t', 'a', 'x', '\u00a0', '\u0085', '\u00e9'];

function strings(pool: string[], n: number, seed: number): string[] {
  const arb = fc.array(fc.constantFrom(...pool), { maxLength: 8 }).map((cs) => cs.join(''));
  return fc.sample(arb, { numRuns: n, seed });
}

test('parsePythonInt agrees with Python int() (str, bases 10 and 16; bytes, base 10)', () => {
  const texts = [...strings(POOL, 3000, 1), '0x1f', '0X_1f', '0x', '1__0', '٣٣', '0'.repeat(4300), '1'.repeat(4301)];
  const bytesTexts = strings(LATIN1_POOL, 1000, 2);
  const py = runPython<{ s10: (string | null)[]; s16: (string | null)[]; b10: (string | null)[] }>(
    `
def conv(f):
    try: return hex(f())
    except ValueError: return None
result = {
  's10': [conv(lambda: int(s)) for s in data['texts']],
  's16': [conv(lambda: int(s, 16)) for s in data['texts']],
  'b10': [conv(lambda: int(s.encode('latin1'))) for s in data['bytes']],
}`,
    { texts, bytes: bytesTexts },
  );
  const hex = (v: bigint | null): string | null => (v === null ? null : v < 0n ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`);
  const show = (s: string): string => JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…(${s.length})` : s);
  texts.forEach((s, i) => {
    assert.equal(hex(parsePythonInt(s, 10)), py.s10[i], `int(${show(s)})`);
    assert.equal(hex(parsePythonInt(s, 16)), py.s16[i], `int(${show(s)}, 16)`);
  });
  bytesTexts.forEach((s, i) => {
    assert.equal(hex(parsePythonInt(s, 10, true)), py.b10[i], `int(${show(s)} as bytes)`);
  });
});

test("parsePythonInt agrees with Python int() in bases 2 and 8 (optparse's 0b and leading-0 integers)", () => {
  const pool = ['0', '1', '2', '7', '8', '_', '+', '-', ' ', 'b', 'B', 'o', 'O', 'x', '\u0661', '\u00a0'];
  const texts = [...strings(pool, 2000, 3), '0b101', '0B_1', '0o17', '0O_7', '017', '0b', '0o', '-0o7'];
  const py = runPython<{ s2: (string | null)[]; s8: (string | null)[] }>(
    `
def conv(f):
    try: return hex(f())
    except ValueError: return None
result = {
  's2': [conv(lambda: int(s, 2)) for s in data['texts']],
  's8': [conv(lambda: int(s, 8)) for s in data['texts']],
}`,
    { texts },
  );
  const hex = (v: bigint | null): string | null => (v === null ? null : v < 0n ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`);
  texts.forEach((s, i) => {
    assert.equal(hex(parsePythonInt(s, 2)), py.s2[i], `int(${JSON.stringify(s)}, 2)`);
    assert.equal(hex(parsePythonInt(s, 8)), py.s8[i], `int(${JSON.stringify(s)}, 8)`);
  });
});
