import assert from 'node:assert/strict';
import { utimesSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { canonicalSourcePath, parseFilelist, Selection } from '../../src/fs/selection.ts';
import { cat, duplicitySelect, makeTree, ourSelect, showIndex, tempDir, type SelectCase, type SelectOutcome } from './helpers.ts';
import { trickyTree } from './tricky-tree.ts';

function assertSame(ours: SelectOutcome, theirs: SelectOutcome, label: string): void {
  if ('error' in theirs || 'error' in ours) {
    assert.equal(
      'error' in ours,
      'error' in theirs,
      `${label}: ours ${JSON.stringify(ours).slice(0, 300)} vs duplicity ${JSON.stringify(theirs).slice(0, 300)}`,
    );
    return;
  }
  assert.deepEqual(ours.entries.map(showIndex), theirs.entries.map(showIndex), label);
}

describe('selection matches duplicity 0.8.22 on a tricky tree', () => {
  const tmp = tempDir('pf-sel-');
  const root = cat(tmp.buf, '/src');
  const R = root.toString();
  before(() => {
    makeTree(tmp.buf, [{ kind: 'dir', path: cat('src') }]);
    makeTree(root, trickyTree());
    // Two regular files with known old mtimes for --exclude-older-than.
    utimesSync(cat(root, '/a.b'), 1_000_000, 1_000_000);
    utimesSync(cat(root, '/a-c'), 2_000_000.5, 2_000_000.5);
  });
  after(() => tmp.cleanup());

  const filelist = cat(
    '# comment line\r\n',
    '\r\n',
    `+ ${R}/a/b\n`,
    `- ${R}/a\n`,
    `   "${R}/z/f.txt"  \n`,
    `'${R}/Upper'\n`,
    `- **.txt\n`,
    `ignorecase:${R}/STRASSE*\r`,
    `${R}/bad`,
    [0xef, 0xbf, 0xbd],
    `dir\n`,
  );
  const cases: SelectCase[] = [
    { args: [] },
    { args: [['--exclude', `${R}/a`]] },
    { args: [['--exclude', `${R}/a/`]] },
    { args: [['--exclude', `${R}/a-c/`]] },
    {
      args: [
        ['--include', `${R}/a/b`],
        ['--exclude', '**'],
      ],
    },
    {
      args: [
        ['--include', '**/f'],
        ['--exclude', '**'],
      ],
    },
    {
      args: [
        ['--include', `${R}/**/f`],
        ['--exclude', '**'],
      ],
    },
    {
      args: [
        ['--include', `${R}/*/*/f`],
        ['--exclude', '**'],
      ],
    },
    { args: [['--exclude', '**.txt']] },
    { args: [['--exclude', '**/*.txt']] },
    { args: [['--exclude', `${R}/*`]] },
    { args: [['--exclude', '**']] },
    {
      args: [
        ['--include', `${R}/a/b/deep/**`],
        ['--exclude', `${R}/a/**`],
      ],
    },
    {
      args: [
        ['--exclude', `${R}/a/b/deep`],
        ['--include', `${R}/a/**`],
        ['--exclude', '**'],
      ],
    },
    {
      args: [
        ['--include', `ignorecase:${R}/UPPER`],
        ['--exclude', '**'],
      ],
    },
    {
      args: [
        ['--include', `IgnoreCase:${R}/upper/FILE.txt`],
        ['--exclude', '**'],
      ],
    },
    {
      args: [
        ['--include', `ignorecase:${R}/strasse-ss`],
        ['--include', `ignorecase:${R}/strasse-SS`],
        ['--exclude', '**'],
      ],
    },
    {
      args: [
        ['--include', `ignorecase:${R}/kelvin`],
        ['--exclude', '**'],
      ],
    },
    {
      args: [
        ['--include', `${R}/[ab]*`],
        ['--exclude', '**'],
      ],
    },
    {
      args: [
        ['--include', `${R}/[!ab]*`],
        ['--exclude', '**'],
      ],
    },
    {
      args: [
        ['--include', `${R}/[]x]]`],
        ['--exclude', '**'],
      ],
    },
    {
      args: [
        ['--include', `${R}/[a-c]?`],
        ['--exclude', '**'],
      ],
    },
    {
      args: [
        ['--include', `${R}/?`],
        ['--include', `${R}/??`],
        ['--exclude', '**'],
      ],
    },
    {
      args: [
        ['--include', `${R}/q?`],
        ['--exclude', '**'],
      ],
    },
    {
      args: [
        ['--include', `${R}/[br]`],
        ['--exclude', '**'],
      ],
    },
    {
      args: [
        ['--include', `${R}/[*]star`],
        ['--exclude', '**'],
      ],
    },
    {
      args: [
        ['--include', `${R}/[\\]*`],
        ['--exclude', '**'],
      ],
    },
    {
      args: [
        ['--include', `${R}/[z-a]`],
        ['--exclude', '**'],
      ],
    },
    { args: [['--exclude', `${R}/new`]] },
    { args: [['--exclude', `${R}/new?line`]] },
    { args: [['--exclude', `${R}/new*`]] },
    {
      args: [
        ['--include', `${R}/new\n`],
        ['--exclude', '**'],
      ],
    },
    {
      args: [
        ['--include', `${R}/bad?dir/?`],
        ['--exclude', '**'],
      ],
    },
    {
      args: [
        ['--include', `${R}/bad???dir`],
        ['--exclude', '**'],
      ],
    },
    {
      args: [
        ['--include', cat(R, '/bad', [0xff], 'dir/', [0xc3])],
        ['--exclude', '**'],
      ],
    },
    { args: [['--exclude', cat(R, '/bad', [0xff], 'dir')]] },
    {
      args: [
        ['--include', `${R}/e\u0301-nfd`],
        ['--include', `${R}/é-nfc`],
        ['--exclude', '**'],
      ],
    },
    {
      args: [
        ['--include', `${R}/*-nf?`],
        ['--exclude', '**'],
      ],
    },
    {
      args: [
        ['--exclude', `${R}/ lead space`],
        ['--exclude', `${R}/quote'"s`],
        ['--exclude', `${R}/back\\slash`],
      ],
    },
    { args: [['--exclude-if-present', '.nobackup']] },
    {
      args: [
        ['--exclude-if-present', '.nobackup'],
        ['--include', `${R}/cache`],
        ['--exclude', '**'],
      ],
    },
    {
      args: [
        ['--exclude-if-present', 'f'],
        ['--exclude-if-present', 'junk'],
      ],
    },
    { args: [['--exclude-device-files']] },
    { args: [['--exclude-device-files'], ['--include', `${R}/devnull-copy`], ['--exclude', `${R}/z`]] },
    {
      args: [
        ['--include-filelist', 'fl'],
        ['--exclude', '**'],
      ],
      filelists: [filelist],
    },
    { args: [['--exclude-filelist', 'fl']], filelists: [filelist] },
    {
      args: [
        ['--include-filelist', 'fl'],
        ['--exclude', '**'],
      ],
      filelists: [cat(`${R}/a\0- ${R}/z/f.txt\0${R}/z\0`)],
      nullSeparator: true,
    },
    {
      args: [
        ['--exclude-filelist', 'fl'],
        ['--include-filelist', 'fl2'],
        ['--exclude', '**'],
      ],
      filelists: [cat(`${R}/a/b\n`), cat(`${R}/a\n${R}/z/**\n`)],
    },
    { args: [['--exclude-regexp', '\\.txt$']] },
    { args: [['--exclude-regexp', 'new$']] },
    {
      args: [
        ['--include-regexp', '/a'],
        ['--exclude', '**'],
      ],
    },
    {
      args: [
        ['--include-regexp', '(?i)upper/f'],
        ['--exclude', '**'],
      ],
    },
    {
      args: [
        ['--exclude-regexp', '[0-9]'],
        ['--exclude-regexp', '\\s'],
      ],
    },
    { args: [['--exclude-regexp', '(?P<x>a)(?P=x)|b{2,}|e{,1}x']] },
    { args: [['--exclude-older-than', '1500000']] },
    { args: [['--exclude-older-than', '2000001']] },
    {
      args: [
        ['--include', R],
        ['--exclude', '**'],
      ],
    },
    {
      args: [
        ['--include', `${R}/`],
        ['--exclude', '**'],
      ],
    },
    {
      args: [
        ['--include', '/'],
        ['--exclude', '**'],
      ],
    },
    {
      args: [
        ['--exclude', `${R}/a`],
        ['--include', '**'],
      ],
    },
    { args: [['--include', `${R}/a`]] },
    {
      args: [
        ['--include', '/elsewhere/a'],
        ['--exclude', '**'],
      ],
    },
    {
      args: [
        ['--include', `${R}//a`],
        ['--exclude', '**'],
      ],
    },
    {
      args: [
        ['--exclude', `${R}/only-dirs/x/`],
        ['--include', `${R}/only-dirs/**`],
        ['--exclude', '**'],
      ],
    },
    {
      args: [
        ['--include', `${R}/only-dirs/**/y`],
        ['--exclude', '**'],
      ],
    },
    {
      args: [
        ['--include', `${R}/link-to-a/`],
        ['--include', `${R}/dangling`],
        ['--exclude', '**'],
      ],
    },
    {
      args: [
        ['--include', `${R}/fifo`],
        ['--include', `${R}/sock`],
        ['--exclude', '**'],
      ],
    },
    {
      args: [
        ['--include', `${R}/z/.hidden/`],
        ['--exclude', `${R}/z/**`],
      ],
    },
  ];

  it('for every rule combination (walk output = duplicity Select output)', async () => {
    const theirs = duplicitySelect(root, cases);
    for (const [k, c] of cases.entries()) {
      const ours = await ourSelect(root, c);
      assertSame(ours, theirs[k]!, `case ${k}: ${JSON.stringify(c.args.map(([o, a]) => [o, a?.toString()]))}`);
    }
  });

  it('for random rule lists (property)', async () => {
    const fragment = fc.constantFrom(
      'a',
      'b',
      'f',
      'a*',
      '*',
      '**',
      '?',
      '[ab]',
      '[!a]*',
      '*.txt',
      '*.TXT',
      'deep',
      'er',
      'z',
      '.hidden',
      'x',
      'y',
      'only-dirs',
      'upper',
      'Upper',
      'cache',
      'bad?dir',
      'new*',
      'q?',
      '[]x]]',
    );
    const glob = fc
      .record({
        ignorecase: fc.boolean(),
        anchored: fc.boolean(),
        parts: fc.array(fragment, { minLength: 1, maxLength: 4 }),
        slash: fc.boolean(),
      })
      .map(({ ignorecase, anchored, parts, slash }) => {
        const body = (anchored ? `${R}/` : '**/') + parts.join('/') + (slash ? '/' : '');
        return (ignorecase ? 'ignorecase:' : '') + body;
      });
    const rule = fc.oneof(
      { weight: 8, arbitrary: fc.tuple(fc.constantFrom('--include', '--exclude'), glob) },
      { weight: 1, arbitrary: fc.constant(['--exclude-if-present', '.nobackup'] as const) },
      {
        weight: 1,
        arbitrary: fc.tuple(fc.constantFrom('--include-regexp', '--exclude-regexp'), fc.constantFrom('a', 'txt$', '/z/', '\\.', 'e[rx]')),
      },
    );
    const caseArb = fc
      .tuple(fc.array(rule, { minLength: 0, maxLength: 5 }), fc.constantFrom('**', `${R}/**/er`, `${R}/a`))
      .map(([rules, last]): SelectCase => ({ args: [...rules, ['--exclude', last]] }));
    const samples = fc.sample(caseArb, { numRuns: 150, seed: 20240611 });
    const theirs = duplicitySelect(root, samples);
    for (const [k, c] of samples.entries()) {
      const ours = await ourSelect(root, c);
      assertSame(ours, theirs[k]!, `sample ${k}: ${JSON.stringify(c.args)}`);
    }
  });

  it('with a relative source path (globs are written against it as given)', async () => {
    const rel = cat('./src//');
    const prev = process.cwd();
    process.chdir(tmp.path);
    try {
      const relCases: SelectCase[] = [
        {
          args: [
            ['--include', 'src/a'],
            ['--exclude', '**'],
          ],
        },
        { args: [['--exclude', 'src/*.b']] },
        {
          args: [
            ['--include', `${R}/a`],
            ['--exclude', '**'],
          ],
        },
        {
          args: [
            ['--include', '**/f'],
            ['--exclude', 'src/z/**'],
          ],
        },
      ];
      const theirs = duplicitySelect(rel, relCases, tmp.path);
      for (const [k, c] of relCases.entries()) assertSame(await ourSelect(rel, c), theirs[k]!, `relative case ${k}`);
    } finally {
      process.chdir(prev);
    }
  });
});

describe('selection building blocks', () => {
  it('canonicalSourcePath follows Path.get_canonical', () => {
    const cases: [string, string][] = [
      ['/', '/'],
      ['//x//y/', '/x/y'],
      ['./src/', 'src'],
      ['.', '.'],
      ['./', '.'],
      ['a/./b/../c', 'a/b/../c'],
    ];
    for (const [input, expected] of cases) assert.equal(canonicalSourcePath(Buffer.from(input)).toString(), expected, input);
  });

  it('parseFilelist handles prefixes, quotes, comments, CR/LF and rejects invalid UTF-8', () => {
    const lines = parseFilelist(cat('# c\r\n+ /a\r- /b\n "/c" \n\'/d\'\n"\n\n/e\u3000\n'), 0, false);
    assert.deepEqual(lines, [
      { glob: '/a', include: 1 },
      { glob: '/b', include: 0 },
      { glob: '/c', include: 0 },
      { glob: '/d', include: 0 },
      { glob: '/e', include: 0 },
    ]);
    assert.throws(() => parseFilelist(Buffer.from([0x2f, 0xff, 0x0a]), 1, false), /not valid UTF-8/);
  });

  it('decide: no rules includes everything, and needsNames is false', () => {
    const s = Selection.all(Buffer.from('/x'));
    assert.equal(s.needsNames, false);
    assert.equal(s.decide({ name: '/x/y', type: 'reg', dev: 1, mtimeMs: 0, markers: null }), 'include');
  });
});
