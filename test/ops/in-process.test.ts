/**
 * backup() and restore() called in this process on the in-memory backend: a full backup of the
 * hostile tree, incrementals after mutations, restores of the latest state and of an earlier time
 * (--time), from the writer's cache and from an empty one, encrypted with a passphrase. No CLI,
 * no duplicity, no gpg: the quick tier (npm run test:unit) runs it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readAll } from '../../src/archive/metadata-cache.ts';
import { MemoryBackend } from '../../src/backend/memory-backend.ts';
import { OpenPgpError } from '../../src/codec/openpgp/errors.ts';
import { Encryption } from '../../src/crypto/encryption.ts';
import { backup, type BackupRequest } from '../../src/ops/backup/backup.ts';
import { ExitCode, PermafrostError } from '../../src/core/errors.ts';
import { restore, type RestoreRequest } from '../../src/ops/restore/restore.ts';
import { assertSameTree, EXACT } from '../support/compare.ts';
import { contextDirs, opContext } from '../support/op-context.ts';
import { tmpDir } from '../support/tmp.ts';
import { buildTree, hostileTreeSpec, LARGE_FILE, mutateTree } from '../support/tree.ts';
import { backupRequest as baseRequest } from '../support/backup-request.ts';

const T0 = 1_800_000_000; // 2027-01-15T08:00:00Z
const HOUR = 3600;

function backupRequest(source: string, mode: BackupRequest['mode']): BackupRequest {
  // 512 KiB volumes: the 1.5 MiB file spans volumes
  return baseRequest(source, { mode, hostname: 'in-process-host' });
}

function restoreRequest(dest: string, time?: number): RestoreRequest {
  return {
    dest,
    ...(time !== undefined ? { time } : {}),
    force: false,
    dryRun: false,
    numericOwner: false,
    restoreOwnership: process.getuid?.() === 0,
  };
}

/** A copy of the source as it is now, to compare a later --time restore with. */
function snapshot(source: string, to: string): void {
  execFileSync('cp', ['-a', '--', source, to]);
}

function symmetric(passphrase: string): Encryption {
  // a low S2K count: key derivation is not what is tested here, and the full count costs seconds
  return new Encryption({
    recipients: [],
    hiddenRecipients: [],
    passphrase: async () => passphrase,
    keys: { keyFiles: [], gpg: null },
    s2kCountOctet: 96,
  });
}

