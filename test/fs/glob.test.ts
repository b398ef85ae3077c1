import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { globSelector } from '../../src/fs/glob.ts';
import { PYTHON } from './helpers.ts';

/** duplicity.globmatch.select_fn_from_glob on (glob, include, ignorecase, name, isdir) rows. */
const ORACLE = `
import json, sys
from duplicity.globmatch import select_fn_from_glob
class P:
    def __init__(self, name, d): self.uc_name, self.d = name, d
    def isdir(self): return self.d
out = []
for glob, inc, ic, names in json.load(sys.stdin):
    try:
        f = select_fn_from_glob(glob, inc, ic)
        out.append([f(P(n, d)) for n, d in names])
    except Exception as e:
        out.append('error')
json.dump(out, sys.stdout)`;

describe('globSelector = duplicity select_fn_from_glob', () => {
  it('on random globs and names (property)', () => {
    const ch = fc.constantFrom(
      'a',
      'b',
      'B',
      '/',
      '*',
      '**',
      '?',
      '[',
      ']',
      '!',
      '^',
      '-',
      '\\',
      '.',
      '\n',
      'é',
      '\udcff',
      'ß',
      '{',
      '(',
      '$',
    );
    const glob = fc.array(ch, { minLength: 1, maxLength: 9 }).map((a) => `/r/${a.join('')}`);
    const nameCh = fc.constantFrom('a', 'b', 'B', '/', '-', '.', '\n', 'é', '\udcff', '*', '[', ']', '\\', '{', '$');
    const name = fc.array(nameCh, { maxLength: 7 }).map((a) => `/r/${a.join('')}`.replace(/\/\/+/g, '/').replace(/\/+$/, ''));
    const row = fc.tuple(
      glob,
      fc.constantFrom(0, 1),
      fc.boolean(),
      fc.array(fc.tuple(name, fc.boolean()), { minLength: 1, maxLength: 12 }),
    );
    // Names that instantiate the glob make matches common enough to test both outcomes.
    const clean = (n: string): string => n.replace(/\/\/+/g, '/').replace(/\/+$/, '');
    const instances = (g: string): [string, boolean][] => [
      [clean(g.replace(/\*\*/g, 'a/b').replace(/\*/g, 'é').replace(/\?/g, 'B')), false],
      [clean(g.replace(/\*\*/g, '').replace(/\*/g, '').replace(/\?/g, '\udcff')), true],
      [clean(g.replace(/\[!?\^?\]?([^\]]*)\]/g, (_, x: string) => x.slice(0, 1) || 'a').replace(/[*?]/g, 'b')), true],
      [clean(g.split('/').slice(0, 3).join('/')), true],
    ];
    const rows = fc
      .sample(row, { numRuns: 400, seed: 11 })
      .map(([g, inc, ic, names]) => [g, inc, ic, [...names, ...instances(g)]] as [string, number, boolean, [string, boolean][]]);
    rows.push([
      '/r/[]a]',
      1,
      false,
      [
        ['/r/]', false],
        ['/r/a', false],
        ['/r/b', false],
      ],
    ]);
    rows.push([
      '/r/a/',
      1,
      false,
      [
        ['/r/a', true],
        ['/r/a', false],
        ['/r/a/x', false],
        ['/r/a\n', false],
      ],
    ]);
    rows.push([
      '/r/A*',
      0,
      true,
      [
        ['/r/abc', false],
        ['/r/ABC', false],
        ['/r', true],
      ],
    ]);
    rows.push([
      '/r/**/x',
      1,
      false,
      [
        ['/r', true],
        ['/r/q', true],
        ['/r/q/w', true],
        ['/r/q/x', false],
      ],
    ]);
    // Surrogates cannot go through JSON to python intact, so send escaped names as \\uDCxx.
    const input = JSON.stringify(rows);
    const expected = JSON.parse(execFileSync(PYTHON, ['-c', ORACLE], { input }).toString()) as ((number | null)[] | 'error')[];
    rows.forEach(([g, inc, ic, names], i) => {
      let ours: (number | null)[] | 'error';
      try {
        const f = globSelector(g, inc as 0 | 1, ic);
        ours = names.map(([n, d]) => f({ name: n, isDir: d }));
      } catch {
        ours = 'error';
      }
      assert.deepEqual(ours, expected[i], `glob ${JSON.stringify(g)} include=${inc} ignorecase=${ic} names=${JSON.stringify(names)}`);
    });
  });
});
