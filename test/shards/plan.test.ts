/**
 * The shard plan (src/ops/shards/plan.ts), property-tested: deterministic, every path in exactly
 * one shard (split directories in all), balanced by bytes and entries on skewed trees, big
 * directories split by name hash, and the written form read back to the same decisions.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { PathIndex } from '../../src/core/path-index.ts';
import {
  emptyDir,
  makePlan,
  membership,
  planFromJson,
  planToJson,
  shardOf,
  sharedDirectories,
  type DirSummary,
  type ShardPlan,
} from '../../src/ops/shards/plan.ts';

interface FileSpec {
  readonly path: PathIndex;
  readonly bytes: number;
}

/** A random tree: files (and their directories) given by path, with sizes. */
const fileArb = fc.record({
  dirs: fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'ä', 'big', 'x y'), { minLength: 0, maxLength: 4 }),
  name: fc.string({ minLength: 1, maxLength: 8 }).filter((s) => !s.includes('/') && s !== '.' && s !== '..' && !s.includes('\0')),
  bytes: fc.nat({ max: 5_000_000 }),
});
const treeArb = fc.array(fileArb, { minLength: 1, maxLength: 120 }).map(uniqueFiles);

function uniqueFiles(raw: readonly { dirs: string[]; name: string; bytes: number }[]): FileSpec[] {
  const seen = new Set<string>();
  const dirPaths = new Set<string>();
  const out: FileSpec[] = [];
  for (const f of raw) {
    for (let i = 1; i <= f.dirs.length; i++) dirPaths.add(f.dirs.slice(0, i).join('/'));
  }
  for (const f of raw) {
    const key = [...f.dirs, `f-${f.name}`].join('/');
    if (seen.has(key) || dirPaths.has(key)) continue;
    seen.add(key);
    out.push({ path: [...f.dirs, `f-${f.name}`].map((c) => Buffer.from(c)), bytes: f.bytes });
  }
  return out;
}

/** What the tree walk (tree-summary.ts) would make of these files. */
function summarize(files: readonly FileSpec[]): DirSummary {
  const root = emptyDir();
  for (const f of files) {
    let dir = root;
    const chain = [root];
    for (const c of f.path.slice(0, -1)) {
      const key = c.toString('latin1');
      let sub = dir.dirs.get(key);
      if (!sub) {
        sub = emptyDir();
        dir.dirs.set(key, sub);
        for (const d of chain) d.entries += 1;
      }
      dir = sub;
      chain.push(dir);
    }
    for (const d of chain) {
      d.bytes += f.bytes;
      d.entries += 1;
    }
    dir.directBytes += f.bytes;
    dir.directEntries += 1;
    if (f.bytes > 0) dir.bigFiles.set(f.path.at(-1)!.toString('latin1'), f.bytes);
  }
  return root;
}

function loads(plan: ShardPlan, files: readonly FileSpec[]): { bytes: number; files: number }[] {
  const l = Array.from({ length: plan.shards }, () => ({ bytes: 0, files: 0 }));
  for (const f of files) {
    const s = shardOf(plan, f.path);
    assert.notEqual(s, 'shared', 'a file is never shared');
    l[s as number]!.bytes += f.bytes;
    l[s as number]!.files += 1;
  }
  return l;
}

