/**
 * The target lock and no-overwrite writes on S3 (moto 5.2.5, which enforces If-None-Match on
 * PutObject and CompleteMultipartUpload, and If-Match on PutObject and DeleteObject): the
 * backend's conditional writes, processes racing for one stale lock, and the writers-side-by-side
 * scenarios of test/support/lock-scenarios.ts through real permafrost processes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { BackendError } from '../../src/backend/backend.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { raceForLock } from '../support/lock-race.ts';
import {
  backupBesideBackup,
  cleanupBesideBackup,
  lockTakenOverMidway,
  LockScenario,
  retentionBesideBackup,
  signalReleasesLock,
  T0,
  T1,
  volumeDeletedMidway,
  type LockTarget,
} from '../support/lock-scenarios.ts';
import { backendFor, createBucket, envCredentials, getObject, hermeticEnv, inspector, openUploads } from './helpers.ts';

Object.assign(process.env, envCredentials(), {
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
  AWS_CONFIG_FILE: '/nonexistent',
});

const hooks = fileCleanup();
let moto: MotoServer;
let bucketNo = 0;

before(async () => {
  moto = await startMoto(hooks);
});

async function freshBucket(): Promise<string> {
  const bucket = `lock-test-${++bucketNo}`;
  await createBucket(moto.endpoint, bucket);
  return bucket;
}

async function s3Target(work: string, extraEnv: Record<string, string> = {}): Promise<{ target: LockTarget; bucket: string }> {
  const bucket = await freshBucket();
  const prefix = 'backups/host1/';
  const names = async () => {
    const c = inspector(moto.endpoint);
    try {
      const out = await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
      return (out.Contents ?? []).map((o) => o.Key!.slice(prefix.length));
    } finally {
      c.destroy();
    }
  };
  const remove = async (name: string) => {
    const c = inspector(moto.endpoint);
    try {
      await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: prefix + name }));
    } finally {
      c.destroy();
    }
  };
  const target = {
    url: `boto3+s3://${bucket}/${prefix.slice(0, -1)}`,
    extraArgs: ['--s3-endpoint-url', moto.endpoint],
    env: hermeticEnv({ ...envCredentials(), ...extraEnv }, work),
    names,
    remove,
  };
  return { target, bucket };
}

async function scenario(t: { after(fn: () => void): void }, label: string): Promise<LockScenario> {
  const work = tmpDir(t, label);
  return new LockScenario(work, (await s3Target(work)).target);
}

describe('S3 conditional writes (moto)', () => {
  it('create if absent, replace and delete only if unchanged', async () => {
    const bucket = await freshBucket();
    const { backend } = backendFor(`boto3+s3://${bucket}/p`, moto.endpoint);
    const c = backend.conditional;
    assert.equal(await c.read('lock'), null);
    const tag1 = await c.write('lock', Buffer.from('one'), 'absent');
    assert.ok(tag1);
    assert.equal(await c.write('lock', Buffer.from('two'), 'absent'), null);
    const seen = await c.read('lock');
    assert.equal(seen?.bytes.toString(), 'one');
    assert.equal(seen?.tag, tag1);
    assert.ok(Math.abs(seen!.modified - Date.now() / 1000) < 120);
    const tag2 = await c.write('lock', Buffer.from('three'), { tag: tag1 });
    assert.ok(tag2 && tag2 !== tag1);
    assert.equal(await c.write('lock', Buffer.from('four'), { tag: tag1 }), null, 'a stale tag replaces nothing');
    assert.equal(await c.remove('lock', tag1), false, 'a stale tag deletes nothing');
    assert.equal((await c.read('lock'))?.bytes.toString(), 'three');
    assert.equal(await c.remove('lock', tag2), true);
    assert.equal(await c.read('lock'), null);
    assert.equal(await c.write('lock', Buffer.from('five'), { tag: tag2 }), null, 'If-Match on a missing key');
    await backend.close();
  });

  for (const [kind, size] of [
    ['single PUT', 1000],
    ['multipart upload', 6 * 1024 * 1024 + 17],
  ] as const) {
    it(`never replaces an object (${kind}): exists error, the object and no upload left`, async (t) => {
      const bucket = await freshBucket();
      const dir = tmpDir(t, 's3-noover');
      const { backend } = backendFor(`boto3+s3://${bucket}/p`, moto.endpoint);
      const first = join(dir, 'first');
      const second = join(dir, 'second');
      writeFileSync(first, randomBytes(size));
      writeFileSync(second, randomBytes(size));
      await backend.putFile(first, 'vol', { role: 'volume' });
      await assert.rejects(backend.putFile(second, 'vol', { role: 'volume' }), (err: Error) => {
        assert.ok(err instanceof BackendError && err.code === 'exists', String(err));
        assert.equal(err.message, `s3://${bucket}/p/vol already exists; it is never replaced`);
        return true;
      });
      assert.deepEqual(await getObject(moto.endpoint, bucket, 'p/vol'), await import('node:fs').then((f) => f.readFileSync(first)));
      assert.deepEqual(await openUploads(moto.endpoint, bucket), []);
      // the same bytes again (a retry whose first answer was lost) is no conflict
      await backend.putFile(first, 'vol', { role: 'volume' });
      await backend.close();
    });
  }

  it('processes taking over one stale lock at once: exactly one wins, each time', async (t) => {
    const bucket = await freshBucket();
    const dir = tmpDir(t, 's3-race');
    const url = `boto3+s3://${bucket}/p`;
    const c = inspector(moto.endpoint);
    try {
      for (let round = 0; round < 3; round++) {
        // moto's LastModified cannot be set back: the stale lock names a dead process of this host
        const body = JSON.stringify({
          host: (await import('node:os')).hostname(),
          pid: 999_999_999,
          operation: 'stale',
          since: '2027-01-15T08:00:00.000Z',
          refreshed: 'x',
          token: `r${round}`,
        });
        await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'p/permafrost-target.lock', Body: body }));
        const results = await raceForLock(dir, round, 4, ['s3', url, moto.endpoint], process.env);
        assert.equal(results.filter((r) => r === 'won').length, 1, results.join('\n'));
        for (const r of results.filter((x) => x !== 'won')) assert.match(r, /^locked: the target .* is locked by race on host /);
      }
    } finally {
      c.destroy();
    }
  });
});

describe('target lock on S3 (moto): writers side by side', () => {
  it('a second backup with the same cache exits 23 naming the holder; the first restores', async (t) => {
    await backupBesideBackup(await scenario(t, 's3-lock-bb-same'), true);
  });

  it('a second backup with another cache exits 23; nothing is lost', async (t) => {
    await backupBesideBackup(await scenario(t, 's3-lock-bb-other'), false);
  });

  it('cleanup --force during a backup exits 23 and deletes none of its volumes', async (t) => {
    await cleanupBesideBackup(await scenario(t, 's3-lock-bc'));
  });

  it('remove-all-but-n-full --force during a backup exits 23; it runs once the backup is done', async (t) => {
    await retentionBesideBackup(await scenario(t, 's3-lock-br'));
  });

  it('a volume deleted before the manifest is written fails the backup, which writes no manifest', async (t) => {
    await volumeDeletedMidway(await scenario(t, 's3-lock-vol-gone'));
  });

  it('a backup stopped by SIGTERM removes its lock and writes no manifest; the next run goes ahead', async (t) => {
    await signalReleasesLock(await scenario(t, 's3-lock-sigterm'));
  });

  it('a backup whose lock was taken over while it stalled exits 23 before its manifest', async (t) => {
    const work = tmpDir(t, 's3-lock-lost');
    const { target, bucket } = await s3Target(work);
    const key = 'backups/host1/permafrost-target.lock';
    await lockTakenOverMidway(
      new LockScenario(work, target),
      async (content) => {
        const c = inspector(moto.endpoint);
        try {
          await c.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: content }));
        } finally {
          c.destroy();
        }
      },
      async () => (await getObject(moto.endpoint, bucket, key)).toString('utf8'),
    );
  });

  it('a lock not refreshed for the staleness time is taken over (PERMAFROST_TARGET_LOCK_STALE_SECONDS)', async (t) => {
    const work = tmpDir(t, 's3-lock-stale');
    const { target, bucket } = await s3Target(work, { PERMAFROST_TARGET_LOCK_STALE_SECONDS: '2' });
    const s = new LockScenario(work, target);
    await s.run('a', ['full', '--current-time', String(T0), s.source, target.url]);
    const c = inspector(moto.endpoint);
    try {
      const body = JSON.stringify({
        host: 'elsewhere',
        pid: 4242,
        operation: 'full backup',
        since: '2027-01-15T08:00:00.000Z',
        refreshed: 'x',
        token: 'x',
      });
      await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'backups/host1/permafrost-target.lock', Body: body }));
    } finally {
      c.destroy();
    }
    await s.run('a', ['incremental', '--current-time', String(T1), s.source, target.url], 23);
    await new Promise((r) => setTimeout(r, 3100));
    const r = await s.run('a', ['incremental', '--current-time', String(T1), s.source, target.url]);
    assert.match(
      r.stdout + r.stderr,
      /took over the target lock permafrost-target.lock from full backup on host elsewhere, pid 4242, .*: not refreshed for \d+ seconds \(stale after 2\)/,
    );
    assert.ok(!(await target.names()).includes('permafrost-target.lock'));
    await s.restoreMatches('b');
  });
});
