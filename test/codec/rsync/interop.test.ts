/**
 * Cross-checks against real librsync 2.3.2: Debian's `rdiff` (package `rdiff`) and duplicity's own
 * `duplicity.librsync` module (the code path that writes real backups).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import fc from 'fast-check';
import { deltaOf } from '../../../src/codec/rsync/delta.ts';
import { applyDelta } from '../../../src/codec/rsync/patch.ts';
import { signatureOf } from '../../../src/codec/rsync/signature.ts';
import { tmpDir } from '../../support/tmp.ts';
import { basisAndNew, bigBin, bigBinModified, exactBin } from './fixtures.ts';

function run(cmd: string, args: string[], input?: string): Buffer {
  const r = spawnSync(cmd, args, { input, maxBuffer: 1 << 28 });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed: ${r.stderr.toString()}`);
  return r.stdout;
}

function requireRdiff(): void {
  const r = spawnSync('rdiff', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0 || !r.stdout.includes('librsync 2.')) {
    assert.fail('these tests need rdiff from librsync 2.x: apt-get install rdiff');
  }
}

/** Writes files into a fresh directory and hands out their paths. */
function workdir(t: TestContext): (name: string, data?: Uint8Array) => string {
  const dir = tmpDir(t, 'rsync-interop');
  return (name, data) => {
    const path = join(dir, name);
    if (data !== undefined) writeFileSync(path, data);
    return path;
  };
}

function rdiffSignature(file: string, out: string, blockLen: number, strongLen = 8): Buffer {
  run('rdiff', ['-f', '-H', 'md4', '-R', 'rollsum', '-b', String(blockLen), '-S', String(strongLen), 'signature', file, out]);
  return readFileSync(out);
}

function rdiffDelta(sig: string, file: string, out: string): Buffer {
  run('rdiff', ['-f', 'delta', sig, file, out]);
  return readFileSync(out);
}

function rdiffPatch(basis: string, delta: string, out: string): Buffer {
  run('rdiff', ['-f', 'patch', basis, delta, out]);
  return readFileSync(out);
}

