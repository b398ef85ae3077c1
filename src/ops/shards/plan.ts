/**
 * The shard plan: which paths of the source tree belong to which of N shards. Pure functions: a
 * plan is made once per generation from a summary of the tree (tree-summary.ts), written to the
 * target, and every worker decides membership from the written plan alone, so all of them agree
 * even when the tree changes between their starts.
 *
 * A plan is a tree of "split" directories. In a split directory, a child named in the plan goes
 * to one shard whole (a number) or is split itself (a nested node); every other child (small
 * files and directories, and anything created after planning) goes by a hash of its name to one
 * of the node's buckets, and each bucket to a shard. So the plan stays small (only the big
 * directories are named), and a path's shard never depends on what else exists.
 */
import type { PathIndex } from '../../core/path-index.ts';

/** A directory of the tree as the planner sees it: subtree totals and its subdirectories. */
export interface DirSummary {
  /** regular-file bytes in the subtree */
  bytes: number;
  /** entries in the subtree, the directory itself included */
  entries: number;
  /** bytes and entries of the non-directory children */
  directBytes: number;
  directEntries: number;
  /** subdirectories by name (latin1: byte-exact) */
  readonly dirs: Map<string, DirSummary>;
  /** regular files big enough to be placed by name, by name (latin1) → bytes */
  readonly bigFiles: Map<string, number>;
}

export interface SplitNode {
  /** children placed by name: a shard number (the whole subtree) or a nested split node */
  readonly named: Map<string, number | SplitNode>;
  /** bucket → shard, for every child not named */
  readonly buckets: readonly number[];
}

export interface ShardPlan {
  readonly shards: number;
  readonly root: SplitNode;
  /** what the planner expected each shard to hold (for messages and the balance test) */
  readonly expected: readonly { readonly bytes: number; readonly entries: number }[];
}

/** What a shard does with a path: it is the shard's own, every shard's (a split directory), or another shard's. */
export type Membership = 'own' | 'shared' | 'other';

export function emptyDir(): DirSummary {
  return { bytes: 0, entries: 1, directBytes: 0, directEntries: 0, dirs: new Map(), bigFiles: new Map() };
}

