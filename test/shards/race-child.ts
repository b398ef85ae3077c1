/**
 * One of several processes racing on a sharded target's control objects, once a start file
 * appears. Usage:
 *   node race-child.ts <start-file> catalogue <index> <shards> file <dir> | s3 <url> <endpoint>
 *     registers generation 1 and records shard <index>; prints {"complete": bool} after its write
 *   node race-child.ts <start-file> plan <index> <shards> file <dir> | s3 <url> <endpoint>
 *     reads or creates generation 1's plan, from a tree that differs per child; prints the plan it
 *     uses and whether it walked (PLAN_STALE_MS: when another worker's claim counts as abandoned)
 * (S3 credentials from the environment.)
 */
import { existsSync } from 'node:fs';
import { FileBackend } from '../../src/backend/file-backend.ts';
import { S3Backend } from '../../src/backend/s3-backend.ts';
import { parseS3Url } from '../../src/backend/s3-url.ts';
import type { Backend } from '../../src/backend/backend.ts';
import { updateCatalogue, withGeneration, withShardDone } from '../../src/ops/shards/catalogue.ts';
import { readOrCreatePlan } from '../../src/ops/shards/plan-store.ts';
import { emptyDir, makePlan, planToJson } from '../../src/ops/shards/plan.ts';

const [startFile, what, indexText, shardsText, kind, where, endpoint] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  string,
  string?,
];
const index = Number(indexText);
const shards = Number(shardsText);
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
        { debug() {}, warning() {} },
      );

while (!existsSync(startFile)) await new Promise((r) => setTimeout(r, 1));
try {
  if (what === 'catalogue') {
    const T = 1_800_000_000;
    await updateCatalogue(backend.conditional, where, (c) => withGeneration(c, { generation: 1, shards, plan: 'plan-1.json', started: T }));
    const after = await updateCatalogue(backend.conditional, where, (c) =>
      withShardDone(c, 1, index, { full: T + index, last: T + index }, T + 100 + index),
    );
    process.stdout.write(`${JSON.stringify({ complete: after.generations[0]!.complete !== undefined })}\n`);
  } else {
    // each child sees a different tree, as workers starting at different moments would
    let walked = false;
    const started = Date.now();
    const stored = await readOrCreatePlan(
      backend.conditional,
      1,
      where,
      async () => {
        walked = true;
        // a walk takes a while: long enough for every other worker to find the claim
        await new Promise((r) => setTimeout(r, 300));
        const root = emptyDir();
        for (let d = 0; d < 20; d++) {
          const sub = emptyDir();
          sub.bytes = 1000 * (d + 1) * (index + 1) + (d === index ? 1e6 : 0);
          sub.entries = 10 + d;
          root.dirs.set(`d${d}`, sub);
          root.bytes += sub.bytes;
          root.entries += sub.entries;
        }
        return makePlan(root, shards);
      },
      1_800_000_000 + index,
      { refreshMs: 200, staleMs: Number(process.env['PLAN_STALE_MS'] ?? 5000), pollMs: 50 },
    );
    process.stdout.write(
      `${JSON.stringify({ madeHere: stored.madeHere, walked, waitedMs: Date.now() - started, plan: planToJson(stored.plan, stored.generation, stored.created) })}\n`,
    );
  }
} finally {
  await backend.close();
}
