/**
 * Faults, end to end through the CLI: each gets one clear line on stderr (no stack trace at the
 * default verbosity) and its documented exit code (src/core/errors.ts).
 *
 * Tests run as root, so permissions alone cannot make a target read-only or a source file
 * unreadable. Real ways are used instead: a read-only bind mount in a private mount namespace
 * (`unshare -m`) for the target, and a run without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH
 * (`setpriv --bounding-set`), where root obeys file modes like anyone else, for the source.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { fileUrl, runCommand } from '../support/cli.ts';
import { assertSameTree } from '../support/compare.ts';
import { assertFails, assertOk, describeRun, HOUR, newTarget, T0, type PfTarget } from '../support/pf-target.ts';
import { PERMAFROST_BIN } from '../support/permafrost.ts';
import { buildTree, setMtime, type TreeSpec } from '../support/tree.ts';
import { escapeRegExp } from '../support/regex.ts';

/** Spans three volumes at --volsize 1 (random bytes do not compress). */
const SPEC: TreeSpec = {
  entries: [
    { kind: 'file', path: 'a.txt', content: 'alpha\n' },
    { kind: 'file', path: 'big.bin', size: 2_600_000, seed: 5 },
    { kind: 'file', path: 'dir/b.txt', content: 'beta\n' },
    { kind: 'file', path: 'z.txt', content: 'zulu\n' },
  ],
};