describe('shard plan', () => {
  it('is deterministic: the same tree gives the same plan, byte for byte', () => {
    fc.assert(
      fc.property(treeArb, fc.integer({ min: 1, max: 9 }), (files, n) => {
        const a = JSON.stringify(planToJson(makePlan(summarize(files), n), 1, 0));
        const b = JSON.stringify(planToJson(makePlan(summarize([...files].reverse()), n), 1, 0));
        assert.equal(a, b);
      }),
      { numRuns: 150 },
    );
  });

  it('puts every path in exactly one shard, and every directory on the way in that shard too', () => {
    fc.assert(
      fc.property(treeArb, fc.integer({ min: 1, max: 9 }), (files, n) => {
        const plan = makePlan(summarize(files), n);
        for (const f of files) {
          const owners = Array.from({ length: n }, (_, s) => s).filter((s) => membership(plan, s, f.path) === 'own');
          assert.equal(owners.length, 1, `${f.path.join('/')} is in shards ${owners.join(',')}`);
          // every ancestor is shared or the same shard's: restoring that shard alone recreates the path
          for (let k = 0; k < f.path.length; k++) {
            const m = membership(plan, owners[0]!, f.path.slice(0, k));
            assert.notEqual(m, 'other', `ancestor ${f.path.slice(0, k).join('/')} of ${f.path.join('/')} is outside its shard`);
          }
        }
        // the root is always shared
        assert.equal(shardOf(plan, []), 'shared');
      }),
      { numRuns: 150 },
    );
  });

  it('decides paths created after planning too (by name hash), the same way on every read of the plan', () => {
    fc.assert(
      fc.property(
        treeArb,
        fc.integer({ min: 2, max: 9 }),
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 3 }),
        (files, n, extra) => {
          const plan = makePlan(summarize(files), n);
          const read = planFromJson(JSON.parse(JSON.stringify(planToJson(plan, 3, 7)))).plan;
          const index = extra.map((b) => Buffer.from(b));
          const s = shardOf(plan, index);
          assert.deepEqual(shardOf(read, index), s);
          if (s !== 'shared') assert.ok(s >= 0 && s < n);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('writes names that are not UTF-8 as base64 and reads them back exactly', () => {
    const bad = Buffer.from([0x62, 0xff, 0xfe]);
    const files: FileSpec[] = [];
    for (let i = 0; i < 50; i++) files.push({ path: [bad, Buffer.from(`f${i}`)], bytes: 1_000_000 });
    files.push({ path: [Buffer.from('small')], bytes: 10 });
    const plan = makePlan(summarize(files), 4);
    const json = planToJson(plan, 1, 0);
    assert.ok(JSON.stringify(json).includes(`{"b64":"${bad.toString('base64')}"}`));
    const read = planFromJson(JSON.parse(JSON.stringify(json))).plan;
    for (const f of files) assert.equal(shardOf(read, f.path), shardOf(plan, f.path));
  });

  it('balances a skewed tree (one directory with half the bytes) by bytes and by file count', () => {
    const files: FileSpec[] = [];
    // half the bytes in one directory of many files
    for (let i = 0; i < 2000; i++) files.push({ path: [Buffer.from('huge'), Buffer.from(`part-${i}`)], bytes: 50_000 });
    // the other half over many small directories, with uneven sizes
    for (let d = 0; d < 40; d++)
      for (let i = 0; i < 50; i++)
        files.push({ path: [Buffer.from(`d${d}`), Buffer.from(`f${i}`)], bytes: 1000 + ((d * 7919 + i * 104729) % 99_000) });
    const total = files.reduce((a, f) => a + f.bytes, 0);
    for (const n of [2, 3, 4, 8]) {
      const plan = makePlan(summarize(files), n);
      const l = loads(plan, files);
      const maxBytes = Math.max(...l.map((x) => x.bytes));
      const maxFiles = Math.max(...l.map((x) => x.files));
      assert.ok(maxBytes <= (total / n) * 1.15, `N=${n}: biggest shard ${maxBytes} bytes vs ideal ${Math.round(total / n)}`);
      assert.ok(maxFiles <= (files.length / n) * 1.15, `N=${n}: biggest shard ${maxFiles} files vs ideal ${files.length / n}`);
      // the big directory is split (named in the plan, shared by every shard)
      assert.ok(
        sharedDirectories(plan).some((i) => i.length === 1 && i[0]!.toString() === 'huge'),
        `N=${n}: huge/ is not split`,
      );
    }
  });

  it('balances random trees within one big unit of the ideal share', () => {
    fc.assert(
      fc.property(treeArb, fc.integer({ min: 2, max: 6 }), (files, n) => {
        const plan = makePlan(summarize(files), n);
        const l = loads(plan, files);
        const total = files.reduce((a, f) => a + f.bytes, 0);
        const biggestFile = Math.max(...files.map((f) => f.bytes));
        const maxBytes = Math.max(...l.map((x) => x.bytes));
        // LPT: no shard exceeds the ideal by more than the largest indivisible piece, plus bucket estimates
        assert.ok(
          maxBytes <= total / n + biggestFile + total / (2 * n),
          `max ${maxBytes}, ideal ${total / n}, biggest file ${biggestFile}`,
        );
      }),
      { numRuns: 100 },
    );
  });

  it('gives everything to shard 0 with one shard', () => {
    const files = [{ path: [Buffer.from('a'), Buffer.from('b')], bytes: 5 }];
    const plan = makePlan(summarize(files), 1);
    assert.equal(shardOf(plan, files[0]!.path), 0);
  });

  it('refuses a plan file that is not one', () => {
    assert.throws(() => planFromJson({ format: 'x' }), /not a permafrost shard plan/);
    const good = planToJson(makePlan(summarize([{ path: [Buffer.from('a')], bytes: 1 }]), 2), 1, 0);
    assert.throws(() => planFromJson({ ...good, root: { named: [], buckets: [0, 7] } }), /bad shard number 7/);
  });
});
