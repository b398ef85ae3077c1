/**
 * A backup killed with SIGKILL at any point leaves a target where restores of the earlier sets
 * still work, the next backup succeeds (starting its set cleanly), and `cleanup --force` removes
 * what the killed run left.
 *
 * The kill is deterministic: the test watches the temp dir and the target (inotify, through
 * fs.watch) and kills the moment the state it wants appears: the run's temp dir, the first volume,
 * a half-uploaded file, the signatures, the manifest. When a window is too short to hit (the
 * manifest follows the signatures within milliseconds), the attempt is repeated, and the test
 * fails if it never hits, rather than testing something else.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, watch } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertSameTree } from '../support/compare.ts';
import { PERMAFROST_BIN } from '../support/permafrost.ts';
import { assertOk, HOUR, newTarget, T0, type PfTarget } from '../support/pf-target.ts';
import { buildTree, TreeMutator, type EntrySpec } from '../support/tree.ts';

const T1 = T0 + HOUR;
const T2 = T0 + 2 * HOUR;

function timeString(t: number): string {
  return new Date(t * 1000)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

/** Names at the target that belong to the set ending at `t` (volumes, signatures, manifest). */
function namesOfSetEndingAt(files: readonly string[], t: number): string[] {
  const ts = timeString(t);
  return files.filter((f) => f.includes(`.to.${ts}.`) || f.includes(`-full.${ts}.`) || f.includes(`-full-signatures.${ts}.`));
}

const TEMP_PREFIX = '.permafrost-tmp-';

interface KillPoint {
  readonly name: string;
  readonly verb: 'incremental' | 'full';
  /** true when the event means: kill now */
  readonly trigger: (where: 'temp' | 'target', file: string) => boolean;
  /** whether the state after the kill is the one this point is about (else: try again) */
  readonly reached: (files: readonly string[]) => boolean;
  /** the killed set's manifest was uploaded: it is complete */
  readonly complete?: boolean;
}

const setOf = (verb: string) =>
  verb === 'full' ? `duplicity-full.${timeString(T1)}.` : `duplicity-inc.${timeString(T0)}.to.${timeString(T1)}.`;
const sigOf = (verb: string) =>
  verb === 'full' ? `duplicity-full-signatures.${timeString(T1)}.` : `duplicity-new-signatures.${timeString(T0)}.to.${timeString(T1)}.`;
const has = (files: readonly string[], prefix: string, suffix: RegExp) => files.some((f) => f.startsWith(prefix) && suffix.test(f));

const POINTS: readonly KillPoint[] = [
  {
    name: 'its temp dir appears (before any upload)',
    verb: 'incremental',
    trigger: (where, f) => where === 'temp' && f.startsWith('permafrost-'),
    reached: (files) => namesOfSetEndingAt(files, T1).length === 0,
  },
  {
    name: 'the first volume is uploaded',
    verb: 'incremental',
    trigger: (where, f) => where === 'target' && f.startsWith(setOf('incremental')) && f.includes('.vol1.'),
    reached: (files) => has(files, setOf('incremental'), /\.vol1\./) && !has(files, sigOf('incremental'), /./),
  },
  {
    name: 'a volume is half uploaded (a hidden temporary file at the target)',
    verb: 'incremental',
    trigger: (where, f) => where === 'target' && f.startsWith(TEMP_PREFIX),
    reached: (files) => files.some((f) => f.startsWith(TEMP_PREFIX)) && !has(files, setOf('incremental'), /\.manifest$/),
  },
  {
    name: 'the signatures are uploaded, the manifest not yet',
    verb: 'incremental',
    trigger: (where, f) => where === 'target' && f.startsWith(sigOf('incremental')),
    reached: (files) => has(files, sigOf('incremental'), /./) && !has(files, setOf('incremental'), /\.manifest$/),
  },
  {
    name: 'the manifest is uploaded (the local cache not yet updated)',
    verb: 'incremental',
    trigger: (where, f) => where === 'target' && f.startsWith(setOf('incremental')) && f.endsWith('.manifest'),
    reached: (files) => has(files, setOf('incremental'), /\.manifest$/),
    complete: true,
  },
  {
    name: 'the first volume of a new full is uploaded',
    verb: 'full',
    trigger: (where, f) => where === 'target' && f.startsWith(setOf('full')) && f.includes('.vol1.'),
    reached: (files) => has(files, setOf('full'), /\.vol1\./) && !has(files, sigOf('full'), /./),
  },
];

/** Runs permafrost and SIGKILLs it when `trigger` fires. Resolves once it is dead; rejects if it ended by itself. */
function runAndKill(args: readonly string[], dirs: { temp: string; target: string }, trigger: KillPoint['trigger']): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PERMAFROST_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (b: Buffer) => {
      output += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      output += b.toString();
    });
    let killed = false;
    const onEvent = (where: 'temp' | 'target') => (_event: string, file: string | null) => {
      if (!killed && file !== null && trigger(where, file)) {
        killed = true;
        child.kill('SIGKILL');
      }
    };
    const watchers = [watch(dirs.temp, onEvent('temp')), watch(dirs.target, onEvent('target'))];
    child.on('exit', (code, signal) => {
      for (const w of watchers) w.close();
      if (signal === 'SIGKILL' && killed) resolve();
      else reject(new Error(`permafrost ended by itself (exit ${code}, ${signal}) before the kill point\n${output}`));
    });
  });
}

