#!/usr/bin/env python3
"""Checks that every relative link and #anchor in README.md, CONTRIBUTING.md, docs/ and
src/**/README.md points at a file and a heading that exist (the test command runs it).

With --split OLD_REV it also checks the split of README.md into docs/ chapters (issue 19) against
the README of OLD_REV (4d012fa, the commit before the split): that no line was lost (every line,
bar the table of contents, is in the new README or a chapter; headings compared without their
level, links without their target) and that each old section landed in one piece. That check was
run when the split was made; sections edited since then no longer match it.

    python3 scripts/check-doc-links.py [--split OLD_REV]
"""
import collections, glob, os, re, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OLD_REV = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == '--split' else None


def norm(line):
    line = re.sub(r'^#+ ', '# ', line)
    return re.sub(r'\]\([^)]*\)', ']()', line)


def slug(title):
    s = re.sub(r'[^\w\- ]', '', title.strip().lower())
    return s.replace(' ', '-')


def anchors(path):
    out, fence, seen = set(), False, collections.Counter()
    for line in open(path, encoding='utf8'):
        if line.startswith('```'):
            fence = not fence
        m = re.match(r'^#+ (.*)$', line.rstrip('\n'))
        if m and not fence:
            s = slug(m.group(1))
            out.add(s if not seen[s] else f'{s}-{seen[s]}')
            seen[s] += 1
    return out


def no_loss():
    old = subprocess.run(['git', '-C', ROOT, 'show', f'{OLD_REV}:README.md'], capture_output=True, text=True, check=True).stdout.split('\n')
    start = old.index('## Contents')
    end = next(i for i in range(start + 1, len(old)) if old[i].startswith('## '))
    old = old[:start] + old[end:]
    files = ['README.md'] + sorted(glob.glob('docs/*.md', root_dir=ROOT))
    new = collections.Counter()
    for f in files:
        new.update(norm(l) for l in open(os.path.join(ROOT, f), encoding='utf8').read().split('\n'))
    need = collections.Counter(norm(l) for l in old)
    # Words that had to change with the move ("below" is no longer below), with what replaced them.
    edited = [
        (norm(l), norm(r)) for l, r in [
            ('(see [below](#the-cost-of-what-is-stored-collection-status---costs))', '(see [The cost of what is stored]())'),
            ('(see [below](#verify))', '(see [verify]())'),
            ('See [docs/encryption.md](docs/encryption.md#signing).', 'See [Signing]().'),
            ('[docs/encryption.md](docs/encryption.md).', 'the sections below.'),
            ('see `SRC URL` above', 'see `SRC URL` in the [Commands](../README.md#commands) table'),
        ]
    ]
    missing = []
    for l, n in need.items():
        if n <= new[l]:
            continue
        hit = next(((a, b) for a, b in edited if a in l and new[l.replace(a, b)] >= n), None)
        if hit:
            print(f'  changed on purpose: {hit[0]!r} -> {hit[1]!r}')
            continue
        missing.append((l, n - new[l]))
    print(f'no-loss: {len(old)} lines of the old README (table of contents left out), checked against {", ".join(files)}')
    for l, n in missing:
        print(f'  MISSING x{n}: {l}')
    print('no-loss: ' + ('every line is there' if not missing else f'{len(missing)} distinct lines missing'))
    # and in order: the text under each heading of the old README (up to the next heading) is one
    # run of lines in one file (the heading itself may change place: docs/encryption.md keeps its own)
    texts = {f: '\n'.join(norm(l) for l in open(os.path.join(ROOT, f), encoding='utf8').read().split('\n')) for f in files}
    starts = [i for i, l in enumerate(old) if re.match(r'^#+ ', l) and not in_fence(old, i)] + [len(old)]
    broken = 0
    for a, b in zip(starts, starts[1:]):
        block = old[a + 1:b]
        while block and block[-1] == '':
            block = block[:-1]
        text = '\n'.join(norm(l) for l in block)
        for x, y in edited:
            if x in text and not any(text in t for t in texts.values()):
                text = text.replace(x, y, 1)
        where = [f for f, t in texts.items() if text in t]
        if not where:
            print(f'  NOT IN ONE PIECE: the text under {old[a]}'); broken += 1
    print(f'no-loss: {len(starts) - 1} sections, ' + ('each in one piece, in order' if not broken else f'{broken} not in one piece'))
    return not missing and not broken


def in_fence(lines, i):
    return sum(1 for l in lines[:i] if l.startswith('```')) % 2 == 1


def links():
    files = ['README.md', 'CONTRIBUTING.md'] + glob.glob('docs/*.md', root_dir=ROOT) + glob.glob('src/**/README.md', root_dir=ROOT, recursive=True)
    bad = 0
    for f in sorted(files):
        path = os.path.join(ROOT, f)
        if not os.path.exists(path):
            continue
        text = re.sub(r'```.*?```', '', open(path, encoding='utf8').read(), flags=re.S)
        for target in re.findall(r'\]\(([^)\s]+)\)', text):
            if re.match(r'[a-z]+:', target):
                continue
            file, _, anchor = target.partition('#')
            dest = os.path.normpath(os.path.join(os.path.dirname(path), file)) if file else path
            if not os.path.exists(dest):
                print(f'  {f}: ({target}): no such file'); bad += 1
            elif anchor and (os.path.isdir(dest) or anchor not in anchors(dest)):
                print(f'  {f}: ({target}): no such heading'); bad += 1
    print(f'links: {len(files)} files, ' + ('every link resolves' if not bad else f'{bad} broken'))
    return not bad


ok = no_loss() if OLD_REV else True
ok = links() and ok
sys.exit(0 if ok else 1)