/** Pseudo-random bytes from a seed (xorshift32), so failures reproduce. */
function noise(length: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

test('signatures are byte-identical to rdiff -H md4 -R rollsum', (t) => {
  requireRdiff();
  const file = workdir(t);
  const cases: [number, number, number][] = [
    [0, 512, 8],
    [1, 512, 8],
    [511, 512, 8],
    [512, 512, 8],
    [513, 512, 8],
    [150000, 512, 8],
    [100000, 1024, 8],
    [300001, 2048, 8],
    [5000, 7, 8],
    [20000, 333, 16],
    [4096, 64, 3],
  ];
  for (const [length, blockLen, strongLen] of cases) {
    const data = noise(length, length + blockLen);
    const expected = rdiffSignature(file('f', data), file('f.sig'), blockLen, strongLen);
    assert.deepEqual(signatureOf(data, blockLen, strongLen), expected, `length ${length}, block ${blockLen}, strong ${strongLen}`);
  }
});

test('MD4 agrees with librsync across the padding boundaries (full 16-byte strong sums of one-block files)', (t) => {
  requireRdiff();
  const file = workdir(t);
  const lengths = [...Array.from({ length: 140 }, (_, i) => i + 1), 191, 192, 193, 255, 256, 1000, 4096, 65536];
  for (const length of lengths) {
    const data = noise(length, length * 7 + 1);
    assert.deepEqual(signatureOf(data, length, 16), rdiffSignature(file('m', data), file('m.sig'), length, 16), `length ${length}`);
  }
});

test("deltas are byte-identical to rdiff delta, and each side patches the other's deltas", async (t) => {
  requireRdiff();
  const file = workdir(t);
  const samples: (readonly [Buffer, Buffer])[] = fc.sample(basisAndNew, { numRuns: 40, seed: 20240102 });
  samples.push(
    [bigBin(), bigBinModified()],
    [noise(300000, 1), Buffer.concat([noise(1000, 9), noise(300000, 1).subarray(5000), noise(70000, 3)])],
  );
  for (const [i, [basis, next]] of samples.entries()) {
    const blockLen = [512, 64, 16, 1024][i % 4]!;
    const oursSig = signatureOf(basis, blockLen);
    const theirsSig = rdiffSignature(file('basis', basis), file('basis.sig'), blockLen);
    assert.deepEqual(oursSig, theirsSig, `sample ${i}: signature`);
    const ours = deltaOf(oursSig, next);
    const theirs = rdiffDelta(file('basis.sig'), file('new', next), file('theirs.delta'));
    if (basis.length > 0) {
      // rdiff cuts an empty basis's slack delta by its own read size, duplicity by 64 KiB (see below).
      assert.deepEqual(ours, theirs, `sample ${i}: delta (basis ${basis.length}, new ${next.length}, block ${blockLen})`);
    }
    file('ours.delta', ours);
    assert.deepEqual(rdiffPatch(file('basis'), file('ours.delta'), file('out1')), next, `sample ${i}: rdiff patch of our delta`);
    assert.deepEqual(await applyDelta(basis, theirs), next, `sample ${i}: our patch of rdiff's delta`);
  }
});

/** A sparse file's content: islands of noise in runs of zeros of any length and alignment. */
function sparseLike(seed: number, pieces: number): Buffer {
  const parts: Buffer[] = [];
  let x = seed;
  for (let i = 0; i < pieces; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    parts.push(i % 2 === 0 ? Buffer.alloc(x % 20000) : noise(1 + (x % 3000), x));
  }
  return Buffer.concat(parts);
}

test('sparse-like files (windows of zeros looked up once): deltas byte-identical to rdiff delta', (t) => {
  requireRdiff();
  const file = workdir(t);
  for (let i = 0; i < 16; i++) {
    const blockLen = [512, 2048, 64, 7][i % 4]!;
    const basis = i % 5 === 4 ? noise(30000, i) : sparseLike(i + 1, 12);
    // new data in the holes, zeros over data, a shifted copy: zero windows at new alignments
    const next = i % 3 === 0 ? Buffer.concat([Buffer.alloc(333), basis]) : sparseLike(i + 101, 14);
    const sig = rdiffSignature(file('basis', basis), file('basis.sig'), blockLen);
    assert.deepEqual(signatureOf(basis, blockLen), sig, `sample ${i}: signature`);
    const theirs = rdiffDelta(file('basis.sig'), file('new', next), file('theirs.delta'));
    assert.deepEqual(deltaOf(sig, next), theirs, `sample ${i}: delta (basis ${basis.length}, new ${next.length}, block ${blockLen})`);
  }
});

const DUPLICITY_LIBRSYNC = `
import sys
from duplicity import librsync
cmd, a, b, out = sys.argv[1:5]
if cmd == 'sig':
    data = librsync.SigFile(open(a, 'rb'), int(b)).read()
elif cmd == 'delta':
    data = librsync.DeltaFile(open(a, 'rb').read(), open(b, 'rb')).read()
else:
    data = librsync.PatchedFile(open(a, 'rb'), open(b, 'rb')).read()
open(out, 'wb').write(data)
`;

function duplicity(cmd: 'sig' | 'delta' | 'patch', a: string, b: string, out: string): Buffer {
  const r = spawnSync('/usr/bin/python3', ['-c', DUPLICITY_LIBRSYNC, cmd, a, b, out], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    assert.fail(`duplicity's librsync module is needed (apt-get install duplicity): ${r.error?.message ?? r.stderr}`);
  }
  return readFileSync(out);
}

test("signatures and deltas are byte-identical to duplicity's own librsync calls, empty basis included", (t) => {
  const file = workdir(t);
  const cases: [string, Buffer, Buffer][] = [
    ['empty basis, 200000 new bytes', Buffer.alloc(0), noise(200000, 5)],
    ['empty basis, 131072 new bytes', Buffer.alloc(0), noise(131072, 6)],
    ['empty basis, 10 new bytes', Buffer.alloc(0), noise(10, 7)],
    ['empty basis and new', Buffer.alloc(0), Buffer.alloc(0)],
    ['big.bin', bigBin(), bigBinModified()],
    ['exact.bin unchanged', exactBin(), exactBin()],
    ['truncated', noise(100000, 8), noise(100000, 8).subarray(0, 77777)],
  ];
  for (const [label, basis, next] of cases) {
    const blockLen = 512;
    const sig = duplicity('sig', file('basis', basis), String(blockLen), file('basis.sig'));
    assert.deepEqual(signatureOf(basis, blockLen), sig, `${label}: signature`);
    const delta = duplicity('delta', file('basis.sig'), file('new', next), file('delta'));
    assert.deepEqual(deltaOf(sig, next), delta, `${label}: delta`);
    assert.deepEqual(duplicity('patch', file('basis'), file('delta'), file('out')), next, `${label}: duplicity patch`);
  }
});
