/**
 * The chain index in real backups (in this process, on a file:// target): an incremental that
 * reads the index writes the same bytes as one that reads duplicity's signature files, and as one
 * that rebuilds the index first; the index is rebuilt when missing, stale, damaged or of another
 * version; a damaged store stops the run (exit 52 type) and the next run rebuilds; the chain
 * restores to the source after several indexed incrementals.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { INDEX_DIR, IndexFileReader, StoreDamagedError } from '../../src/archive/chain-index.ts';
import { buildCollection } from '../../src/archive/collection.ts';
import { FileBackend } from '../../src/backend/file-backend.ts';
import { NO_PREFIXES } from '../../src/codec/remote-name.ts';
import { openChainIndex } from '../../src/ops/backup/chain-index.ts';
import { remoteDecoder } from '../../src/ops/remote-decoder.ts';
import { backup, type BackupRequest } from '../../src/ops/backup/backup.ts';
import { restore } from '../../src/ops/restore/restore.ts';
import { assertSameTree, EXACT } from '../support/compare.ts';
import { opContext } from '../support/op-context.ts';
import { tmpDir } from '../support/tmp.ts';
import { buildTree, hostileTreeSpec, mutateTree } from '../support/tree.ts';
import { backupRequest } from '../support/backup-request.ts';

const T0 = 1_800_000_000;
const HOUR = 3600;

function request(source: string, mode: BackupRequest['mode'], chainIndex = true): BackupRequest {
  return backupRequest(source, { mode, hostname: 'chain-index-host', chainIndex });
}

/** A target and its cache; `copy` makes another with the same files (the cache's stats differ). */
function site(work: string, label: string, clock: { now: number }) {
  const target = join(work, `target-${label}`);
  const cache = join(work, `cache-${label}`);
  mkdirSync(target, { recursive: true });
  const ctx = opContext(new FileBackend(target, `file://${target}`), clock, { cacheDir: cache, tempRoot: join(work, `tmp-${label}`) });
  return {
    target,
    cache,
    ctx,
    index: join(cache, INDEX_DIR),
    copy(to: string) {
      execFileSync('cp', ['-a', target, join(work, `target-${to}`)]);
      execFileSync('cp', ['-a', cache, join(work, `cache-${to}`)]);
      return site(work, to, clock);
    },
  };
}

/** Every file of a target, name → bytes, for byte-for-byte comparison. */
function targetFiles(dir: string): Map<string, Buffer> {
  return new Map(
    readdirSync(dir)
      .sort()
      .map((n) => [n, readFileSync(join(dir, n))]),
  );
}

function assertSameTarget(a: string, b: string, what: string): void {
  const x = targetFiles(a);
  const y = targetFiles(b);
  assert.deepEqual([...y.keys()], [...x.keys()], `${what}: file names`);
  for (const [name, bytes] of x) assert.ok(bytes.equals(y.get(name)!), `${what}: ${name} differs`);
}

/** The index of a site's chain, opened (and rebuilt when it must be) as a backup opens it: every entry with its signature. */
async function indexContents(s: ReturnType<typeof site>): Promise<unknown[]> {
  const collection = buildCollection(await s.ctx.backend.list(), NO_PREFIXES);
  const index = await openChainIndex(s.ctx, collection, remoteDecoder(NO_PREFIXES, null));
  const out: unknown[] = [];
  for await (const e of index.entries())
    out.push({
      path: Buffer.concat(e.index.flatMap((c) => [c, Buffer.from('/')])).toString('hex'),
      meta: { ...e.meta, index: null },
      stamp: e.stamp,
      signature: e.signature?.toString('hex') ?? null,
    });
  index.close();
  return out;
}

/** Past the racy-read window (2 s for whole-second mtimes), so every run sees the same stamps. */
async function settle(): Promise<void> {
  await sleep(2300);
}