describe('a backup killed with SIGKILL', () => {
  // A full backup (several volumes at --volsize 1) and the changes the killed run was backing up.
  const base = newTarget({ after }, 'killed-base');
  const src = join(base.work, 'src');
  const snap0 = join(base.work, 'snap-0');
  before(async () => {
    const entries: EntrySpec[] = [];
    for (let i = 0; i < 5; i++) entries.push({ kind: 'file', path: `big/f${i}.bin`, size: 500_000, seed: i });
    for (let i = 0; i < 300; i++) entries.push({ kind: 'file', path: `small/s${i}.txt`, content: `small ${i}\n` });
    buildTree(src, { entries });
    assertOk(await base.run('full', '--volsize', '1', '--current-time', String(T0), src, base.url));
    execFileSync('cp', ['-a', '--', src, snap0]);
    const m = new TreeMutator(src, 1, 1_700_000_000);
    for (let i = 0; i < 5; i++) m.addFile(`big/new${i}.bin`, 500_000, false);
    m.rewrite('small/s1.txt', 40);
    m.remove('small/s2.txt');
    m.settleDirs();
  });

  for (const point of POINTS) {
    it(`when ${point.name}: earlier sets restore, the next backup succeeds, cleanup --force removes the leftovers`, async (t) => {
      let pf: PfTarget | undefined;
      let temp = '';
      for (let attempt = 1; ; attempt++) {
        pf = newTarget(t, 'killed');
        cpSync(base.remote, pf.remote, { recursive: true });
        cpSync(base.archiveDir, pf.archiveDir, { recursive: true });
        temp = join(pf.work, 'tmp');
        mkdirSync(temp);
        const args = [
          point.verb,
          '--no-encryption',
          '--archive-dir',
          pf.archiveDir,
          '--name',
          'test',
          '--tempdir',
          temp,
          '--volsize',
          '1',
          '--current-time',
          String(T1),
          src,
          pf.url,
        ];
        await runAndKill(args, { temp, target: pf.remote }, point.trigger);
        if (point.reached(pf.files())) {
          t.diagnostic(`killed at the right moment on attempt ${attempt}`);
          break;
        }
        assert.ok(attempt < 5, `the kill never came at the right moment in ${attempt} attempts; target: ${pf.files().join(' ')}`);
      }
      const killedSet = namesOfSetEndingAt(pf.files(), T1);
      const leftovers = point.complete
        ? pf.files().filter((f) => f.startsWith(TEMP_PREFIX))
        : [...killedSet, ...pf.files().filter((f) => f.startsWith(TEMP_PREFIX))];

      // 1. The earlier set restores; so does the latest, which is the killed set only if it completed.
      await restoresAs(pf, T0, snap0);
      if (point.complete) await restoresAs(pf, undefined, src);
      else await restoresAs(pf, undefined, snap0);
      const status = JSON.parse((await pf.run('collection-status', '--json', pf.url)).stdout) as {
        chains: { sets: unknown[] }[];
        incompleteSets: unknown[];
      };
      assert.equal(status.chains.length, point.complete && point.verb === 'full' ? 2 : 1);
      if (!point.complete && killedSet.some((f) => f.includes('.vol')))
        assert.equal(status.incompleteSets.length, 1, 'the killed set shows as incomplete');

      // 2. The next backup succeeds, extending the last complete set, unbothered by the leftovers.
      const next = await pf.run('--volsize', '1', '--tempdir', temp, '--current-time', String(T2), src, pf.url);
      assertOk(next, 'the backup after the kill');
      const from = point.complete ? T1 : T0;
      assert.match(next.stdout, new RegExp(`^Starting incremental backup ${timeString(from)} to ${timeString(T2)}$`, 'm'));
      await restoresAs(pf, undefined, src);
      await restoresAs(pf, T0, snap0);

      // 3. cleanup lists exactly what the killed run left; --force removes it, and nothing else.
      const listed = await pf.run('cleanup', pf.url);
      assertOk(listed);
      for (const f of leftovers) assert.ok(listed.stdout.includes(f), `cleanup should list ${f}:\n${listed.stdout}`);
      const before = pf.files();
      assertOk(await pf.run('cleanup', '--force', pf.url));
      const afterCleanup = pf.files();
      assert.deepEqual(
        afterCleanup,
        before.filter((f) => !leftovers.includes(f)),
        'cleanup --force removes the leftovers and only them',
      );
      assert.deepEqual(
        afterCleanup.filter((f) => f.startsWith(TEMP_PREFIX)),
        [],
      );
      const final = JSON.parse((await pf.run('collection-status', '--json', pf.url)).stdout) as {
        incompleteSets: unknown[];
        orphanedSets: unknown[];
        orphanedSignatures: unknown[];
      };
      assert.deepEqual([final.incompleteSets, final.orphanedSets, final.orphanedSignatures], [[], [], []]);
      await restoresAs(pf, undefined, src);
      await restoresAs(pf, T0, snap0);
    });
  }
});

async function restoresAs(pf: PfTarget, time: number | undefined, expected: string): Promise<void> {
  const dest = pf.path('restore');
  assertOk(
    await pf.run('restore', ...(time === undefined ? [] : ['--time', String(time)]), pf.url, dest),
    `restore --time ${time ?? 'latest'}`,
  );
  assertSameTree(expected, dest, {}, `restore --time ${time ?? 'latest'}`);
  assert.ok(existsSync(dest) && readdirSync(dest).length > 0);
}
