/**
 * The commands end to end through the CLI on file:// targets: restore (destination checks,
 * --file-to-restore, --time), collection-status, list-current-files, verify, the verb-less form,
 * --full-if-older-than, the local cache, file prefixes, the users' guide options, --log-file,
 * --progress and change detection. Expected values come from the source trees (snapshots taken
 * with cp -a when each backup ran) and from the target's listing, never from permafrost's output.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertSameTree } from '../support/compare.ts';
import { DUP08_PATH } from '../support/duplicity.ts';
import { runCommand } from '../support/cli.ts';
import { assertFails, assertOk, describeRun, HOUR, newTarget, T0 } from '../support/pf-target.ts';
import { PERMAFROST_BIN } from '../support/permafrost.ts';
import { buildTree, hostileTreeSpec, mutateTree, NEGATIVE_MTIME, setMtime, TreeMutator, type TreeSpec } from '../support/tree.ts';
import { mtimeSeconds, walkTree } from '../support/walk.ts';

const SPEC: TreeSpec = {
  entries: [
    { kind: 'file', path: 'a.txt', content: 'alpha\n' },
    { kind: 'file', path: 'big.bin', size: 1_300_000, seed: 9 },
    { kind: 'file', path: 'dir/b.txt', content: 'bravo bravo\n' },
    { kind: 'file', path: 'dir/sub/c.txt', content: 'charlie\n' },
    { kind: 'dir', path: 'empty' },
    { kind: 'symlink', path: 'link', target: 'a.txt' },
  ],
};

/** duplicity's time string for epoch seconds, derived from Date rather than from our codec. */
function timeString(t: number): string {
  return new Date(t * 1000)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

function snapshot(src: string, dest: string): string {
  execFileSync('cp', ['-a', '--', src, dest]);
  return dest;
}

/** The paths of a tree as list-current-files names them ('.' for the root). */
function pathsOf(root: string): string[] {
  return walkTree(root).map((e) => (e.rel.length === 0 ? '.' : e.rel.toString('utf8')));
}

describe('a chain of three backups', () => {
  const pf = newTarget({ after }, 'chain');
  const src = join(pf.work, 'src');
  const points: { time: number; snapshot: string; output: string }[] = [];

  before(async () => {
    buildTree(src, SPEC);
    // The verb-less form: a full when the target has no chain yet...
    let r = await pf.run('--volsize', '1', '--current-time', String(T0), src, pf.url);
    assertOk(r);
    points.push({ time: T0, snapshot: snapshot(src, join(pf.work, 'snap-0')), output: r.stdout });

    const m1 = new TreeMutator(src, 1, 1_700_000_000);
    m1.rewrite('a.txt', 20);
    m1.addFile('new.txt', 100);
    m1.remove('dir/sub/c.txt');
    m1.settleDirs();
    // ...and an incremental once it has one.
    r = await pf.run('--volsize', '1', '--current-time', String(T0 + HOUR), src, pf.url);
    assertOk(r);
    points.push({ time: T0 + HOUR, snapshot: snapshot(src, join(pf.work, 'snap-1')), output: r.stdout });

    const m2 = new TreeMutator(src, 2, 1_700_001_000);
    m2.rewrite('dir/b.txt', statSync(join(src, 'dir/b.txt')).size);
    m2.editMiddle('big.bin', 3000, false);
    m2.settleDirs();
    r = await pf.run('incremental', '--volsize', '1', '--current-time', String(T0 + 2 * HOUR), src, pf.url);
    assertOk(r);
    points.push({ time: T0 + 2 * HOUR, snapshot: snapshot(src, join(pf.work, 'snap-2')), output: r.stdout });
  });

  it('the verb-less form: a full without a chain, then an incremental; `permafrost URL DEST` restores the latest', async () => {
    assert.match(points[0]!.output, new RegExp(`^Starting full backup at ${timeString(T0)}$`, 'm'));
    assert.match(points[1]!.output, new RegExp(`^Starting incremental backup ${timeString(T0)} to ${timeString(T0 + HOUR)}$`, 'm'));
    assert.deepEqual(
      pf.files().filter((f) => f.startsWith('duplicity-full.') && f.endsWith('.manifest')),
      [`duplicity-full.${timeString(T0)}.manifest`],
    );
    const dest = pf.path('latest');
    assertOk(await pf.run(pf.url, dest));
    assertSameTree(points[2]!.snapshot, dest);
  });

  it('--time picks each point of the chain, and a time between two backups the earlier one', async () => {
    for (const p of points) {
      const dest = pf.path('at');
      assertOk(await pf.run('restore', '--time', String(p.time), pf.url, dest));
      assertSameTree(p.snapshot, dest, {}, `--time ${p.time}`);
    }
    const dest = pf.path('between');
    assertOk(await pf.run('restore', '--time', new Date((T0 + HOUR + 1800) * 1000).toISOString().replace(/\.000Z$/, 'Z'), pf.url, dest));
    assertSameTree(points[1]!.snapshot, dest);
  });

  it('--file-to-restore: a file is written as the destination, a directory as the destination directory', async () => {
    const file = pf.path('file');
    assertOk(await pf.run('restore', '--file-to-restore', 'dir/b.txt', '--time', String(T0), pf.url, file));
    assert.ok(lstatSync(file).isFile());
    assertSameTree(join(points[0]!.snapshot, 'dir/b.txt'), file);
    const file2 = pf.path('file');
    assertOk(await pf.run('restore', '-r', 'dir/b.txt', pf.url, file2));
    assertSameTree(join(points[2]!.snapshot, 'dir/b.txt'), file2);

    const dir = pf.path('dir');
    assertOk(await pf.run('restore', '--file-to-restore', 'dir/', '--time', String(T0), pf.url, dir));
    assertSameTree(join(points[0]!.snapshot, 'dir'), dir);
    const dir2 = pf.path('dir');
    assertOk(await pf.run('restore', '--file-to-restore', 'dir', pf.url, dir2));
    assertSameTree(join(points[2]!.snapshot, 'dir'), dir2);

    // deleted at the latest point, present at the first
    assertFails(await pf.run('restore', '-r', 'dir/sub/c.txt', pf.url, pf.path('gone')), 12, /dir\/sub\/c\.txt is not in the backup/);
    const old = pf.path('old');
    assertOk(await pf.run('restore', '-r', 'dir/sub/c.txt', '--time', String(T0), pf.url, old));
    assert.equal(readFileSync(old, 'utf8'), 'charlie\n');
  });

  it('restore refuses a destination that exists and is not empty (exit 11) unless --force', async () => {
    const dest = pf.path('busy');
    mkdirSync(dest);
    writeFileSync(join(dest, 'keep.txt'), 'mine\n');
    assertFails(await pf.run('restore', pf.url, dest), 11, /restore destination .* exists and is not empty \(use --force/);
    assert.deepEqual(readdirSync(dest), ['keep.txt'], 'the destination must be left alone');
    assertOk(await pf.run('restore', '--force', pf.url, dest));
    assert.equal(readFileSync(join(dest, 'keep.txt'), 'utf8'), 'mine\n');
    rmSync(join(dest, 'keep.txt'));
    setMtime(dest, mtimeSeconds(lstatSync(points[2]!.snapshot, { bigint: true })));
    assertSameTree(points[2]!.snapshot, dest);

    const file = pf.path('busy-file');
    writeFileSync(file, 'something else\n');
    assertFails(await pf.run('restore', '-r', 'a.txt', pf.url, file), 11, /exists and is not empty/);
    assert.equal(readFileSync(file, 'utf8'), 'something else\n');
    assertOk(await pf.run('restore', '-r', 'a.txt', '--force', pf.url, file));
    assertSameTree(join(points[2]!.snapshot, 'a.txt'), file);

    // An empty directory is fine without --force.
    const empty = pf.path('empty');
    mkdirSync(empty);
    assertOk(await pf.run('restore', pf.url, empty));
  });

  it('collection-status: the chain, its sets, their volumes and times (text and --json)', async () => {
    const files = pf.files();
    const setNames = [
      `duplicity-full.${timeString(T0)}.`,
      `duplicity-inc.${timeString(T0)}.to.${timeString(T0 + HOUR)}.`,
      `duplicity-inc.${timeString(T0 + HOUR)}.to.${timeString(T0 + 2 * HOUR)}.`,
    ];
    const volumes = setNames.map((prefix) => files.filter((f) => f.startsWith(prefix) && /\.vol\d+\.difftar\.gz$/.test(f)).length);
    assert.ok(volumes[0]! >= 2, 'the full spans volumes at --volsize 1');

    const text = await pf.run('collection-status', pf.url);
    assertOk(text);
    assert.match(text.stdout, /^Found primary backup chain with matching signature chain:$/m);
    assert.match(text.stdout, /^Found 0 secondary backup chains\.$/m);
    assert.match(text.stdout, /^Number of contained backup sets: 3$/m);
    assert.match(text.stdout, new RegExp(`^Total number of contained volumes: ${volumes[0]! + volumes[1]! + volumes[2]!}$`, 'm'));
    assert.match(text.stdout, /^No orphaned or incomplete backup sets found\.$/m);
    const rows = text.stdout
      .split('\n')
      .filter((l) => /^\s+(Full|Incremental)\s/.test(l))
      .map((l) => l.trim().split(/\s{2,}/));
    const asctime = (t: number) => {
      const d = new Date(t * 1000);
      return `${d.toUTCString().slice(0, 3)} ${d.toUTCString().slice(8, 11)} ${String(d.getUTCDate()).padStart(2, ' ')} ${d.toISOString().slice(11, 19)} ${d.getUTCFullYear()}`;
    };
    assert.deepEqual(rows, [
      ['Full', asctime(T0), String(volumes[0])],
      ['Incremental', asctime(T0 + HOUR), String(volumes[1])],
      ['Incremental', asctime(T0 + 2 * HOUR), String(volumes[2])],
    ]);

    const json = await pf.run('collection-status', '--json', pf.url);
    assertOk(json);
    const st = JSON.parse(json.stdout) as {
      chains: {
        primary: boolean;
        startTime: number;
        endTime: number;
        sets: { type: string; startTime: number; endTime: number; time: string; volumes: number; compressed: boolean }[];
      }[];
      incompleteSets: unknown[];
      orphanedSets: unknown[];
      lastFullTime: number;
    };
    assert.equal(st.chains.length, 1);
    const chain = st.chains[0]!;
    assert.equal(chain.primary, true);
    assert.equal(chain.startTime, T0);
    assert.equal(chain.endTime, T0 + 2 * HOUR);
    assert.deepEqual(
      chain.sets.map((s) => [s.type, s.startTime, s.endTime, s.time, s.volumes, s.compressed]),
      [
        ['full', T0, T0, timeString(T0), volumes[0], true],
        ['inc', T0, T0 + HOUR, timeString(T0 + HOUR), volumes[1], true],
        ['inc', T0 + HOUR, T0 + 2 * HOUR, timeString(T0 + 2 * HOUR), volumes[2], true],
      ],
    );
    assert.equal(st.lastFullTime, T0);
    assert.deepEqual([st.incompleteSets, st.orphanedSets], [[], []]);
  });

  it('list-current-files: the paths at the latest point, and at --time; --json gives types and sizes', async () => {
    for (const [time, p] of [
      [undefined, points[2]!],
      [T0, points[0]!],
      [T0 + HOUR, points[1]!],
    ] as const) {
      const r = await pf.run('list-current-files', ...(time === undefined ? [] : ['--time', String(time)]), pf.url);
      assertOk(r);
      const lines = r.stdout.split('\n').filter((l) => l !== '');
      assert.deepEqual(
        lines.map((l) => l.slice(25)),
        pathsOf(p.snapshot),
        `--time ${time}`,
      );
    }
    const r = await pf.run('list-current-files', '--json', pf.url);
    assertOk(r);
    const entries = (JSON.parse(r.stdout) as { files: { path: string; type: string; size: number; mtime: number }[] }).files;
    const byPath = new Map(entries.map((e) => [e.path, e]));
    for (const w of walkTree(points[2]!.snapshot)) {
      const e = byPath.get(w.rel.length === 0 ? '.' : w.rel.toString('utf8'));
      assert.ok(e, `missing ${w.rel.toString('utf8')}`);
      const kind = w.stat.isFile() ? 'reg' : w.stat.isDirectory() ? 'dir' : w.stat.isSymbolicLink() ? 'sym' : '?';
      assert.equal(e.type, kind);
      if (kind === 'reg') assert.equal(e.size, Number(w.stat.size));
      if (kind !== 'sym') assert.equal(e.mtime, mtimeSeconds(w.stat));
    }
  });

  it('verify --compare-data: exit 0 when the source is equal, exit 1 listing each difference after changes', async () => {
    const copy = snapshot(points[2]!.snapshot, pf.path('verify-src'));
    let r = await pf.run('verify', '--compare-data', pf.url, copy);
    assertOk(r);
    assert.match(r.stdout, /Verify complete: \d+ files compared, 0 differences found\./);

    // Same size and same mtime: only the data comparison can see it.
    const b = join(copy, 'dir/b.txt');
    const st = lstatSync(b, { bigint: true });
    writeFileSync(b, 'BRAVO'.padEnd(Number(st.size), '!'));
    setMtime(b, mtimeSeconds(st));
    rmSync(join(copy, 'new.txt'));
    writeFileSync(join(copy, 'extra.txt'), 'not backed up\n');
    r = await pf.run('verify', '--compare-data', pf.url, copy);
    assert.equal(r.code, 1, describeRun(r));
    assert.match(r.stdout, /^Difference found: content differs: dir\/b\.txt$/m);
    assert.match(r.stdout, /^Difference found: in backup, missing from source: new\.txt$/m);
    assert.match(r.stdout, /^Difference found: new in source, not in backup: extra\.txt$/m);
    assert.match(r.stdout, /Verify complete: \d+ files compared, 3 differences found\./);
  });
});

describe('backup modes', () => {
  it('incremental without a chain: exit 17', async (t) => {
    const pf = newTarget(t, 'inc-no-chain');
    const src = join(pf.work, 'src');
    buildTree(src, SPEC);
    assertFails(await pf.run('incremental', src, pf.url), 17, /no backup chain with signatures .* run a full backup first/);
    assert.deepEqual(pf.files(), []);
  });

  it('--full-if-older-than 1D: an incremental within a day of the full, a new full after it', async (t) => {
    const pf = newTarget(t, 'full-if-older');
    const src = join(pf.work, 'src');
    buildTree(src, SPEC);
    assertOk(await pf.run('--current-time', String(T0), '--full-if-older-than', '1D', src, pf.url));
    let r = await pf.run('--current-time', String(T0 + 23 * HOUR), '--full-if-older-than', '1D', src, pf.url);
    assertOk(r);
    assert.match(r.stdout, /^Starting incremental backup/m);
    r = await pf.run('--current-time', String(T0 + 25 * HOUR), '--full-if-older-than', '1D', src, pf.url);
    assertOk(r);
    assert.match(r.stdout, /^Starting full backup/m);
    const fulls = pf.files().filter((f) => /^duplicity-full\..*\.manifest$/.test(f));
    assert.deepEqual(fulls, [`duplicity-full.${timeString(T0)}.manifest`, `duplicity-full.${timeString(T0 + 25 * HOUR)}.manifest`]);
    // the new full starts a new chain, which the next incremental extends
    r = await pf.run('--current-time', String(T0 + 26 * HOUR), '--full-if-older-than', '1D', src, pf.url);
    assert.match(r.stdout, new RegExp(`^Starting incremental backup ${timeString(T0 + 25 * HOUR)} to`, 'm'));
    const st = JSON.parse((await pf.run('collection-status', '--json', pf.url)).stdout) as {
      chains: { primary: boolean; sets: unknown[] }[];
    };
    assert.deepEqual(
      st.chains.map((c) => [c.primary, c.sets.length]),
      [
        [false, 2],
        [true, 2],
      ],
    );
  });

  it('change detection: a same-size rewrite, and a new size under the old mtime (which duplicity misses)', async (t) => {
    const pf = newTarget(t, 'change-detection');
    const src = join(pf.work, 'src');
    buildTree(src, {
      entries: [
        { kind: 'file', path: 'same-size.txt', content: 'aaaa\n' },
        { kind: 'file', path: 'same-mtime.txt', content: 'short\n' },
        { kind: 'file', path: 'untouched.txt', content: 'u\n' },
      ],
    });
    assertOk(await pf.run('full', '--current-time', String(T0), src, pf.url));
    writeFileSync(join(src, 'same-size.txt'), 'bbbb\n');
    setMtime(join(src, 'same-size.txt'), 1_700_000_000);
    const keep = mtimeSeconds(lstatSync(join(src, 'same-mtime.txt'), { bigint: true }));
    writeFileSync(join(src, 'same-mtime.txt'), 'a good deal longer now\n');
    setMtime(join(src, 'same-mtime.txt'), keep);
    const r = await pf.run('incremental', '-v', 'info', '--current-time', String(T0 + HOUR), src, pf.url);
    assertOk(r);
    assert.match(r.stdout, /^M same-size\.txt$/m);
    assert.match(r.stdout, /^M same-mtime\.txt$/m);
    assert.doesNotMatch(r.stdout, /untouched/);
    assert.match(r.stdout, /^ChangedFiles 2$/m);
    const dest = pf.path('restore');
    assertOk(await pf.run('restore', pf.url, dest));
    assertSameTree(src, dest);
  });

  it("mtimes before 1970 come back exactly from permafrost's own backups (full and incremental)", async (t) => {
    const pf = newTarget(t, 'pre-1970');
    const src = join(pf.work, 'src');
    buildTree(src, hostileTreeSpec(77, { smallFiles: 20, largeSize: 200_000 }));
    const before1970 = walkTree(src).filter((e) => mtimeSeconds(e.stat) < 0 && !e.stat.isSymbolicLink());
    assert.ok(before1970.length > 0 && before1970.every((e) => mtimeSeconds(e.stat) === NEGATIVE_MTIME));
    assertOk(await pf.run('full', '--current-time', String(T0), src, pf.url));
    const snap0 = snapshot(src, pf.path('snap'));
    mutateTree(src, 77, 1, 1_700_000_000);
    writeFileSync(join(src, 'added-old.txt'), 'new and old\n');
    setMtime(join(src, 'added-old.txt'), NEGATIVE_MTIME - 1);
    assertOk(await pf.run('incremental', '--current-time', String(T0 + HOUR), src, pf.url));
    for (const [time, expected] of [
      [T0, snap0],
      [T0 + HOUR, src],
    ] as const) {
      const dest = pf.path('restore');
      assertOk(await pf.run('restore', '--time', String(time), pf.url, dest));
      assertSameTree(expected, dest, {}, `--time ${time}`);
    }
  });
});

describe('the local cache (archive dir)', () => {
  it('deleting it: the next incremental rebuilds what it needs from the target, and works', async (t) => {
    const pf = newTarget(t, 'cache-deleted');
    const src = join(pf.work, 'src');
    buildTree(src, SPEC);
    assertOk(await pf.run('full', '--current-time', String(T0), src, pf.url));
    new TreeMutator(src, 3, 1_700_000_000).rewrite('a.txt', 50);
    assertOk(await pf.run('incremental', '--current-time', String(T0 + HOUR), src, pf.url));
    const snap1 = snapshot(src, pf.path('snap'));
    rmSync(pf.archiveDir, { recursive: true });

    new TreeMutator(src, 4, 1_700_001_000).rewrite('dir/b.txt', 70);
    const r = await pf.run('incremental', '--current-time', String(T0 + 2 * HOUR), src, pf.url);
    assertOk(r);
    assert.match(r.stdout, new RegExp(`^Starting incremental backup ${timeString(T0 + HOUR)} to ${timeString(T0 + 2 * HOUR)}$`, 'm'));
    assert.match(r.stdout, /^ChangedFiles 1$/m, 'only the changed file: the old signatures were found');
    const cached = readdirSync(pf.cache);
    for (const sig of pf.files().filter((f) => f.includes('signatures'))) {
      assert.ok(cached.includes(sig), `${sig} should be cached again (cache: ${cached.join(' ')})`);
    }
    for (const [time, expected] of [
      [T0 + HOUR, snap1],
      [T0 + 2 * HOUR, src],
    ] as const) {
      const dest = pf.path('restore');
      assertOk(await pf.run('restore', '--time', String(time), pf.url, dest));
      assertSameTree(expected, dest);
    }
  });

  it('a cached manifest and signatures whose remote files are gone are dropped, and not used', async (t) => {
    const pf = newTarget(t, 'cache-stale');
    const src = join(pf.work, 'src');
    buildTree(src, SPEC);
    assertOk(await pf.run('full', '--current-time', String(T0), src, pf.url));
    const snap0 = snapshot(src, pf.path('snap'));
    new TreeMutator(src, 5, 1_700_000_000).rewrite('a.txt', 50);
    assertOk(await pf.run('incremental', '--current-time', String(T0 + HOUR), src, pf.url));
    // The incremental disappears from the target (deleted by another machine, say).
    const inc = `duplicity-inc.${timeString(T0)}.to.${timeString(T0 + HOUR)}.`;
    const incSig = `duplicity-new-signatures.${timeString(T0)}.to.${timeString(T0 + HOUR)}.`;
    const gone = pf.files().filter((f) => f.startsWith(inc) || f.startsWith(incSig));
    assert.ok(gone.length >= 3);
    for (const f of gone) rmSync(join(pf.remote, f));
    assert.ok(
      readdirSync(pf.cache).some((f) => f.startsWith(inc)),
      'the cache holds the manifest before',
    );

    const r = await pf.run('list-current-files', '-v', 'info', pf.url);
    assertOk(r);
    assert.deepEqual(
      readdirSync(pf.cache).filter((f) => f.startsWith(inc) || f.startsWith(incSig)),
      [],
      'stale cache files must be deleted',
    );
    assert.match(r.stdout, new RegExp(`Deleting local ${inc.replace(/\./g, '\\.')}manifest`));
    assert.deepEqual(
      r.stdout
        .split('\n')
        .filter((l) => /^\w{3} \w{3} /.test(l))
        .map((l) => l.slice(25)),
      pathsOf(snap0),
    );

    // and the next incremental extends the full, not the vanished set
    const r2 = await pf.run('incremental', '--current-time', String(T0 + 2 * HOUR), src, pf.url);
    assertOk(r2);
    assert.match(r2.stdout, new RegExp(`^Starting incremental backup ${timeString(T0)} to ${timeString(T0 + 2 * HOUR)}$`, 'm'));
    const dest = pf.path('restore');
    assertOk(await pf.run('restore', pf.url, dest));
    assertSameTree(src, dest);
  });
});

describe('options', () => {
  const prefixes = [
    '--file-prefix-archive',
    'archive-host.example-',
    '--file-prefix-manifest',
    'manifest-host.example-',
    '--file-prefix-signature',
    'signature-host.example-',
  ];

  it('--file-prefix-archive/-manifest/-signature: every name carries its prefix; permafrost and duplicity 0.8.22 restore with them', async (t) => {
    const pf = newTarget(t, 'prefixes');
    const src = join(pf.work, 'src');
    buildTree(src, SPEC);
    assertOk(await pf.run('full', ...prefixes, '--volsize', '1', '--current-time', String(T0), src, pf.url));
    new TreeMutator(src, 6, 1_700_000_000).rewrite('a.txt', 33);
    assertOk(await pf.run('incremental', ...prefixes, '--volsize', '1', '--current-time', String(T0 + HOUR), src, pf.url));
    const files = pf.files();
    const want = (f: string) =>
      /\.vol\d+\.difftar\.gz$/.test(f)
        ? 'archive-host.example-duplicity-'
        : f.endsWith('.manifest')
          ? 'manifest-host.example-duplicity-'
          : 'signature-host.example-duplicity-';
    for (const f of files) assert.ok(f.startsWith(want(f)), `${f} should start with ${want(f)}`);
    assert.equal(files.filter((f) => f.startsWith('signature-')).length, 2);
    assert.equal(files.filter((f) => f.startsWith('manifest-')).length, 2);

    const mine = pf.path('restore');
    assertOk(await pf.run('restore', ...prefixes, pf.url, mine));
    assertSameTree(src, mine);
    // Without the prefixes there is nothing to restore.
    assertFails(await pf.run('restore', pf.url, pf.path('none')), 12, /no backup chain found/);

    const dest = pf.path('dup08');
    // duplicity's default --time is the clock's now, which is before these backups' times
    const r = await runCommand(
      DUP08_PATH,
      ['restore', '--no-encryption', '--archive-dir', join(pf.work, 'dup-cache'), '--time', String(T0 + HOUR), ...prefixes, pf.url, dest],
      { expectCode: 'any' },
    );
    assert.equal(r.code, 0, describeRun(r));
    assertSameTree(src, dest);
  });

  it("the users' guide OPTIONS and OPTIONS_EXTRA work on a file:// target; the S3 ones are noted at -v info", async (t) => {
    const pf = newTarget(t, 'guide-options');
    const src = join(pf.work, 'src');
    buildTree(src, {
      entries: [
        ...SPEC.entries,
        { kind: 'file', path: 'smallfiles/one.txt', content: '1\n' },
        { kind: 'file', path: 'smallfiles/two.txt', content: '2\n' },
      ],
    });
    const log = join(pf.work, 'log-backup.log');
    const options = (logFile: string) => [
      ...[
        '--full-if-older-than',
        '4W',
        '--s3-use-deep-archive',
        '--no-compression',
        '--no-encryption',
        '--progress',
        '--archive-dir',
        pf.archiveDir,
      ],
      ...['--s3-use-multiprocessing', '--volsize', '1024', '--verbosity', 'i', '--log-file', logFile],
      ...[
        '--asynchronous-upload',
        '--s3-european-buckets',
        '--s3-multipart-chunk-size',
        '10',
        '--s3-use-new-style',
        '--metadata-sync-mode',
        'partial',
      ],
      ...prefixes,
    ];
    const s3 = [
      '--s3-use-deep-archive',
      '--s3-use-multiprocessing',
      '--s3-european-buckets',
      '--s3-multipart-chunk-size',
      '--s3-use-new-style',
    ];
    let r = await pf.raw(...options(log), '--current-time', String(T0), src, pf.url);
    assertOk(r);
    const notes = r.stdout.split('\n').filter((l) => l.includes('--s3-'));
    for (const o of s3)
      assert.ok(
        notes.some((l) => l.includes(o)),
        `${o} should be noted at -v info:\n${r.stdout.slice(0, 2000)}`,
      );
    assert.ok(
      pf.files().every((f) => !f.endsWith('.gz')),
      '--no-compression',
    );
    assert.ok(readFileSync(log, 'utf8').includes('--s3-use-deep-archive'), 'the note reaches the log file too');

    new TreeMutator(src, 7, 1_700_000_000).rewrite('smallfiles/one.txt', 10);
    r = await pf.raw(...options(join(pf.work, 'log-inc.log')), '--current-time', String(T0 + HOUR), src, pf.url);
    assertOk(r);
    assert.match(r.stdout, /^Starting incremental backup/m);
    for (const verb of [['collection-status'], ['list-current-files']])
      assertOk(await pf.raw(...verb, ...options(join(pf.work, `log-${verb[0]}.log`)), pf.url));
    const dest = pf.path('recovered');
    assertOk(await pf.raw('restore', '--file-to-restore', 'smallfiles/', ...options(join(pf.work, 'log-restore.log')), pf.url, dest));
    assertSameTree(join(src, 'smallfiles'), dest);

    // at the default verbosity the note is not shown
    const quiet = options(join(pf.work, 'log-quiet.log'));
    quiet.splice(quiet.indexOf('--verbosity'), 2);
    r = await pf.raw('collection-status', ...quiet, pf.url);
    assertOk(r);
    assert.doesNotMatch(r.stdout, /--s3-/);
  });

  it('--log-file gets machine-readable records: LEVEL CODE, then ". "-prefixed lines, then a blank line', async (t) => {
    const pf = newTarget(t, 'log-file');
    const src = join(pf.work, 'src');
    buildTree(src, SPEC);
    const log = join(pf.work, 'backup.log');
    assertOk(await pf.run('full', '-v', 'info', '--log-file', log, '--current-time', String(T0), src, pf.url));
    assertOk(await pf.run('collection-status', '--log-file', log, pf.url));
    const text = readFileSync(log, 'utf8');
    const records: { level: string; code: number; lines: string[] }[] = [];
    const re = /(ERROR|WARNING|NOTICE|INFO|DEBUG) (\d+)(?: [^\n]*)?\n((?:\. [^\n]*\n)*)\n/y;
    let m: RegExpExecArray | null;
    let end = 0;
    while ((m = re.exec(text)) !== null) {
      records.push({
        level: m[1]!,
        code: Number(m[2]),
        lines: m[3]!
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => l.slice(2)),
      });
      end = re.lastIndex;
    }
    assert.equal(end, text.length, `the whole log must be records; the first that is not:\n${text.slice(end, end + 500)}`);
    assert.ok(records.some((r) => r.level === 'NOTICE' && r.lines[0] === `Starting full backup at ${timeString(T0)}`));
    assert.ok(records.some((r) => r.level === 'INFO' && r.lines[0] === 'A dir/b.txt'));
    assert.ok(records.some((r) => r.level === 'NOTICE' && r.lines.includes('Errors 0')));
    const status = records.find((r) => r.code === 3);
    assert.ok(status, 'collection-status is logged with code 3, as duplicity does');
    assert.ok(status.lines.includes('Found primary backup chain with matching signature chain:'));
  });

  it('--progress prints plain progress lines when not on a terminal', async (t) => {
    const pf = newTarget(t, 'progress');
    const src = join(pf.work, 'src');
    buildTree(src, SPEC);
    const files = walkTree(src).length;
    let r = await pf.run('full', '--progress', '--current-time', String(T0), src, pf.url);
    assertOk(r);
    assert.doesNotMatch(r.stdout + r.stderr, /\u001b\[/, 'no terminal control sequences');
    assert.match(r.stdout, new RegExp(`^Progress \\(full backup\\) 100%: ${files}/${files} files`, 'm'));
    r = await pf.run('restore', '--progress', pf.url, pf.path('restore'));
    assertOk(r);
    assert.match(r.stdout, new RegExp(`^Progress \\(restore\\) 100%: ${files}/${files} files`, 'm'));
  });
});

describe('output to a closed pipe', () => {
  it('list-current-files | head ends quietly, and a backup piped to head still completes', async (t) => {
    const pf = newTarget(t, 'epipe');
    const src = join(pf.work, 'src');
    buildTree(src, { entries: Array.from({ length: 1500 }, (_, i) => ({ kind: 'file' as const, path: `f${i}`, content: `${i}\n` })) });
    const cmd = (args: string) =>
      `"${process.execPath}" "${PERMAFROST_BIN}" ${args} --no-encryption --archive-dir "${pf.archiveDir}" 2>&1 | head -c 10 >/dev/null; echo "exit \${PIPESTATUS[0]}"`;
    let r = await runCommand('bash', ['-c', cmd(`full -v info --current-time ${T0} "${src}" ${pf.url}`)], { expectCode: 'any' });
    assert.match(r.stdout, /^exit 0$/m, describeRun(r));
    assert.ok(
      pf.files().some((f) => f.endsWith('.manifest')),
      'the backup completed',
    );
    r = await runCommand('bash', ['-c', cmd(`list-current-files ${pf.url}`)], { expectCode: 'any' });
    assert.match(r.stdout, /^exit 0$/m, describeRun(r));
    assert.doesNotMatch(r.stdout + r.stderr, /EPIPE|at /);
  });
});
