/**
 * A damaged local cache (issue 13) heals instead of blocking work or blaming the target: cached
 * manifests and signature files that do not read, or that disagree with the target, are fetched
 * again with a warning naming the local file, and what a run cannot heal in flight is named as the
 * local file (exit 52) and deleted, with nothing stored as a set. The target stays untouched, and
 * a volume that really is corrupt at the target is still blamed (exit 21).
 *
 * Every scenario backs up its own chain (a full and an incremental) and damages its archive dir,
 * through the real CLI on file:// targets; restores are compared with the source.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { CheckedFiles, CHECKED_FILES_NAME } from '../../src/archive/checked-files.ts';
import { dup08 } from '../support/duplicity.ts';
import { assertSameTree } from '../support/compare.ts';
import type { RunResult } from '../support/cli.ts';
import { assertFails, assertOk, describeRun, HOUR, newTarget, T0, type PfTarget } from '../support/pf-target.ts';
import { runPermafrost } from '../support/permafrost.ts';
import { buildTree, setMtime, type TreeSpec } from '../support/tree.ts';
import { escapeRegExp } from '../support/regex.ts';

const SPEC: TreeSpec = {
  entries: [
    { kind: 'file', path: 'a.txt', content: 'alpha\n' },
    { kind: 'file', path: 'big.bin', size: 600_000, seed: 7 },
    { kind: 'file', path: 'dir/b.txt', content: 'beta\n' },
  ],
};

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

/** Changes big.bin in place (a delta against its signature) and adds a file. */
function changeSource(src: string, step: number): void {
  const big = readFileSync(join(src, 'big.bin'));
  big.write(`changed in step ${step}`, 1000 * step);
  writeFileSync(join(src, 'big.bin'), big);
  setMtime(join(src, 'big.bin'), 1_700_000_000 + step);
  writeFileSync(join(src, `new-${step}.txt`), `step ${step}\n`);
}

/** The target's files and their SHA1s: what no run here may change, except by adding a set. */
function targetState(pf: PfTarget): Map<string, string> {
  return new Map(pf.files().map((n) => [n, sha1(readFileSync(join(pf.remote, n)))]));
}

function assertTargetKept(pf: PfTarget, before: Map<string, string>): void {
  const now = targetState(pf);
  for (const [name, hash] of before) assert.equal(now.get(name), hash, `${name} at the target must be as it was`);
}

function warningFor(r: RunResult, local: string): void {
  assert.match(r.stdout, new RegExp(`^Cached .*${escapeRegExp(local)}.*: replaced with the target's copy$`, 'm'), describeRun(r));
}