describe('chain index in backups', () => {
  it('incrementals with the index write the same bytes as without it and as after a rebuild; the chain restores', async (t) => {
    const work = tmpDir(t, 'chain-index');
    const source = join(work, 'source');
    buildTree(source, hostileTreeSpec(23, { smallFiles: 60 }));
    const clock = { now: T0 };
    const indexed = site(work, 'indexed', clock);
    await backup(indexed.ctx, request(source, 'full'));
    assert.ok(existsSync(join(indexed.index, 'index')), 'a full backup writes the index');
    for (let step = 1; step <= 3; step++) {
      mutateTree(source, 23, step, T0 - 10_000 + step * 1000);
      await settle();
      const plain = indexed.copy(`plain-${step}`);
      const rebuilt = indexed.copy(`rebuilt-${step}`);
      rmSync(rebuilt.index, { recursive: true });
      clock.now += HOUR;
      await backup(indexed.ctx, request(source, 'incremental'));
      await backup(plain.ctx, request(source, 'incremental', false));
      await backup(rebuilt.ctx, request(source, 'incremental'));
      assert.deepEqual(
        indexed.ctx.reporter.at('info').filter((l) => l.startsWith('Chain index')),
        [],
        'the updated index is used as it is',
      );
      assert.match(rebuilt.ctx.reporter.at('info').join('\n'), /Chain index .* is missing: rebuilding it/);
      assertSameTarget(plain.target, indexed.target, `step ${step}, index against signature files`);
      assertSameTarget(plain.target, rebuilt.target, `step ${step}, rebuilt index against signature files`);
      const header = IndexFileReader.open(join(indexed.index, 'index')).header;
      assert.equal(header.key.signatures.length, step + 1);
      // what the backups recorded as they wrote equals what the signature files say
      const fresh = indexed.copy(`fresh-${step}`);
      rmSync(fresh.index, { recursive: true });
      assert.deepEqual(await indexContents(fresh), await indexContents(indexed), `step ${step}: index records`);
    }
    const dest = join(work, 'restored');
    await restore(indexed.ctx, { dest, force: false, dryRun: false, numericOwner: false, restoreOwnership: process.getuid?.() === 0 });
    assertSameTree(source, dest, EXACT, 'latest');
  });

  it('a missing (or with the whole cache), stale, damaged or other-version index is rebuilt, and the incremental is the same', async (t) => {
    const work = tmpDir(t, 'chain-index-rebuild');
    const source = join(work, 'source');
    buildTree(source, hostileTreeSpec(29, { smallFiles: 30 }));
    const clock = { now: T0 };
    const origin = site(work, 'origin', clock);
    await backup(origin.ctx, request(source, 'full'));
    mutateTree(source, 29, 1, T0 - 5000);
    await settle();
    const reference = origin.copy('reference');
    const cases: [string, (s: ReturnType<typeof site>) => void, RegExp | null][] = [
      ['fresh', () => {}, null],
      ['missing', (s) => rmSync(s.index, { recursive: true }), /is missing: rebuilding/],
      // the whole cache lost: the signature files come from the target again (the cache's sync)
      ['cache lost', (s) => rmSync(s.cache, { recursive: true }), /is missing: rebuilding/],
      [
        'stale',
        (s) => {
          // what duplicity does to the chain (a new set) shows as other signature files; a
          // rewritten signature file shows by its stat
          const sig = readdirSync(s.cache).find((n) => n.includes('signatures'))!;
          const file = join(s.cache, sig);
          writeFileSync(file, readFileSync(file));
          utimesSync(file, new Date(), new Date());
        },
        /is stale \(the chain has other signature files\): rebuilding/,
      ],
      [
        'damaged',
        (s) => {
          const file = join(s.index, 'index');
          const bytes = readFileSync(file);
          bytes[Math.floor(bytes.length / 2)]! ^= 0x10;
          writeFileSync(file, bytes);
        },
        /is damaged \(checksum mismatch\): rebuilding/,
      ],
      [
        'version',
        (s) => {
          const file = join(s.index, 'index');
          const bytes = readFileSync(file);
          bytes.write('99', 6, 'latin1');
          writeFileSync(file, bytes);
        },
        /is of another version \(99\): rebuilding/,
      ],
    ];
    clock.now += HOUR;
    await backup(reference.ctx, request(source, 'incremental', false));
    for (const [label, damage, message] of cases) {
      // a copy keeps the cache files' sizes and mtimes, which key the index: it is still fresh
      const s = origin.copy(label);
      damage(s);
      await backup(s.ctx, request(source, 'incremental'));
      const said = s.ctx.reporter.at('info').filter((l) => l.startsWith('Chain index'));
      if (message === null) assert.deepEqual(said, [], label);
      else assert.match(said.join('\n'), message, label);
      assertSameTarget(reference.target, s.target, label);
      const after = IndexFileReader.open(join(s.index, 'index'));
      after.verify();
      assert.equal(after.header.key.signatures.length, 2, label);
    }
  });

  it('a damaged store stops the incremental before its manifest (exit 52 type); the next run rebuilds', async (t) => {
    const work = tmpDir(t, 'chain-index-store');
    const source = join(work, 'source');
    buildTree(source, hostileTreeSpec(31, { smallFiles: 30 }));
    const clock = { now: T0 };
    const s = site(work, 'store', clock);
    await backup(s.ctx, request(source, 'full'));
    mutateTree(source, 31, 1, T0 - 5000);
    await settle();
    const store = readdirSync(s.index).find((n) => n.endsWith('.sigs'))!;
    const file = join(s.index, store);
    const bytes = readFileSync(file);
    for (let i = 0; i < bytes.length; i += 7) bytes[i]! ^= 0xff;
    writeFileSync(file, bytes);
    clock.now += HOUR;
    const manifests = () => readdirSync(s.target).filter((n) => n.endsWith('.manifest')).length;
    await assert.rejects(backup(s.ctx, request(source, 'incremental')), StoreDamagedError);
    assert.equal(manifests(), 1, 'no set was made');
    assert.equal(existsSync(join(s.index, 'index')), false);
    clock.now += HOUR;
    await backup(s.ctx, request(source, 'incremental'));
    assert.match(s.ctx.reporter.at('info').join('\n'), /is missing: rebuilding/);
    assert.equal(manifests(), 2);
    const dest = join(work, 'restored');
    await restore(s.ctx, { dest, force: false, dryRun: false, numericOwner: false, restoreOwnership: process.getuid?.() === 0 });
    assertSameTree(source, dest, EXACT, 'latest');
  });
});
