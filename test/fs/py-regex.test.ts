import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { compilePythonRegex } from '../../src/fs/py-regex.ts';
import { PYTHON } from './helpers.ts';

const PATTERNS = [
  'a',
  '^/r/a',
  'a$',
  '\\.txt$',
  'x{',
  'x{2}',
  'x{,2}y',
  'x{1,}',
  'x{}',
  'x{,}z',
  '}',
  '[]a]',
  '[^]a]',
  '[a-c]+$',
  '[\\]]',
  '(?P<n>a)(?P=n)',
  '(?i)ABC',
  '(?s)a.b',
  'a.b',
  '\\d',
  '\\D',
  '\\w+é',
  '\\W',
  '\\s',
  '\\S',
  '(?a)\\d',
  '\\Aab',
  'ab\\Z',
  '(?#comment)b',
  'a|b',
  '(?:ab)+',
  'a(?=b)',
  'a(?!b)',
  '(?<=a)b',
  '(?<!a)b',
  '\\x41',
  '\\u00e9',
  '\\U0001d11e',
  '\\0',
  '\\101',
  '\\-',
  '\\/',
  '\\ ',
  '/',
  '\\$',
  '[\\d_]',
  '[\\s]',
  'é?',
  '\\bword\\b',
  '(a)\\1',
  '[.]',
  '\\n',
  '(?m)^b$',
  'a\\Z',
];
const SUBJECTS = [
  '',
  'a',
  'aa',
  'ab',
  'abc',
  'ABC',
  'a\nb',
  'a\n',
  'x{',
  'xx',
  'xxy',
  'y',
  'x{}',
  'xz',
  '}',
  ']',
  'b',
  'c\n',
  '/r/a',
  '/r/a.txt',
  '/r/a.txt\n',
  '3',
  '\u0663',
  'é',
  'wé',
  ' ',
  '\x1c',
  '\x85',
  '\u00a0',
  '\ufeff',
  'A',
  'é',
  '𝄞',
  '\0',
  '-',
  '/',
  '$',
  '_',
  'word',
  'a word.',
  'x\nb',
  '.',
  '\n',
  'a\nb\n',
  'b\n',
];

describe('compilePythonRegex', () => {
  it("gives python re.search's answers on a matrix of patterns and names", () => {
    const script = `
import json, re, sys
out = []
for p in json.load(sys.stdin)['p']:
    try:
        r = re.compile(p)
        out.append([bool(r.search(s)) for s in ${JSON.stringify(SUBJECTS)}])
    except re.error:
        out.append('error')
json.dump(out, sys.stdout)`;
    const expected = JSON.parse(execFileSync(PYTHON, ['-c', script], { input: JSON.stringify({ p: PATTERNS }) }).toString()) as (
      | boolean[]
      | 'error'
    )[];
    PATTERNS.forEach((p, i) => {
      const exp = expected[i]!;
      if (exp === 'error') {
        assert.throws(() => compilePythonRegex(p), /cannot use regular expression/, p);
        return;
      }
      const re = compilePythonRegex(p);
      assert.deepEqual(
        SUBJECTS.map((s) => re.test(s)),
        exp,
        `pattern ${JSON.stringify(p)}`,
      );
    });
  });

  it('rejects what python rejects and what it cannot translate, with a one-line message', () => {
    for (const p of ['(', '[a', 'a**', '\\q', '(?x)a b', '(?>a)', '[\\W]']) {
      assert.throws(
        () => compilePythonRegex(p),
        (e: Error) => /cannot use regular expression/.test(e.message) && !e.message.includes('\n'),
        p,
      );
    }
  });
});