/** FNV-1a, 32 bits, over a name's bytes: stable across machines and versions, cheap per path. */
export function nameHash(name: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Buckets per split directory: a few per shard, so that the buckets alone can balance. */
export function bucketCount(shards: number): number {
  return Math.max(8, 4 * shards);
}

interface Unit {
  /** sort key: stable, so equal costs break ties the same way on every machine */
  readonly key: string;
  readonly bytes: number;
  readonly entries: number;
  readonly assign: (shard: number) => void;
}

/**
 * Plans `shards` shards over a summarized tree. A directory costing more than a quarter of one
 * shard's share is split; inside it, children costing more than an eighth of that limit are
 * placed by name, the rest by hash. Units go to the least loaded shard, biggest first (LPT).
 * Cost weighs bytes and entries equally, each as a fraction of the tree's total.
 */
export function makePlan(root: DirSummary, shards: number): ShardPlan {
  if (!Number.isInteger(shards) || shards < 1) throw new Error(`shards must be a positive integer, got ${shards}`);
  const totalBytes = Math.max(1, root.bytes);
  const totalEntries = Math.max(1, root.entries);
  const cost = (bytes: number, entries: number) => bytes / totalBytes + entries / totalEntries;
  const splitAbove = 2 / (4 * shards);
  const nameAbove = splitAbove / 8;
  const k = bucketCount(shards);
  const units: Unit[] = [];

  const split = (dir: DirSummary, path: string): SplitNode => {
    const named = new Map<string, number | SplitNode>();
    const buckets = new Array<number>(k).fill(0);
    const bucketBytes = new Array<number>(k).fill(0);
    const bucketEntries = new Array<number>(k).fill(0);
    let looseBytes = dir.directBytes;
    let looseEntries = dir.directEntries;
    for (const [name, bytes] of [...dir.bigFiles].sort(byName)) {
      if (cost(bytes, 1) <= nameAbove) continue;
      looseBytes -= bytes;
      looseEntries -= 1;
      named.set(name, 0);
      units.push({ key: `${path}/${name}`, bytes, entries: 1, assign: (s) => named.set(name, s) });
    }
    for (const [name, sub] of [...dir.dirs].sort(byName)) {
      const c = cost(sub.bytes, sub.entries);
      if (c > splitAbove) named.set(name, split(sub, `${path}/${name}`));
      else if (c > nameAbove) {
        named.set(name, 0);
        units.push({ key: `${path}/${name}`, bytes: sub.bytes, entries: sub.entries, assign: (s) => named.set(name, s) });
      } else {
        const b = nameHash(Buffer.from(name, 'latin1')) % k;
        bucketBytes[b]! += sub.bytes;
        bucketEntries[b]! += sub.entries;
      }
    }
    // files not named are counted, not listed: spread evenly, which the hash does for many files
    for (let b = 0; b < k; b++) {
      bucketBytes[b]! += Math.max(0, looseBytes) / k;
      bucketEntries[b]! += Math.max(0, looseEntries) / k;
      units.push({
        key: `${path}/#${String(b).padStart(6, '0')}`,
        bytes: bucketBytes[b]!,
        entries: bucketEntries[b]!,
        assign: (s) => {
          buckets[b] = s;
        },
      });
    }
    return { named, buckets };
  };

  const plan = split(root, '');
  const load = Array.from({ length: shards }, () => ({ bytes: 0, entries: 0 }));
  // every shard holds the split directories themselves: count them for all
  const sharedEntries = countSplit(plan);
  for (const l of load) l.entries += sharedEntries;
  units.sort((a, b) => cost(b.bytes, b.entries) - cost(a.bytes, a.entries) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const u of units) {
    let best = 0;
    for (let s = 1; s < shards; s++) if (cost(load[s]!.bytes, load[s]!.entries) < cost(load[best]!.bytes, load[best]!.entries)) best = s;
    u.assign(best);
    load[best]!.bytes += u.bytes;
    load[best]!.entries += u.entries;
  }
  return { shards, root: plan, expected: load.map((l) => ({ bytes: Math.round(l.bytes), entries: Math.round(l.entries) })) };
}

function byName(a: [string, unknown], b: [string, unknown]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

function countSplit(node: SplitNode): number {
  let n = 1;
  for (const child of node.named.values()) if (typeof child !== 'number') n += countSplit(child);
  return n;
}

/** Which shard a path belongs to, or 'shared' for the root and split directories. */
export function shardOf(plan: ShardPlan, index: PathIndex): number | 'shared' {
  let node = plan.root;
  for (let i = 0; i < index.length; i++) {
    const name = index[i]!;
    const child = node.named.get(Buffer.from(name).toString('latin1'));
    if (child === undefined) return node.buckets[nameHash(name) % node.buckets.length]!;
    if (typeof child === 'number') return child;
    node = child;
  }
  return 'shared';
}

export function membership(plan: ShardPlan, shard: number, index: PathIndex): Membership {
  const s = shardOf(plan, index);
  return s === 'shared' ? 'shared' : s === shard ? 'own' : 'other';
}

/** The split directories (shared by every shard), root first: their metadata is set once after a whole restore. */
export function sharedDirectories(plan: ShardPlan): PathIndex[] {
  const out: PathIndex[] = [];
  const visit = (node: SplitNode, index: PathIndex) => {
    out.push(index);
    for (const [name, child] of node.named) if (typeof child !== 'number') visit(child, [...index, Buffer.from(name, 'latin1')]);
  };
  visit(plan.root, []);
  return out;
}

// --- the plan as JSON: names as UTF-8 text where they are, else base64 ------------------------

interface NodeJson {
  readonly named: [NameJson, number | NodeJson][];
  readonly buckets: number[];
}
type NameJson = string | { readonly b64: string };

export interface PlanJson {
  readonly format: 'permafrost-shard-plan/1';
  readonly generation: number;
  readonly shards: number;
  /** epoch seconds the plan was made */
  readonly created: number;
  readonly expected: { bytes: number; entries: number }[];
  readonly root: NodeJson;
}

export function planToJson(plan: ShardPlan, generation: number, created: number): PlanJson {
  const node = (n: SplitNode): NodeJson => ({
    named: [...n.named].map(([name, child]) => [nameToJson(name), typeof child === 'number' ? child : node(child)]),
    buckets: [...n.buckets],
  });
  return {
    format: 'permafrost-shard-plan/1',
    generation,
    shards: plan.shards,
    created,
    expected: plan.expected.map((e) => ({ ...e })),
    root: node(plan.root),
  };
}

/** Reads a plan written by planToJson; throws on anything else (the caller names the object). */
export function planFromJson(raw: unknown): { plan: ShardPlan; generation: number; created: number } {
  const j = raw as PlanJson;
  if (j === null || typeof j !== 'object' || j.format !== 'permafrost-shard-plan/1') throw new Error('not a permafrost shard plan');
  const shards = j.shards;
  if (!Number.isInteger(shards) || shards < 1) throw new Error('bad shard count');
  const shard = (v: unknown): number => {
    if (!Number.isInteger(v) || (v as number) < 0 || (v as number) >= shards) throw new Error(`bad shard number ${String(v)}`);
    return v as number;
  };
  const node = (n: NodeJson): SplitNode => {
    if (!Array.isArray(n?.named) || !Array.isArray(n.buckets) || n.buckets.length === 0) throw new Error('bad plan node');
    const named = new Map<string, number | SplitNode>();
    for (const [name, child] of n.named) named.set(nameFromJson(name), typeof child === 'number' ? shard(child) : node(child));
    return { named, buckets: n.buckets.map(shard) };
  };
  return {
    plan: { shards, root: node(j.root), expected: Array.isArray(j.expected) ? j.expected : [] },
    generation: j.generation,
    created: j.created,
  };
}

function nameToJson(latin1: string): NameJson {
  const bytes = Buffer.from(latin1, 'latin1');
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : { b64: bytes.toString('base64') };
}

function nameFromJson(n: NameJson): string {
  if (typeof n === 'string') return Buffer.from(n, 'utf8').toString('latin1');
  if (n !== null && typeof n === 'object' && typeof n.b64 === 'string') return Buffer.from(n.b64, 'base64').toString('latin1');
  throw new Error('bad name in plan');
}
