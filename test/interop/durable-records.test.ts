/**
 * Manifests that carry permafrost's upload records (`PermafrostStored`, `PermafrostSignatureStored`:
 * written for object stores) stay duplicity's: permafrost backs a chain up to S3 (moto), the bucket
 * is copied byte for byte into a directory, and there duplicity 0.8.22 and 3.x list it
 * (collection-status), restore every point, extend it with their own incrementals (which
 * permafrost then restores), and find nothing to clean up.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { backupStep, newChain, remoteFiles, restoreAndCompare, type Chain } from '../support/chain.ts';
import type { BackupOptions, BackupTool, RunResult } from '../support/cli.ts';
import { duplicities, requireDuplicity } from '../support/duplicity.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { permafrost } from '../support/permafrost.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { createBucket, describe as describeRun, envCredentials, getObject, hermeticEnv, inspector, runCli } from '../s3/helpers.ts';
import { parseManifest } from '../../src/codec/manifest.ts';

const hooks = fileCleanup();
const BUCKET = 'records-interop';
let moto: MotoServer;

before(async () => {
  requireDuplicity();
  moto = await startMoto(hooks);
  await createBucket(moto.endpoint, BUCKET);
});

/** permafrost backing up to moto under `prefix` (STANDARD, so the objects can be copied out); other verbs as usual. */
function permafrostToS3(prefix: string, work: string): BackupTool {
  const backup =
    (kind: 'full' | 'incremental') =>
    async (source: string, _url: string, o: BackupOptions): Promise<RunResult> => {
      const args = [
        kind,
        '--no-encryption',
        ...(o.compression === false ? ['--no-compression'] : []),
        '--volsize',
        String(o.volsize ?? 1),
        ...(o.currentTime !== undefined ? ['--current-time', String(o.currentTime)] : []),
        '--archive-dir',
        o.archiveDir,
        '--name',
        o.name,
        '--s3-endpoint-url',
        moto.endpoint,
        source,
        `boto3+s3://${BUCKET}/${prefix}`,
      ];
      const r = await runCli(args, hermeticEnv(envCredentials(), work));
      assert.equal(r.code, 0, `permafrost ${kind} to S3\n${describeRun(r)}`);
      return { ...r, command: `permafrost ${args.join(' ')}` };
    };
  return { ...permafrost, full: backup('full'), incremental: backup('incremental') };
}

/** Copies every object under `prefix` into the chain's remote directory, as `aws s3 sync` would. */
async function mirror(chain: Chain, prefix: string): Promise<string[]> {
  mkdirSync(chain.remote, { recursive: true });
  const c = inspector(moto.endpoint);
  let keys: string[];
  try {
    keys = ((await c.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }))).Contents ?? []).map((o) => o.Key!);
  } finally {
    c.destroy();
  }
  for (const key of keys) writeFileSync(join(chain.remote, key.slice(prefix.length)), await getObject(moto.endpoint, BUCKET, key));
  return keys.map((k) => k.slice(prefix.length));
}

for (const compression of [true, false]) {
  describe(`${compression ? 'gzip' : 'plain'} volumes`, () => {
    it('duplicity 0.8.22 and 3.x list, restore, extend and clean up a permafrost chain whose manifests carry upload records', async (t) => {
      const prefix = `c-${compression ? 'gz' : 'plain'}/`;
      const chain = newChain(tmpDir(t, 'records'), { seed: compression ? 41 : 42, compression, volsize: 1 });
      const writer = permafrostToS3(prefix, chain.work);
      await backupStep(chain, writer, 'full');
      for (let i = 0; i < 2; i++) await backupStep(chain, writer, 'incremental');
      const names = await mirror(chain, prefix);

      // every manifest records each of its volumes and its signature file, as stored
      const manifests = names.filter((n) => n.endsWith('.manifest'));
      assert.equal(manifests.length, 3);
      let volumes = 0;
      for (const m of manifests) {
        const parsed = parseManifest(readFileSync(join(chain.remote, m)));
        assert.ok(parsed.signatureStored, `${m} records its signature file`);
        for (const v of parsed.volumes) {
          volumes++;
          const file = names.find((n) => n.startsWith(m.replace(/\.manifest$/, `.vol${v.volume}.difftar`)));
          assert.ok(file && v.stored, `${m} volume ${v.volume}`);
          assert.equal(v.stored.size, readFileSync(join(chain.remote, file)).length, file);
        }
      }
      assert.ok(volumes > manifests.length, 'volumes rotate');

      for (const dup of duplicities) {
        await t.test(`${dup.label} sees one complete chain`, async () => {
          const r = await dup.collectionStatus(chain.url, {
            archiveDir: join(chain.work, `status-${dup.label.replace(/\W+/g, '-')}`),
            name: chain.name,
            compression,
          });
          assert.match(r.stdout, /Found primary backup chain with matching signature chain/);
          assert.match(r.stdout, new RegExp(`Number of contained backup sets: ${chain.points.length}`));
          assert.match(r.stdout, /No orphaned or incomplete backup sets found/);
        });
        for (const point of chain.points.filter((p) => p.writer === writer.label)) {
          await t.test(`${dup.label} restores step ${point.step}`, () => restoreAndCompare(chain, dup, point));
        }
      }
      // each duplicity extends the chain in turn; permafrost and that duplicity restore the new point
      for (const dup of duplicities) {
        await t.test(`${dup.label} extends the chain`, async () => {
          const point = await backupStep(chain, dup, 'incremental');
          await restoreAndCompare(chain, permafrost, point);
          await restoreAndCompare(chain, dup, point);
        });
      }
      for (const dup of duplicities) {
        await t.test(`${dup.label} cleanup --force finds nothing to delete`, async () => {
          const files = remoteFiles(chain);
          await dup.cleanup(chain.url, {
            archiveDir: join(chain.work, `cleanup-${dup.label.replace(/\W+/g, '-')}`),
            name: chain.name,
            compression,
            force: true,
          });
          assert.deepEqual(remoteFiles(chain), files);
        });
      }
    });
  });
}
