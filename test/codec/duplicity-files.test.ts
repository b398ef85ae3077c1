/**
 * Names and manifests written by real duplicity 0.8.22 (multi-volume, prefixes, quoted and
 * non-UTF-8 names, full + incremental) read back with the codecs: every file is recognised,
 * rebuilt to the same name, and every manifest re-formats to the same bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatManifest, parseManifest, volumesContaining } from '../../src/codec/manifest.ts';
import { manifestName, parseRemoteName, signatureName, volumeName } from '../../src/codec/remote-name.ts';
import type { NamePrefixes, ParsedName, SetTimes } from '../../src/codec/remote-name.ts';
import { defaultBackupName } from '../../src/codec/backup-name.ts';
import { runCommand } from '../support/cli.ts';
import { DUP08_PATH } from '../support/duplicity.ts';
import { Rng } from '../support/rng.ts';
import { tmpDir } from '../support/tmp.ts';

const PREFIXES: NamePrefixes = { base: 'P_', archive: 'arc_', manifest: 'man_', signature: 'sig_' };
const T_FULL = 1700000000;
const T_INC = 1700000100;

function rebuild(p: ParsedName): string {
  const set: SetTimes =
    p.time !== undefined ? { kind: 'full', time: p.time } : { kind: 'inc', startTime: p.startTime!, endTime: p.endTime! };
  const opts = { encrypted: p.encrypted, compressed: p.compressed, partial: p.partial };
  if (p.kind === 'full-sig' || p.kind === 'new-sig') return signatureName(set, PREFIXES, opts);
  if (p.manifest) return manifestName(set, PREFIXES, opts);
  return volumeName(set, p.volume!, PREFIXES, opts);
}

test('files written by duplicity 0.8.22 parse, rebuild and re-format exactly', async (t) => {
  const dir = tmpDir(t, 'codec-dup');
  const src = join(dir, 'src');
  const remote = join(dir, 'remote');
  const cache = join(dir, 'cache');
  mkdirSync(join(src, 'dir'), { recursive: true });
  const rng = new Rng(1);
  writeFileSync(join(src, 'a.txt'), 'hello\n');
  writeFileSync(join(src, 'dir', 'b c.txt'), 'spaced\n');
  writeFileSync(join(src, `q"uote's\\`), 'q\n');
  writeFileSync(Buffer.from(`${src}/caf\xe9-latin1`, 'latin1'), 'x\n');
  writeFileSync(join(src, 'big.bin'), rng.bytes(2_500_000)); // spans volumes at --volsize 1
  writeFileSync(join(src, 'z.txt'), 'last\n');

  const url = `file://${remote}`;
  const common = [
    '--no-encryption',
    '--volsize',
    '1',
    '--archive-dir',
    cache,
    '--file-prefix',
    'P_',
    '--file-prefix-archive',
    'arc_',
    '--file-prefix-manifest',
    'man_',
    '--file-prefix-signature',
    'sig_',
  ];
  await runCommand(DUP08_PATH, ['full', ...common, '--current-time', String(T_FULL), src, url], { label: 'duplicity full' });
  writeFileSync(join(src, 'a.txt'), 'hello world\n');
  utimesSync(join(src, 'a.txt'), 1690000000, 1690000000);
  await runCommand(DUP08_PATH, ['incremental', ...common, '--current-time', String(T_INC), src, url], { label: 'duplicity incremental' });

  const cacheDir = join(cache, defaultBackupName(url)); // --name defaults to md5(URL)
  const listings = { remote: readdirSync(remote), cache: readdirSync(cacheDir).filter((n) => n !== 'lockfile') };
  const kinds = new Set<string>();
  for (const [where, names] of Object.entries(listings)) {
    for (const name of names) {
      const p = parseRemoteName(name, PREFIXES, { now: T_INC });
      assert.ok(p !== null, `${where}: ${name} not recognised`);
      assert.equal(rebuild(p), name);
      if (p.kind === 'full' || p.kind === 'full-sig') assert.equal(p.time, T_FULL);
      else assert.deepEqual([p.startTime, p.endTime], [T_FULL, T_INC]);
      kinds.add(`${where} ${p.kind}${p.manifest ? ' manifest' : ''}`);
      // Unprefixed, nothing of it is recognised (docs/duplicity-format.md §1.4).
      assert.equal(parseRemoteName(name, { base: '', archive: '', manifest: '', signature: '' }), null);
    }
  }
  assert.deepEqual([...kinds].sort(), [
    'cache full manifest',
    'cache full-sig',
    'cache inc manifest',
    'cache new-sig',
    'remote full',
    'remote full manifest',
    'remote full-sig',
    'remote inc',
    'remote inc manifest',
    'remote new-sig',
  ]);

  const manifests = listings.remote.filter((n) => parseRemoteName(n, PREFIXES)?.manifest);
  for (const name of manifests) {
    const bytes = readFileSync(join(remote, name));
    assert.ok(readFileSync(join(cacheDir, name)).equals(bytes), `${name}: cache copy equals the remote one`);
    const m = parseManifest(bytes);
    assert.ok(formatManifest(m).equals(bytes), `${name} re-formats byte-identically`);
    assert.deepEqual(m.localdir, Buffer.from(src));
    const info = parseRemoteName(name, PREFIXES)!;
    // Volumes are listed 1..n and each Hash SHA1 is over the remote file's bytes.
    m.volumes.forEach((v, i) => {
      assert.equal(v.volume, i + 1);
      const set: SetTimes = info.kind === 'full' ? { kind: 'full', time: T_FULL } : { kind: 'inc', startTime: T_FULL, endTime: T_INC };
      const file = readFileSync(join(remote, volumeName(set, v.volume, PREFIXES, { compressed: true })));
      assert.equal(v.hashes.get('SHA1'), createHash('sha1').update(file).digest('hex'));
    });
    if (info.kind === 'full') {
      assert.ok(m.volumes.length >= 3, 'multi-volume');
      const big = volumesContaining(m, [Buffer.from('big.bin')]).map((v) => v.volume);
      assert.ok(big.length >= 2, `big.bin spans volumes ${big.join(',')}`);
      assert.deepEqual(
        volumesContaining(m, []).map((v) => v.volume),
        m.volumes.map((v) => v.volume),
      );
      const names = m.files!.map((f) => f.path.toString('latin1')).sort();
      assert.deepEqual(names, ['a.txt', 'big.bin', 'caf\xe9-latin1', 'dir/b c.txt', `q"uote's\\`, 'z.txt']);
      assert.ok(bytes.toString('latin1').includes('"q\\x22uote\\x27s\\x5c"'));
    } else {
      assert.deepEqual(
        m.files!.map((f) => [f.type, f.path.toString()]),
        [['changed', 'a.txt']],
      );
    }
  }
});

test('short and old-style names written by duplicity 0.8.22 parse to the right sets', async (t) => {
  const dir = tmpDir(t, 'codec-dup-names');
  const src = join(dir, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'a.txt'), 'hello\n');
  const run = async (flag: string, env: Record<string, string>): Promise<string[]> => {
    const remote = join(dir, flag);
    const url = `file://${remote}`;
    const args = ['--no-encryption', '--archive-dir', join(dir, 'cache'), '--name', flag, flag];
    await runCommand(DUP08_PATH, ['full', ...args, '--current-time', String(T_FULL), src, url], { env, label: `duplicity full ${flag}` });
    await runCommand(DUP08_PATH, ['incremental', ...args, '--current-time', String(T_INC), src, url], {
      env,
      label: `duplicity inc ${flag}`,
    });
    return readdirSync(remote);
  };
  const none: NamePrefixes = { base: '', archive: '', manifest: '', signature: '' };
  const short = await run('--short-filenames', {});
  assert.deepEqual(short.sort(), [
    'df.s44we8.1.dt.z',
    'df.s44we8.m',
    'dfs.s44we8.st.z',
    'di.s44we8.s44wh0.1.dt.z',
    'di.s44we8.s44wh0.m',
    'dns.s44we8.s44wh0.st.z',
  ]);
  for (const name of short) {
    const p = parseRemoteName(name, none)!;
    const set: SetTimes =
      p.time !== undefined ? { kind: 'full', time: p.time } : { kind: 'inc', startTime: p.startTime!, endTime: p.endTime! };
    const opts = { compressed: p.compressed, short: true };
    const again = p.kind.endsWith('sig')
      ? signatureName(set, none, opts)
      : p.manifest
        ? manifestName(set, none, opts)
        : volumeName(set, p.volume!, none, opts);
    assert.equal(again, name);
  }
  // Local time with offset: 2023-11-14T23:13:20+01:00 in Berlin.
  const old = await run('--old-filenames', { TZ: 'Europe/Berlin' });
  assert.ok(old.includes('duplicity-full.2023-11-14T23:13:20+01:00.vol1.difftar.gz'), old.join(' '));
  for (const name of old) {
    const p = parseRemoteName(name, none);
    assert.ok(p !== null, name);
    if (p.time !== undefined) assert.equal(p.time, T_FULL);
    else assert.deepEqual([p.startTime, p.endTime], [T_FULL, T_INC]);
  }
});
