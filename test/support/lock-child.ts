/**
 * A process that takes the target lock (src/archive/target-lock.ts) once a start file appears,
 * holds it for a while and releases it; it prints `won` or `locked: <message>`. Several of them
 * started at once race for one lock. Usage:
 *   node lock-child.ts <start-file> <hold-ms> file <dir>
 *   node lock-child.ts <start-file> <hold-ms> s3 <url> <endpoint>
 * (S3 credentials from the environment.)
 */
import { existsSync } from 'node:fs';
import { FileBackend } from '../../src/backend/file-backend.ts';
import { S3Backend } from '../../src/backend/s3-backend.ts';
import { parseS3Url } from '../../src/backend/s3-url.ts';
import { LockedError } from '../../src/archive/metadata-cache.ts';
import { DEFAULT_TARGET_LOCK_TIMING, TargetLock } from '../../src/archive/target-lock.ts';
import type { Backend } from '../../src/backend/backend.ts';

const [startFile, holdMs, kind, where, endpoint] = process.argv.slice(2) as [string, string, string, string, string?];
const quiet = { debug() {}, warning() {} };
const backend: Backend =
  kind === 'file'
    ? new FileBackend(where, `file://${where}`)
    : new S3Backend(
        parseS3Url(where),
        {
          region: 'us-east-1',
          dataStorageClass: 'STANDARD',
          multipartThreshold: 5 << 20,
          partSize: 5 << 20,
          partConcurrency: 1,
          maxAttempts: 3,
          timeoutMs: 10_000,
          maxBackoffMs: 50,
          endpoint: endpoint!,
        },
        where,
        quiet,
      );

while (!existsSync(startFile)) await new Promise((r) => setTimeout(r, 1));
try {
  const lock = await TargetLock.take(backend, {
    name: 'permafrost-target.lock',
    operation: 'race',
    timing: DEFAULT_TARGET_LOCK_TIMING,
    warn: () => {},
  });
  process.stdout.write('won\n');
  await new Promise((r) => setTimeout(r, Number(holdMs)));
  await lock.assertHeld();
  await lock.release();
} catch (err) {
  if (!(err instanceof LockedError)) throw err;
  process.stdout.write(`locked: ${err.message}\n`);
} finally {
  await backend.close();
}