describe('source and target faults', () => {
  it('a missing source, or a source that is not a directory: exit 10', async (t) => {
    const pf = newTarget(t, 'bad-source');
    const missing = join(pf.work, 'no-such-dir');
    assertFails(await pf.run('full', missing, pf.url), 10, /no-such-dir.*does not exist/);
    writeFileSync(join(pf.work, 'plain-file'), 'x');
    assertFails(await pf.run(join(pf.work, 'plain-file'), pf.url), 10, /plain-file.*not a directory/);
    assert.deepEqual(pf.files(), [], 'nothing may be written to the target');
  });

  it('an unparsable URL: exit 50', async (t) => {
    const pf = newTarget(t, 'bad-url');
    const src = join(pf.work, 'src');
    buildTree(src, SPEC);
    assertFails(await pf.run('full', src, 'file://'), 50, /file URL without a path/);
    assertFails(await pf.run(src, 'nosuchscheme://host/x'), 50, /unsupported URL scheme "nosuchscheme:\/\/"/);
    assertFails(await pf.run('restore', 'nosuchscheme://host/x', join(pf.work, 'dest')), 50, /unsupported URL scheme/);
    assertFails(await pf.run('collection-status', 'not-a-url'), 50, /Bad URL 'not-a-url'/);
  });

  it('a target whose parent is a regular file: exit 51', async (t) => {
    const pf = newTarget(t, 'target-under-file');
    const src = join(pf.work, 'src');
    buildTree(src, SPEC);
    writeFileSync(join(pf.work, 'regular'), 'x');
    const url = fileUrl(join(pf.work, 'regular', 'target'));
    assertFails(await pf.run('full', src, url), 51, /regular\/target: cannot .*ENOTDIR/);
    assertFails(await pf.run('restore', url, join(pf.work, 'dest')), 51, /ENOTDIR/);
  });

  it('a read-only target (a read-only bind mount, which stops root too): exit 51, nothing left behind', async (t) => {
    const pf = newTarget(t, 'target-read-only');
    const src = join(pf.work, 'src');
    buildTree(src, SPEC);
    // One complete backup first: the target is readable, just not writable.
    assertOk(await pf.run('full', '--volsize', '1', '--current-time', String(T0), src, pf.url));
    const before = pf.files();
    const readOnly = (args: string[]) =>
      runCommand(
        'unshare',
        [
          '-m',
          'sh',
          '-c',
          'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" "$1" && shift && exec "$@"',
          'sh',
          pf.remote,
          process.execPath,
          PERMAFROST_BIN,
          ...args,
        ],
        { expectCode: 'any' },
      );
    const common = ['--no-encryption', '--archive-dir', pf.archiveDir, '--name', 'test', '--volsize', '1'];
    const r = await readOnly(['incremental', ...common, '--current-time', String(T0 + HOUR), src, pf.url]);
    assert.ok(!/mount|unshare/.test(r.stderr), `the read-only mount could not be made here: ${describeRun(r)}`);
    assertFails(r, 51, /cannot write .*EROFS/);
    assertFails(
      await readOnly(['full', ...common, '--current-time', String(T0 + 2 * HOUR), src, `${pf.url}/new-subdir`]),
      51,
      /cannot create the target directory/,
    );
    assert.deepEqual(pf.files(), before, 'the target must be as it was');
    // and it still restores
    const dest = pf.path('restore');
    assertOk(await readOnly(['restore', ...common, pf.url, dest]));
    assertSameTree(src, dest);
  });

  it('a local path that cannot be written (restore destination, --archive-dir, --tempdir, a full temp dir): exit 52', async (t) => {
    const pf = newTarget(t, 'local-paths');
    const src = join(pf.work, 'src');
    buildTree(src, SPEC);
    const file = join(pf.work, 'regular');
    writeFileSync(file, 'x');
    assertFails(
      await pf.raw('full', '--no-encryption', '--archive-dir', join(file, 'cache'), src, pf.url),
      52,
      /^ENOTDIR: not a directory, mkdir '.*regular\/cache/,
    );
    assertFails(await pf.run('full', '--tempdir', join(file, 'tmp'), src, pf.url), 52, /^ENOTDIR: .*regular\/tmp/);
    assert.deepEqual(pf.files(), []);
    // A temp dir too small for one volume: a tmpfs of 256 KiB in a private mount namespace.
    const small = join(pf.work, 'small-tmp');
    mkdirSync(small);
    const full = await runCommand(
      'unshare',
      [
        '-m',
        'sh',
        '-c',
        'mount -t tmpfs -o size=256k tmpfs "$1" && shift && exec "$@"',
        'sh',
        small,
        process.execPath,
        PERMAFROST_BIN,
        'full',
        '--no-encryption',
        '--archive-dir',
        pf.archiveDir,
        '--tempdir',
        small,
        '--volsize',
        '1',
        src,
        pf.url,
      ],
      { expectCode: 'any' },
    );
    assertFails(full, 52, /^ENOSPC: no space left on device/);
    assert.ok(!pf.files().some((f) => f.endsWith('.manifest')), 'no set may be completed');

    assertOk(await pf.run('full', '--current-time', String(T0), src, pf.url));
    assertFails(await pf.run('restore', pf.url, join(file, 'dest')), 52, /^ENOTDIR: not a directory, \w+ '.*regular\/dest'$/);
    const roDest = join(pf.work, 'ro-dest');
    mkdirSync(roDest);
    const ro = await runCommand(
      'unshare',
      [
        '-m',
        'sh',
        '-c',
        'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" "$1" && shift && exec "$@"',
        'sh',
        roDest,
        process.execPath,
        PERMAFROST_BIN,
        'restore',
        '--no-encryption',
        '--archive-dir',
        pf.archiveDir,
        '--name',
        'test',
        pf.url,
        join(roDest, 'inside'),
      ],
      { expectCode: 'any' },
    );
    assertFails(ro, 52, /^EROFS: read-only file system, mkdir '.*ro-dest\/inside'$/);
  });

  it('unreadable source files and directories are reported and skipped; the backup completes with exit 4', async (t) => {
    const pf = newTarget(t, 'unreadable');
    const src = join(pf.work, 'src');
    buildTree(src, {
      entries: [
        { kind: 'file', path: 'ok.txt', content: 'readable\n' },
        { kind: 'file', path: 'secret.txt', content: 'version 1\n', mode: 0o600 },
        { kind: 'file', path: 'locked/inner.txt', content: 'inner\n' },
        { kind: 'dir', path: 'locked', mode: 0o700 },
      ],
    });
    assertOk(await pf.run('full', '--current-time', String(T0), src, pf.url));
    const v1 = pf.path('snapshot');
    cpSync(src, v1, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });

    // The files change and lose every permission bit; without the DAC capabilities root cannot
    // read them any more (the walk still sees them: lstat needs no permission on the file).
    writeFileSync(join(src, 'secret.txt'), 'version 2, longer\n');
    chmodSync(join(src, 'secret.txt'), 0o000);
    setMtime(join(src, 'secret.txt'), 1_700_000_000);
    writeFileSync(join(src, 'new-unreadable.txt'), 'never backed up\n');
    chmodSync(join(src, 'new-unreadable.txt'), 0o000);
    chmodSync(join(src, 'locked'), 0o000);
    writeFileSync(join(src, 'ok.txt'), 'readable, changed\n');
    setMtime(join(src, 'ok.txt'), 1_700_000_001);
    setMtime(src, 1_700_000_002);
    const withoutDac = await runCommand(
      'setpriv',
      [
        '--bounding-set=-dac_override,-dac_read_search',
        '--inh-caps=-all',
        process.execPath,
        PERMAFROST_BIN,
        'incremental',
        '--no-encryption',
        '--archive-dir',
        pf.archiveDir,
        '--name',
        'test',
        '--current-time',
        String(T0 + HOUR),
        src,
        pf.url,
      ],
      { expectCode: 'any' },
    );
    assert.equal(withoutDac.code, 4, describeRun(withoutDac));
    assert.match(withoutDac.stdout, /Error reading .*\/secret\.txt: EACCES/);
    assert.match(withoutDac.stdout, /Error reading .*\/new-unreadable\.txt: EACCES/);
    assert.match(withoutDac.stdout, /Error reading .*\/locked: EACCES/);
    assert.match(withoutDac.stdout, /Backup completed with 3 errors/);
    assert.equal(withoutDac.stderr, '', 'a completed backup prints no error line');

    // The set is complete and restorable: what could be read is new, the rest as it was before.
    const dest = pf.path('restore');
    assertOk(await pf.run('restore', '--time', String(T0 + HOUR), pf.url, dest));
    assert.equal(readFileSync(join(dest, 'ok.txt'), 'utf8'), 'readable, changed\n');
    assert.equal(readFileSync(join(dest, 'secret.txt'), 'utf8'), 'version 1\n');
    assert.equal(readFileSync(join(dest, 'locked/inner.txt'), 'utf8'), 'inner\n', 'an unlistable directory is not a deleted one');
    assert.ok(!existsSync(join(dest, 'new-unreadable.txt')));

    // With the capabilities back, the next incremental takes everything.
    const full = await pf.run('incremental', '--current-time', String(T0 + 2 * HOUR), src, pf.url);
    assertOk(full);
    const dest2 = pf.path('restore');
    assertOk(await pf.run('restore', pf.url, dest2));
    assertSameTree(src, dest2);
  });
});

