/**
 * Sparse files end to end (issue 13), through the CLI on real files: a 2 GiB file with about
 * 1 MiB of data and a trailing hole is backed up (gzip and --no-compression) and restored with
 * its holes (st_blocks), its content (cmp) and its mode and mtime; a file whose zero runs were
 * allocated at the source comes back fully allocated; duplicity 0.8.22 restores permafrost's
 * backup of the sparse file; --force over an existing file, --file-to-restore of the file alone
 * and a restore through an incremental delta all keep the holes.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, ftruncateSync, mkdirSync, openSync, statSync, utimesSync, writeFileSync, writeSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { duplicities, requireDuplicity } from '../support/duplicity.ts';
import { assertOk, describeRun, HOUR, newTarget, T0, type PfTarget } from '../support/pf-target.ts';

const cleanups: (() => unknown)[] = [];
const hooks = {
  after: (fn: () => unknown) => {
    cleanups.push(fn);
  },
};
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const SPARSE_SIZE = 2 * GiB;
/** A restored sparse file may allocate this much at most (its data is about 1 MiB). */
const SMALL_ALLOCATION = 16 * MiB;
const MTIME = T0 - 86_400;

/** Writes `pieces` of random data at their offsets into a file of `size` bytes that is otherwise a hole. */
function makeSparse(path: string, size: number, pieces: readonly [offset: number, length: number][]): void {
  const fd = openSync(path, 'wx', 0o600);
  try {
    ftruncateSync(fd, size);
    for (const [offset, length] of pieces) writeSync(fd, randomBytes(length), 0, length, offset);
  } finally {
    closeSync(fd);
  }
}

const allocated = (path: string) => statSync(path).blocks * 512;

