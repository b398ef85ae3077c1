/**
 * Safety properties of planRetention over random targets (sets with or without manifests,
 * signature files, cache files), whatever the verb: the active chain and its signatures are never
 * planned, only chains ending before the removal time are, the -inc- verb never plans a full set,
 * and no file is planned twice. What it decides is compared with duplicity in retention.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { buildCollection } from '../../src/archive/collection.ts';
import { NO_PREFIXES, parseRemoteName } from '../../src/codec/remote-name.ts';
import { planRetention, type RetentionRequest } from '../../src/ops/retention/retention.ts';

const T0 = 1_800_000_000;
const stamp = (h: number) =>
  new Date((T0 + h * 3600) * 1000)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');

const setArb = fc.oneof(
  fc.record({
    kind: fc.constant('full' as const),
    a: fc.integer({ min: 0, max: 12 }),
    b: fc.constant(0),
    manifest: fc.boolean(),
    sig: fc.boolean(),
    volumes: fc.integer({ min: 1, max: 3 }),
  }),
  fc.record({
    kind: fc.constant('inc' as const),
    a: fc.integer({ min: 0, max: 11 }),
    b: fc.integer({ min: 1, max: 3 }),
    manifest: fc.boolean(),
    sig: fc.boolean(),
    volumes: fc.integer({ min: 1, max: 2 }),
  }),
);

interface GenSet {
  readonly kind: 'full' | 'inc';
  readonly a: number;
  readonly b: number;
  readonly manifest: boolean;
  readonly sig: boolean;
  readonly volumes: number;
}

function namesOf(s: GenSet): { data: string[]; sig: string[] } {
  const base = s.kind === 'full' ? `duplicity-full.${stamp(s.a)}` : `duplicity-inc.${stamp(s.a)}.to.${stamp(s.a + s.b)}`;
  const data = Array.from({ length: s.volumes }, (_, i) => `${base}.vol${i + 1}.difftar.gz`);
  if (s.manifest) data.push(`${base}.manifest`);
  const sig = s.sig
    ? [
        s.kind === 'full'
          ? `duplicity-full-signatures.${stamp(s.a)}.sigtar.gz`
          : `duplicity-new-signatures.${stamp(s.a)}.to.${stamp(s.a + s.b)}.sigtar.gz`,
      ]
    : [];
  return { data, sig };
}

const requestArb: fc.Arbitrary<RetentionRequest> = fc.oneof(
  fc.integer({ min: -1, max: 16 }).map((h) => ({ mode: 'remove-older-than' as const, time: T0 + h * 3600 })),
  fc.integer({ min: 1, max: 5 }).map((count) => ({ mode: 'remove-all-but-n-full' as const, count })),
  fc.integer({ min: 1, max: 5 }).map((count) => ({ mode: 'remove-all-inc-of-but-n-full' as const, count })),
);

test('planRetention: never the active chain, only old chains, no full with -inc-, nothing twice', () => {
  fc.assert(
    fc.property(
      fc.array(setArb, { maxLength: 12 }),
      fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
      requestArb,
      (sets, inCache, request) => {
        const remote = new Set<string>();
        const local = new Set<string>();
        sets.forEach((s, i) => {
          const { data, sig } = namesOf(s);
          for (const n of [...data, ...sig]) remote.add(n);
          if (inCache[i]) {
            if (s.manifest) local.add(data[data.length - 1]!);
            for (const n of sig) local.add(n);
          }
        });
        const collection = buildCollection(
          [...remote].map((name) => ({ name, size: 1 })),
          NO_PREFIXES,
        );
        const plan = planRetention(collection, [...local].sort(), NO_PREFIXES, request);
        const remoteNames = plan.steps.flatMap((s) => s.remote);
        const localNames = plan.steps.flatMap((s) => s.local);
        assert.equal(new Set(remoteNames).size, remoteNames.length, 'a remote file planned twice');
        assert.equal(new Set(localNames).size, localNames.length, 'a cache file planned twice');
        assert.deepEqual(
          plan.remote.map((o) => o.name),
          remoteNames,
        );
        for (const n of remoteNames) assert.ok(remote.has(n), `${n} is not on the target`);
        for (const n of localNames) assert.ok(local.has(n), `${n} is not in the cache`);

        const latest = collection.chains[collection.chains.length - 1];
        const timesOf = (n: string) => parseRemoteName(n, NO_PREFIXES)!;
        for (const n of [...remoteNames, ...localNames]) {
          const p = timesOf(n);
          const end = p.time ?? p.endTime!;
          assert.ok(end < plan.removeTime, `${n} ends at or after the removal time`);
          if (request.mode === 'remove-all-inc-of-but-n-full')
            assert.ok(p.kind === 'inc' || p.kind === 'new-sig', `${n}: a full with -inc-`);
        }
        // the newest chain is active when its signatures are all on the target (and no two of its
        // increments start together, which duplicity's signature chaining cannot follow): then none
        // of its files, nor of its signatures, is planned
        if (latest) {
          const own = [latest.full, ...latest.incs];
          const sigName = (x: (typeof own)[number]) =>
            x.type === 'full'
              ? `duplicity-full-signatures.${stamp((x.startTime - T0) / 3600)}.sigtar.gz`
              : `duplicity-new-signatures.${stamp((x.startTime - T0) / 3600)}.to.${stamp((x.endTime - T0) / 3600)}.sigtar.gz`;
          const starts = [...remote]
            .map((n) => parseRemoteName(n, NO_PREFIXES)!)
            .filter((p) => p.kind === 'new-sig')
            .map((p) => p.startTime);
          const active = own.every((x) => remote.has(sigName(x))) && new Set(starts).size === starts.length;
          if (active) {
            const protectedNames = new Set(
              own.flatMap((x) => [sigName(x), ...(x.manifest ? [x.manifest.name] : []), ...[...x.volumes.values()].map((v) => v.name)]),
            );
            for (const n of [...remoteNames, ...localNames]) assert.ok(!protectedNames.has(n), `${n}: of the active chain`);
          }
        }
        for (const c of plan.chains) assert.ok(c.endTime < plan.removeTime);
      },
    ),
    { numRuns: 400 },
  );
});