describe('archive faults', () => {
  // Built once; each test damages its own copy of the target.
  const base = newTarget({ after }, 'archive-faults');
  const src = join(base.work, 'src');
  before(async () => {
    buildTree(src, SPEC);
    assertOk(await base.run('full', '--volsize', '1', '--current-time', String(T0), src, base.url));
    assert.ok(base.files().filter((f) => f.includes('.vol')).length >= 3, `expected 3 volumes or more: ${base.files().join(' ')}`);
  });

  /** A copy of the base target, with a fresh archive dir so that only the remote counts. */
  function copyOfBase(t: { after(fn: () => void): void }, label: string): PfTarget & { name(re: RegExp): string } {
    const pf = newTarget(t, label);
    cpSync(base.remote, pf.remote, { recursive: true });
    return {
      ...pf,
      name(re: RegExp) {
        const found = pf.files().filter((f) => re.test(f));
        assert.equal(found.length, 1, `one file matching ${re} expected: ${pf.files().join(' ')}`);
        return found[0]!;
      },
    };
  }

  /** Replaces a volume's bytes and, so that the hash check passes, its SHA1 in the manifest. */
  function replaceVolume(pf: ReturnType<typeof copyOfBase>, volume: string, bytes: Buffer): void {
    const path = join(pf.remote, volume);
    const oldHash = sha1(readFileSync(path));
    writeFileSync(path, bytes);
    const manifest = join(pf.remote, pf.name(/\.manifest$/));
    const text = readFileSync(manifest, 'latin1');
    assert.ok(text.includes(oldHash));
    writeFileSync(manifest, text.replace(oldHash, sha1(bytes)), 'latin1');
  }

  it('no chain at the target, or --time before the first backup: exit 12', async (t) => {
    const empty = newTarget(t, 'no-chain');
    assertFails(await empty.run('restore', empty.url, empty.path('dest')), 12, /no backup chain found at file:\/\//);
    assertFails(await empty.run('list-current-files', empty.url), 12, /no backup chain found/);
    assertFails(await empty.run('verify', empty.url, src), 12, /no backup chain found/);
    const pf = copyOfBase(t, 'time-before');
    const dest = pf.path('dest');
    assertFails(await pf.run('restore', '--time', String(T0 - 1), pf.url, dest), 12, /--time .* is before the first backup/);
    assertFails(await pf.run('restore', '--time', '2000-01-01', pf.url, dest), 12, /before the first backup \(20270115T080000Z\)/);
    assert.ok(!existsSync(dest));
    // list-current-files names the same state as restore: none before the first backup
    const early = await pf.run('list-current-files', '--time', '2000-01-01', pf.url);
    assertFails(early, 12, /^--time 20000101T000000Z is before the first backup \(20270115T080000Z\)$/);
    assert.equal(early.stdout, '');
    const first = await pf.run('list-current-files', '--time', String(T0), pf.url);
    assertOk(first);
    assert.match(first.stdout, / a\.txt$/m);
  });

  it('a volume whose SHA1 does not match its manifest: exit 21, the volume named, nothing restored from it', async (t) => {
    const pf = copyOfBase(t, 'sha1');
    const vol1 = pf.name(/\.vol1\.difftar\.gz$/);
    const bytes = readFileSync(join(pf.remote, vol1));
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    writeFileSync(join(pf.remote, vol1), bytes);
    const dest = pf.path('dest');
    assertFails(
      await pf.run('restore', pf.url, dest),
      21,
      new RegExp(`^${escapeRegExp(vol1)}: SHA1 [0-9a-f]{40} does not match the manifest's [0-9a-f]{40}; refusing to restore from it$`),
    );
    assert.deepEqual(existsSync(dest) ? readdirSync(dest) : [], [], 'nothing may be restored from a volume that fails its hash');
    assertFails(await pf.run('verify', '--compare-data', pf.url, src), 21, new RegExp(escapeRegExp(vol1)));
    // without --compare-data, verify checks the target in place and lists the mismatch (exit 1)
    const checked = await pf.run('verify', pf.url, src);
    assert.equal(checked.code, 1, describeRun(checked));
    assert.match(
      checked.stdout,
      new RegExp(`^Checksum mismatch: ${escapeRegExp(vol1)}: SHA1 [0-9a-f]{40} at the target, [0-9a-f]{40} in the manifest$`, 'm'),
    );
  });

  it('a truncated or corrupt volume (with a matching hash): exit 22, the volume named', async (t) => {
    const cases: [string, (gz: Buffer) => Buffer, RegExp][] = [
      ['truncated', (gz) => gz.subarray(0, Math.floor(gz.length / 3)), /truncated or corrupt volume \(unexpected end of file\)/],
      [
        'corrupt-gzip',
        (gz) => {
          const b = Buffer.from(gz);
          b[Math.floor(b.length / 2)]! ^= 0xff;
          return b;
        },
        /truncated or corrupt volume/,
      ],
      [
        'corrupt-tar-header',
        (gz) => {
          const tar = gunzipSync(gz);
          tar[148]! ^= 0x01;
          return gzipSync(tar);
        },
        /bad tar header checksum/,
      ],
      [
        'tar-cut-short',
        (gz) => {
          const tar = gunzipSync(gz);
          return gzipSync(tar.subarray(0, Math.floor(tar.length / 2)));
        },
        /truncated tar/,
      ],
    ];
    for (const [label, damage, message] of cases) {
      const pf = copyOfBase(t, label);
      const vol2 = pf.name(/\.vol2\.difftar\.gz$/);
      replaceVolume(pf, vol2, damage(readFileSync(join(pf.remote, vol2))));
      assertFails(await pf.run('restore', pf.url, pf.path('dest')), 22, new RegExp(`^${escapeRegExp(vol2)}: .*${message.source}`));
    }
    const pf = copyOfBase(t, 'missing-volume');
    rmSync(join(pf.remote, pf.name(/\.vol2\.difftar\.gz$/)));
    assertFails(
      await pf.run('restore', pf.url, pf.path('dest')),
      22,
      /^volume 2 of the set ending 20270115T080000Z is listed in its manifest but missing at the target$/,
    );
  });

  it('a manifest that does not parse, or that is cut short: exit 22, the manifest named', async (t) => {
    const original = readFileSync(join(base.remote, base.files().find((f) => f.endsWith('.manifest'))!), 'latin1');
    const volume3 = original.indexOf('\nVolume 3:');
    assert.ok(volume3 > 0);
    const cases: [string, string, RegExp][] = [
      ['garbage', 'this is not a manifest\n', /manifest .* lists no volume/],
      [
        'cut-in-a-block',
        original.slice(0, original.indexOf('EndingPath', volume3)),
        /manifest .* does not parse: manifest volume 3 has no EndingPath/,
      ],
      ['cut-at-a-block-end', original.slice(0, volume3 + 1), /manifest .* lists volumes up to 2, but the target holds volume 3/],
      ['bad-hash', original.replace(/(Hash SHA1 [0-9a-f]{40})/, '$1xyz'), /manifest .* volume 1 has a SHA1 that is not 40 hex digits/],
    ];
    for (const [label, text, message] of cases) {
      const pf = copyOfBase(t, `manifest-${label}`);
      writeFileSync(join(pf.remote, pf.name(/\.manifest$/)), text, 'latin1');
      assertFails(await pf.run('restore', pf.url, pf.path('dest')), 22, message);
    }
  });

  it('a corrupt signature file: exit 22 for list-current-files and incremental, the file named', async (t) => {
    const pf = copyOfBase(t, 'corrupt-sigtar');
    const sig = pf.name(/signatures.*\.sigtar\.gz$/);
    const tar = gunzipSync(readFileSync(join(pf.remote, sig)));
    writeFileSync(join(pf.remote, sig), gzipSync(tar.subarray(0, Math.floor(tar.length / 2))));
    assertFails(await pf.run('list-current-files', pf.url), 22, new RegExp(`^${escapeRegExp(sig)}: truncated tar`));
    rmSync(pf.archiveDir, { recursive: true, force: true });
    assertFails(
      await pf.run('incremental', '--current-time', String(T0 + HOUR), src, pf.url),
      22,
      new RegExp(`^${escapeRegExp(sig)}: truncated tar`),
    );

    writeFileSync(join(pf.remote, sig), Buffer.from('not gzip'));
    rmSync(pf.archiveDir, { recursive: true, force: true });
    assertFails(await pf.run('list-current-files', pf.url), 22, new RegExp(`^${escapeRegExp(sig)}: not valid gzip data`));
  });

  it('a fatal error is one ERROR record with its exit code in --log-file', async (t) => {
    const pf = newTarget(t, 'log-error');
    const log = join(pf.work, 'log');
    assertFails(await pf.run('restore', '--log-file', log, pf.url, pf.path('dest')), 12, /no backup chain/);
    assert.match(readFileSync(log, 'utf8'), /^ERROR 12\n\. no backup chain found at file:\/\/.*\n\n$/m);
  });
});

function sha1(b: Buffer): string {
  return createHash('sha1').update(b).digest('hex');
}