/** Streaming comparison by cmp: throws with its message when the files differ. */
function assertSameContent(a: string, b: string): void {
  try {
    execFileSync('cmp', ['--', a, b], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    assert.fail(
      `${b} differs from ${a}: ${String((e as { stdout?: Buffer }).stdout ?? '')}${String((e as { stderr?: Buffer }).stderr ?? '')}`,
    );
  }
}

function assertRestoredSparse(source: string, restored: string): void {
  const st = statSync(restored);
  assert.equal(st.size, SPARSE_SIZE);
  assert.ok(st.blocks * 512 < SMALL_ALLOCATION, `${restored}: ${st.blocks * 512} bytes allocated for ${SPARSE_SIZE}`);
  assert.equal(st.mode & 0o7777, 0o640);
  assert.equal(Math.trunc(st.mtimeMs / 1000), MTIME);
  assertSameContent(source, restored);
}

describe('sparse files', () => {
  let gz: PfTarget;
  let src: string;
  let sparse: string;
  let dense: string;
  before(async () => {
    gz = newTarget(hooks, 'sparse');
    src = join(gz.work, 'src');
    mkdirSync(src);
    sparse = join(src, 'disk.img');
    // data at the start, one unaligned piece in the middle, one near the end; then a hole to 2 GiB
    makeSparse(sparse, SPARSE_SIZE, [
      [0, 256 * 1024],
      [700 * MiB + 12_345, 512 * 1024],
      [1500 * MiB, 256 * 1024],
    ]);
    chmodSync(sparse, 0o640);
    utimesSync(sparse, MTIME, MTIME);
    assert.ok(allocated(sparse) < SMALL_ALLOCATION, 'the test file system cannot hold holes');
    // zeros written out, so allocated: a preallocated database or disk image
    dense = join(src, 'prealloc.db');
    const content = Buffer.alloc(8 * MiB);
    randomBytes(65536).copy(content, 4 * MiB);
    writeFileSync(dense, content);
    writeFileSync(join(src, 'small.txt'), 'small\n');
    assertOk(await gz.run('full', '--current-time', String(T0), src, gz.url));
  });

  it('gzip volumes: the sparse file is restored with holes, content, mode and mtime; an allocated file stays allocated', async () => {
    const dest = gz.path('restore');
    assertOk(await gz.run('restore', gz.url, dest));
    assertRestoredSparse(sparse, join(dest, 'disk.img'));
    const pre = join(dest, 'prealloc.db');
    assertSameContent(dense, pre);
    assert.ok(allocated(pre) >= 8 * MiB, `prealloc.db: ${allocated(pre)} bytes allocated, zero runs made holes`);
  });

  it('--no-compression volumes: the same', async () => {
    const plain = newTarget(hooks, 'sparse-plain');
    assertOk(await plain.run('full', '--no-compression', '--current-time', String(T0), src, plain.url));
    const dest = plain.path('restore');
    assertOk(await plain.run('restore', plain.url, dest));
    assertRestoredSparse(sparse, join(dest, 'disk.img'));
  });

  for (const dup of duplicities) {
    it(`${dup.label} restores the sparse file from permafrost's volumes (zero chunks deflated once)`, async () => {
      requireDuplicity();
      const dest = gz.path('dup');
      const r = await dup.restore(gz.url, dest, { archiveDir: gz.path('dup-cache'), name: 'test', expectCode: 'any' });
      assert.equal(r.code, 0, describeRun(r));
      assertSameContent(sparse, join(dest, 'disk.img'));
      assertSameContent(dense, join(dest, 'prealloc.db'));
    });
  }

  it("the signature of the sparse file (zero blocks from precomputed sums) is librsync's", () => {
    const sigtar = gz.files().find((n) => n.startsWith('duplicity-full-signatures.'))!;
    const out = gz.path('sig');
    mkdirSync(out);
    execFileSync('tar', ['-xzf', join(gz.remote, sigtar), '-C', out, 'signature/disk.img'], { stdio: ['ignore', 'ignore', 'pipe'] });
    // duplicity's block size for 2 GiB (at most --max-blocksize 2048), MD4 strong sums of 8 bytes
    const expected = join(out, 'rdiff.sig');
    execFileSync('rdiff', ['-R', 'rollsum', '-H', 'md4', '-b', '2048', '-S', '8', 'signature', sparse, expected], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    assertSameContent(expected, join(out, 'signature', 'disk.img'));
  });

  it('--force over an existing file, and --file-to-restore of the file alone', async () => {
    const dest = gz.path('force');
    mkdirSync(dest);
    writeFileSync(join(dest, 'disk.img'), randomBytes(3 * MiB));
    assertOk(await gz.run('restore', '--force', gz.url, dest));
    assertRestoredSparse(sparse, join(dest, 'disk.img'));

    const single = gz.path('single.img');
    assertOk(await gz.run('restore', '--file-to-restore', 'disk.img', gz.url, single));
    assertRestoredSparse(sparse, single);
  });

  it('through an incremental delta: holes and content', async () => {
    const pf = newTarget(hooks, 'sparse-inc');
    const src2 = join(pf.work, 'src');
    mkdirSync(src2);
    const file = join(src2, 'disk.img');
    makeSparse(file, SPARSE_SIZE, [
      [0, 256 * 1024],
      [1500 * MiB, 256 * 1024],
    ]);
    assertOk(await pf.run('full', '--current-time', String(T0), src2, pf.url));
    // new data where there was a hole: the delta carries it, and the record
    const fd = openSync(file, 'r+');
    try {
      writeSync(fd, randomBytes(MiB), 0, MiB, 1000 * MiB);
    } finally {
      closeSync(fd);
    }
    utimesSync(file, MTIME, MTIME);
    assertOk(await pf.run('incremental', '--current-time', String(T0 + HOUR), src2, pf.url));
    assert.ok(
      pf.files().some((n) => n.startsWith('duplicity-inc.') && n.includes('.difftar')),
      'no incremental volume',
    );
    const dest = pf.path('restore');
    assertOk(await pf.run('restore', pf.url, dest));
    const restored = join(dest, 'disk.img');
    assert.ok(allocated(restored) < SMALL_ALLOCATION, `${allocated(restored)} bytes allocated`);
    assert.equal(Math.trunc(statSync(restored).mtimeMs / 1000), MTIME);
    assertSameContent(file, restored);
  });
});