describe('backup and restore in-process on the memory backend', () => {
  it('full, two incrementals, restores of the latest and of each earlier time, from the cache and without one', async (t) => {
    const work = tmpDir(t, 'in-process');
    const source = join(work, 'source');
    buildTree(source, hostileTreeSpec(19, { smallFiles: 40 }));
    const backend = new MemoryBackend();
    const clock = { now: T0 };
    const ctx = opContext(backend, clock, contextDirs(work, 'writer'));

    const full = await backup(ctx, backupRequest(source, 'full'));
    assert.equal(full.type, 'full');
    assert.equal(full.errors, 0);
    assert.ok(full.volumes >= 3, `${full.volumes} volumes`);
    assert.deepEqual(await backend.listLeftovers(), []);
    snapshot(source, join(work, 'at-full'));
    const times = [T0];

    for (let step = 1; step <= 2; step++) {
      mutateTree(source, 19, step, T0 - 10_000 + step * 1000);
      snapshot(source, join(work, `at-inc${step}`));
      clock.now += HOUR;
      times.push(clock.now);
      const inc = await backup(ctx, backupRequest(source, 'auto'));
      assert.equal(inc.type, 'inc');
      assert.equal(inc.startTime, times[step - 1]);
      assert.equal(inc.endTime, clock.now);
    }
    const names = (await backend.list()).map((o) => o.name);
    assert.equal(names.filter((n) => n.endsWith('.manifest')).length, 3, names.join(' '));

    const latest = join(work, 'restore-latest');
    await restore(ctx, restoreRequest(latest));
    assertSameTree(source, latest, EXACT, 'latest');

    // a machine without the cache reads manifests and signatures back from the target
    clock.now += HOUR;
    const fresh = opContext(backend, clock, contextDirs(work, 'fresh'));
    for (const [i, label] of ['at-full', 'at-inc1', 'at-inc2'].entries()) {
      const dest = join(work, `restore-${label}`);
      const result = await restore(fresh, restoreRequest(dest, times[i]));
      assert.equal(result.setTime, times[i]);
      assertSameTree(join(work, label), dest, EXACT, label);
    }
  });

  it('refused backups store nothing: an incremental without a chain, a dry run, a time not after the last set; a finished one leaves no lock', async (t) => {
    const work = tmpDir(t, 'in-process');
    const source = join(work, 'source');
    buildTree(source, { entries: [{ kind: 'file', path: 'a.txt', content: 'a' }] });
    const backend = new MemoryBackend();
    const clock = { now: T0 };
    const ctx = opContext(backend, clock, contextDirs(work, 'writer'));
    const exitCode = (code: number) => (err: unknown) => err instanceof PermafrostError && err.exitCode === code;
    await assert.rejects(backup(ctx, backupRequest(source, 'incremental')), exitCode(ExitCode.noSignatures));
    assert.deepEqual(await backend.list(), []);
    await backup(ctx, { ...backupRequest(source, 'full'), dryRun: true });
    assert.deepEqual(await backend.list(), []);
    await backup(ctx, backupRequest(source, 'full'));
    const stored = (await backend.list()).map((o) => o.name).sort();
    assert.equal(stored.length, 3, stored.join(' '));
    assert.ok(!stored.some((n) => n.includes('lock')), 'the target lock is given up');
    await assert.rejects(backup(ctx, backupRequest(source, 'full')), exitCode(ExitCode.timeNotAfterLast));
    assert.deepEqual((await backend.list()).map((o) => o.name).sort(), stored);
  });

  it('a restore into a non-empty directory is refused with its exit code and writes nothing', async (t) => {
    const work = tmpDir(t, 'in-process');
    const source = join(work, 'source');
    buildTree(source, { entries: [{ kind: 'file', path: 'a.txt', content: 'a' }] });
    const backend = new MemoryBackend();
    const ctx = opContext(backend, { now: T0 }, contextDirs(work, 'writer'));
    await backup(ctx, backupRequest(source, 'full'));
    const dest = join(work, 'dest');
    buildTree(dest, { entries: [{ kind: 'file', path: 'keep.txt', content: 'mine' }] });
    await assert.rejects(
      restore(ctx, restoreRequest(dest)),
      (err: unknown) => err instanceof PermafrostError && err.exitCode === ExitCode.restoreDestExists,
    );
    assert.deepEqual(readdirSync(dest), ['keep.txt']);
    assert.equal(readFileSync(join(dest, 'keep.txt'), 'utf8'), 'mine');
  });

  it('encrypted with a passphrase: .gpg names, no plaintext on the target, a restore with the passphrase gives the tree back and one with another is refused', async (t) => {
    const work = tmpDir(t, 'in-process');
    const source = join(work, 'source');
    buildTree(source, hostileTreeSpec(7, { smallFiles: 20, largeSize: 300_000 }));
    const backend = new MemoryBackend();
    const clock = { now: T0 };
    const writer = opContext(backend, clock, { ...contextDirs(work, 'writer'), encryption: symmetric('correct horse') });
    await backup(writer, backupRequest(source, 'full'));
    mutateTree(source, 7, 1, T0 - 5000);
    clock.now += HOUR;
    assert.equal((await backup(writer, backupRequest(source, 'incremental'))).type, 'inc');

    const listed = await backend.list();
    assert.ok(listed.length > 0 && listed.every((o) => o.name.endsWith('.gpg')), listed.map((o) => o.name).join(' '));
    for (const o of listed) {
      const bytes = await readAll(await backend.get(o.name));
      assert.equal(bytes.indexOf('in-process-host'), -1, `${o.name} holds plaintext`);
    }

    const dest = join(work, 'restored');
    await restore(
      opContext(backend, clock, { ...contextDirs(work, 'reader'), encryption: symmetric('correct horse') }),
      restoreRequest(dest),
    );
    assertSameTree(source, dest, EXACT);

    const wrong = opContext(backend, clock, { ...contextDirs(work, 'wrong'), encryption: symmetric('wrong passphrase') });
    await assert.rejects(restore(wrong, restoreRequest(join(work, 'never'))), (err: unknown) => {
      assert.ok(err instanceof OpenPgpError, String(err));
      assert.match(err.message, /wrong passphrase/);
      assert.doesNotMatch(err.message, /correct horse/);
      return true;
    });
    assert.ok(!existsSync(join(work, 'never', LARGE_FILE)), 'nothing restored');
  });
});