describe('a damaged local cache heals', () => {
  /** A chain (a full, then an incremental that changes big.bin) with its archive dir, and its source. */
  async function chain(t: { after(fn: () => void): void }, label: string): Promise<PfTarget & { src: string; cached(re: RegExp): string }> {
    const pf = newTarget(t, label);
    const src = join(pf.work, 'src');
    buildTree(src, SPEC);
    assertOk(await pf.run('full', '--current-time', String(T0), src, pf.url));
    changeSource(src, 1);
    assertOk(await pf.run('incremental', '--current-time', String(T0 + HOUR), src, pf.url));
    return {
      ...pf,
      src,
      cached(re: RegExp) {
        const found = readdirSync(pf.cache).filter((f) => re.test(f));
        assert.equal(found.length, 1, `one cached file matching ${re} expected: ${readdirSync(pf.cache).join(' ')}`);
        return join(pf.cache, found[0]!);
      },
    };
  }

  async function restoresLatest(pf: PfTarget & { src: string }): Promise<void> {
    const dest = pf.path('restore');
    assertOk(await pf.run('restore', pf.url, dest));
    assertSameTree(pf.src, dest);
  }

  it('truncated cached signature files: a restore of one path and the incremental replace them (warning naming each) and the chain restores', async (t) => {
    const pf = await chain(t, 'truncated-sig');
    const fullSig = pf.cached(/^duplicity-full-signatures\..*\.sigtar\.gz$/);
    const incSig = pf.cached(/^duplicity-new-signatures\..*\.sigtar\.gz$/);
    truncateSync(fullSig, Math.floor(statSync(fullSig).size / 2));
    truncateSync(incSig, 40);
    const kept = targetState(pf);
    // a restore of one path reads the incrementals' signatures to skip the sets that hold nothing of it
    const one = pf.path('one-file');
    const partial = await pf.run('restore', '--file-to-restore', 'dir/b.txt', pf.url, one);
    assertOk(partial);
    warningFor(partial, incSig);
    assert.equal(readFileSync(one, 'utf8'), 'beta\n');
    changeSource(pf.src, 2);
    const r = await pf.run('incremental', '--current-time', String(T0 + 2 * HOUR), pf.src, pf.url);
    assertOk(r);
    warningFor(r, fullSig);
    assert.doesNotMatch(r.stdout, new RegExp(escapeRegExp(incSig)), 'healed once, by the restore');
    assert.match(r.stdout, /is damaged \(unexpected end of file\)/);
    assertTargetKept(pf, kept);
    assert.equal(gunzipSync(readFileSync(fullSig)).length > 0, true, 'the cached copy is whole again');
    await restoresLatest(pf);
    // the healed cache serves the next run silently
    changeSource(pf.src, 3);
    const next = await pf.run('incremental', '--current-time', String(T0 + 3 * HOUR), pf.src, pf.url);
    assertOk(next);
    assert.doesNotMatch(next.stdout, /Cached /);
    await restoresLatest(pf);
  });

  it('a cached signature file overwritten in the middle (same size): replaced before the incremental writes anything', async (t) => {
    const pf = await chain(t, 'garbage-sig');
    const fullSig = pf.cached(/^duplicity-full-signatures\./);
    const bytes = readFileSync(fullSig);
    bytes.fill(0x5a, bytes.length >> 2, (bytes.length >> 2) + 64);
    writeFileSync(fullSig, bytes);
    changeSource(pf.src, 2);
    const r = await pf.run('incremental', '--current-time', String(T0 + 2 * HOUR), pf.src, pf.url);
    assertOk(r);
    warningFor(r, fullSig);
    // the warning comes before the backup starts: nothing was written from the damaged copy
    assert.ok(r.stdout.indexOf('Cached signature file') < r.stdout.indexOf('Starting incremental backup'), describeRun(r));
    await restoresLatest(pf);
    const listed = await pf.run('list-current-files', pf.url);
    assertOk(listed);
    assert.match(listed.stdout, / new-2\.txt$/m);
  });

  it('bits that rot under an unchanged stat: the gzip CRC stops the incremental (exit 52, the local file named and deleted, no manifest stored); the next run succeeds', async (t) => {
    const pf = await chain(t, 'rotten-sig');
    const fullSig = pf.cached(/^duplicity-full-signatures\./);
    // zeros after the end of the tar (tar readers stop at its end marker) put the gzip trailer
    // a megabyte past the last entry: the CRC is checked only if the rest is read
    const plain = Buffer.concat([gunzipSync(readFileSync(fullSig)), Buffer.alloc(1 << 20)]);
    const intact = gzipSync(plain);
    // one byte of big.bin's rsync signature (past its 512-byte header): still a valid tar, but a
    // delta against it would be wrong; only the CRC in the gzip trailer can tell
    const header = plain.indexOf('signature/big.bin');
    assert.ok(header > 0 && header % 512 === 0, 'the signature entry of big.bin');
    plain[header + 512 + 100]! ^= 0x01;
    const rotten = gzipSync(plain);
    intact.copy(rotten, rotten.length - 8, intact.length - 8); // the intact data's CRC and size
    writeFileSync(fullSig, rotten);
    // as if the rot happened where no stat sees it: the file is recorded as checked as it is now
    await new CheckedFiles(pf.cache).record(fullSig.slice(pf.cache.length + 1), statSync(fullSig, { bigint: true }));

    const kept = targetState(pf);
    changeSource(pf.src, 2);
    const r = await pf.run('incremental', '--current-time', String(T0 + 2 * HOUR), pf.src, pf.url);
    assertFails(
      r,
      52,
      new RegExp(
        `^the cached signature file ${escapeRegExp(fullSig)} is damaged \\(incorrect data check\\); it was deleted, and the next run fetches the target's copy again$`,
      ),
    );
    assert.ok(!existsSync(fullSig), 'the damaged copy is deleted');
    assertTargetKept(pf, kept);
    assert.deepEqual(
      pf.files().filter((n) => n.endsWith('.manifest')),
      [...kept.keys()].filter((n) => n.endsWith('.manifest')),
      'no set may be completed',
    );

    const again = await pf.run('incremental', '--current-time', String(T0 + 3 * HOUR), pf.src, pf.url);
    assertOk(again);
    await restoresLatest(pf);
  });

  it('a garbage cached manifest: restore, verify (both kinds), list-current-files and collection-status succeed; restore and verify replace it', async (t) => {
    const pf = await chain(t, 'garbage-manifest');
    const manifest = pf.cached(/^duplicity-full\..*\.manifest$/);
    const good = readFileSync(manifest);
    const spoil = () => writeFileSync(manifest, 'this is not a manifest\n');

    spoil();
    const dest = pf.path('restore');
    const r = await pf.run('restore', pf.url, dest);
    assertOk(r);
    assert.match(r.stdout, new RegExp(`^Cached manifest ${escapeRegExp(manifest)} lists no volume: replaced with the target's copy$`, 'm'));
    assertSameTree(pf.src, dest);
    assert.deepEqual(readFileSync(manifest), good);

    spoil();
    const compared = await pf.run('verify', '--compare-data', pf.url, pf.src);
    assertOk(compared);
    warningFor(compared, manifest);
    spoil();
    const inPlace = await pf.run('verify', pf.url, pf.src);
    assertOk(inPlace);
    assert.match(
      inPlace.stdout,
      new RegExp(`^Cached manifest ${escapeRegExp(manifest)} differs from the target's: replaced with the target's copy$`, 'm'),
    );
    assert.deepEqual(readFileSync(manifest), good);
    spoil();
    assertOk(await pf.run('list-current-files', pf.url));
    assertOk(await pf.run('collection-status', pf.url));
    // and an incremental, which reads the chain's last manifest for its host and directory
    const inc = pf.cached(/^duplicity-inc\..*\.manifest$/);
    writeFileSync(inc, readFileSync(inc).subarray(0, 30));
    changeSource(pf.src, 2);
    const backup = await pf.run('incremental', '--current-time', String(T0 + 2 * HOUR), pf.src, pf.url);
    assertOk(backup);
    warningFor(backup, inc);
    await restoresLatest(pf);
  });

  it('a changed hash in a cached manifest: restore and verify --compare-data replace it (warning) and do not blame the intact volume', async (t) => {
    const pf = await chain(t, 'hash-manifest');
    const manifest = pf.cached(/^duplicity-full\..*\.manifest$/);
    const good = readFileSync(manifest, 'latin1');
    const spoil = () => writeFileSync(manifest, good.replace(/(Hash SHA1 )[0-9a-f]{40}/, `$1${'ab'.repeat(20)}`), 'latin1');
    const kept = targetState(pf);

    spoil();
    const dest = pf.path('restore');
    const r = await pf.run('restore', pf.url, dest);
    assertOk(r);
    assert.match(
      r.stdout,
      new RegExp(`^Cached manifest ${escapeRegExp(manifest)} differs from the target's: replaced with the target's copy$`, 'm'),
    );
    assert.doesNotMatch(`${r.stdout}${r.stderr}`, /difftar/, 'no volume is named');
    assertSameTree(pf.src, dest);
    assert.equal(readFileSync(manifest, 'latin1'), good);

    spoil();
    const v = await pf.run('verify', '--compare-data', pf.url, pf.src);
    assertOk(v);
    warningFor(v, manifest);
    assert.match(v.stdout, /0 differences found/);

    // a cached manifest whose volumes end elsewhere as well: the volumes were chosen from it, so the
    // run stops once the cache is mended, naming the local file (52), and the next one restores
    writeFileSync(
      manifest,
      good.replace(/(Hash SHA1 )[0-9a-f]{40}/, `$1${'ab'.repeat(20)}`).replace(/(EndingPath +)\S+/, '$1zzz'),
      'latin1',
    );
    const stopped = await pf.run('restore', pf.url, pf.path('restore'));
    assertFails(
      stopped,
      52,
      new RegExp(
        `^the cached manifest ${escapeRegExp(manifest)} listed other volumes than the target's and was replaced with the target's copy: run again$`,
      ),
    );
    assert.equal(readFileSync(manifest, 'latin1'), good);
    await restoresLatest(pf);
    assertTargetKept(pf, kept);
  });

  it('a volume that really is corrupt at the target is still blamed: exit 21 naming it, the cache untouched', async (t) => {
    const pf = await chain(t, 'corrupt-volume');
    const vol = pf.files().find((n) => /^duplicity-full\..*\.vol1\.difftar\.gz$/.test(n))!;
    const bytes = readFileSync(join(pf.remote, vol));
    bytes[bytes.length >> 1]! ^= 0x01;
    writeFileSync(join(pf.remote, vol), bytes);
    const manifest = pf.cached(/^duplicity-full\..*\.manifest$/);
    const cached = readFileSync(manifest);
    const blamed = new RegExp(
      `^${escapeRegExp(vol)}: SHA1 ${sha1(bytes)} does not match the manifest's [0-9a-f]{40}; refusing to restore from it$`,
    );
    assertFails(await pf.run('restore', pf.url, pf.path('dest')), 21, blamed);
    assertFails(await pf.run('verify', '--compare-data', pf.url, pf.src), 21, blamed);
    assert.deepEqual(readFileSync(manifest), cached);
    // with a cached manifest that is wrong as well, the target's manifest decides, and still blames the volume
    writeFileSync(manifest, cached.toString('latin1').replace(/(Hash SHA1 )[0-9a-f]{40}/, `$1${'cd'.repeat(20)}`), 'latin1');
    const r = await pf.run('restore', pf.url, pf.path('dest'));
    assertFails(r, 21, blamed);
    assert.deepEqual(readFileSync(manifest), cached, "the cache holds the target's manifest again");
  });

  it('signature files duplicity wrote into the shared cache: inflated once, then recorded; truncated, replaced', async (t) => {
    const pf = newTarget(t, 'duplicity-cache');
    const dsrc = join(pf.work, 'src');
    buildTree(dsrc, SPEC);
    const dupRun = await dup08.full(dsrc, pf.url, { archiveDir: pf.archiveDir, name: 'test', currentTime: T0, expectCode: 'any' });
    assertOk(dupRun, 'duplicity 0.8.22 full');
    const sigName = readdirSync(pf.cache).find((n) => n.startsWith('duplicity-full-signatures.'))!;
    const sig = join(pf.cache, sigName);
    const records = () =>
      existsSync(join(pf.cache, CHECKED_FILES_NAME))
        ? Object.keys((JSON.parse(readFileSync(join(pf.cache, CHECKED_FILES_NAME), 'utf8')) as { files: object }).files)
        : [];
    assert.ok(!records().includes(sigName), 'duplicity records nothing');

    changeSource(dsrc, 1);
    const first = await pf.run('incremental', '--current-time', String(T0 + HOUR), dsrc, pf.url);
    assertOk(first);
    assert.doesNotMatch(first.stdout, /Cached /, "an intact file of duplicity's is used as it is");
    assert.ok(records().includes(sigName), `recorded after its check: ${records().join(' ')}`);

    truncateSync(sig, statSync(sig).size - 9);
    changeSource(dsrc, 2);
    const second = await pf.run('incremental', '--current-time', String(T0 + 2 * HOUR), dsrc, pf.url);
    assertOk(second);
    warningFor(second, sig);
    const dest = pf.path('restore');
    assertOk(await pf.run('restore', pf.url, dest));
    assertSameTree(dsrc, dest);
  });

  it('encrypted (PASSPHRASE): a truncated cached signature file and a changed cached hash heal from the decrypted target copies', async (t) => {
    const pf = newTarget(t, 'encrypted');
    const esrc = join(pf.work, 'src');
    buildTree(esrc, SPEC);
    const env = { PASSPHRASE: 'cache-heal-passphrase' };
    const run = (...args: string[]) => runPermafrost(['--archive-dir', pf.archiveDir, '--name', 'test', ...args], env);
    assertOk(await run('full', '--current-time', String(T0), esrc, pf.url));
    assert.ok(
      pf.files().every((n) => n.endsWith('.gpg')),
      pf.files().join(' '),
    );
    const sig = join(pf.cache, readdirSync(pf.cache).find((n) => n.startsWith('duplicity-full-signatures.'))!);
    const manifest = join(pf.cache, readdirSync(pf.cache).find((n) => n.endsWith('.manifest'))!);
    const good = readFileSync(manifest, 'latin1');

    truncateSync(sig, 100);
    changeSource(esrc, 1);
    const r = await run('incremental', '--current-time', String(T0 + HOUR), esrc, pf.url);
    assertOk(r);
    warningFor(r, sig);

    writeFileSync(manifest, good.replace(/(Hash SHA1 )[0-9a-f]{40}/, `$1${'ef'.repeat(20)}`), 'latin1');
    const dest = pf.path('restore');
    const restored = await run('restore', pf.url, dest);
    assertOk(restored);
    warningFor(restored, manifest);
    assert.equal(readFileSync(manifest, 'latin1'), good, 'the cache holds the decrypted target manifest');
    assertSameTree(esrc, dest);
  });
});
