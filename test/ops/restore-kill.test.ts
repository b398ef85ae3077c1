/**
 * A restore killed with SIGKILL, then run again with --force into the same destination: the
 * result is the source, exactly, with none of the killed run's temporary files
 * (`.permafrost-restore.<pid>.<n>`) left; a restore without --force refuses the destination and
 * says that --force cleans it. The kill is deterministic: the test watches the destination
 * (inotify, through fs.watch) and kills the moment the state it wants appears; when the kill comes
 * too late to see that state, the attempt is repeated, and the test fails if it never hits.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, symlinkSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertSameTree } from '../support/compare.ts';
import { PERMAFROST_BIN } from '../support/permafrost.ts';
import { assertFails, assertOk, describeRun, newTarget, T0 } from '../support/pf-target.ts';
import { buildTree, type EntrySpec } from '../support/tree.ts';
import { walkTree } from '../support/walk.ts';

const TEMP = /^\.permafrost-restore\./;

/** Names under `root` (relative) that look like a restore's temporary name. */
function tempNamesIn(root: string): string[] {
  if (!existsSync(root)) return [];
  return walkTree(root)
    .filter((e) => e.rel.length > 0 && TEMP.test(e.rel.toString('latin1').split('/').pop()!))
    .map((e) => e.rel.toString('latin1'));
}

interface KillPoint {
  readonly name: string;
  /** the directory to watch: the destination (created empty first) or its parent */
  readonly watch: 'dest' | 'parent';
  readonly trigger: (file: string) => boolean;
  /** whether the destination after the kill shows the state this point is about */
  readonly reached: (dest: string) => boolean;
  /** the killed run's temporary files are there to clean */
  readonly leavesTemp: boolean;
}

const POINTS: readonly KillPoint[] = [
  {
    name: 'early: the destination is created, no file yet',
    watch: 'parent',
    trigger: (f) => f === 'dest',
    reached: (dest) => existsSync(dest) && !readdirSync(dest).some((n) => n === 'big.bin' || n.startsWith('s')),
    leavesTemp: false,
  },
  {
    name: 'middle: a large file is being written under its temporary name',
    watch: 'dest',
    trigger: (f) => TEMP.test(f),
    reached: (dest) => tempNamesIn(dest).length > 0 && !existsSync(join(dest, 'big.bin')),
    leavesTemp: true,
  },
  {
    name: 'late: among the small files, before the directory attributes',
    watch: 'dest',
    trigger: (f) => f === 's0300.txt',
    reached: (dest) => existsSync(join(dest, 's0300.txt')) && !existsSync(join(dest, 'z-last.txt')),
    leavesTemp: false,
  },
];

/** Runs a restore and SIGKILLs it when `trigger` fires in `dir`. Resolves once it is dead. */
function restoreAndKill(args: readonly string[], dir: string, trigger: (file: string) => boolean): Promise<void> {
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
    const watcher = watch(dir, (_event, file) => {
      if (!killed && file !== null && trigger(file)) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('exit', (code, signal) => {
      watcher.close();
      if (signal === 'SIGKILL' && killed) resolve();
      else reject(new Error(`the restore ended by itself (exit ${code}, ${signal}) before the kill point\n${output}`));
    });
  });
}

describe('a restore killed with SIGKILL, then run again with --force', () => {
  const base = newTarget({ after }, 'restore-kill');
  const src = join(base.work, 'src');
  before(async () => {
    // in restore order: the large file (through a temporary name), 1500 small files (created by
    // the worker under their own names), a read-only directory and a last file
    const entries: EntrySpec[] = [{ kind: 'file', path: 'big.bin', size: 48 << 20, seed: 1 }];
    for (let i = 0; i < 1500; i++)
      entries.push({ kind: 'file', path: `s${String(i).padStart(4, '0')}.txt`, content: `small ${i}\n`, mode: 0o640 });
    entries.push({ kind: 'file', path: 'sub/f.txt', content: 'in a read-only directory\n' }, { kind: 'dir', path: 'sub', mode: 0o555 });
    entries.push({ kind: 'file', path: 'z-last.txt', content: 'last\n' });
    buildTree(src, { entries, root: { mode: 0o750 } });
    assertOk(await base.run('full', '--current-time', String(T0), src, base.url));
  });

  for (const point of POINTS) {
    it(`${point.name}: the rerun gives the source exactly, and no temporary file is left`, async (t) => {
      let parent = '';
      let dest = '';
      for (let attempt = 1; ; attempt++) {
        parent = join(base.work, `kill-${POINTS.indexOf(point)}-${attempt}`);
        dest = join(parent, 'dest');
        mkdirSync(parent);
        if (point.watch === 'dest') mkdirSync(dest);
        const args = ['restore', '--no-encryption', '--archive-dir', base.archiveDir, '--name', 'test', base.url, dest];
        await restoreAndKill(args, point.watch === 'dest' ? dest : parent, point.trigger);
        if (point.reached(dest)) {
          t.diagnostic(`killed at the right moment on attempt ${attempt}`);
          break;
        }
        assert.ok(
          attempt < 5,
          `the kill never came at the right moment in ${attempt} attempts; dest holds ${existsSync(dest) ? readdirSync(dest).length : 0} names`,
        );
      }
      const left = tempNamesIn(dest);
      if (point.leavesTemp) {
        assert.ok(left.length > 0, 'the killed restore left its temporary file');
        // without --force: refused, and the error says what is there and what cleans it
        assertFails(
          await base.run('restore', base.url, dest),
          11,
          /holds temporary files of a killed restore \(--force restores into it and removes them\)/,
        );
      }

      const rerun = await base.run('restore', '--force', base.url, dest);
      assertOk(rerun, 'the restore --force after the kill');
      if (point.leavesTemp)
        assert.match(
          rerun.stdout,
          new RegExp(`Removed ${left.length} temporary file\\(s\\) that a killed restore left`),
          describeRun(rerun),
        );
      assertSameTree(src, dest, {}, 'the rerun after the kill');
      assert.deepEqual(tempNamesIn(dest), [], 'no temporary file is left');
      assert.deepEqual(readdirSync(parent), ['dest'], 'nothing is left beside the destination');
    });
  }

  it('--force removes only temporary names of restores that are gone, never other files', async () => {
    const dest = join(base.work, 'mixed');
    // a process that has ended: its pid is free
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    assert.ok(dead > 0);
    mkdirSync(join(dest, 'deep', 'er'), { recursive: true });
    const ours = [`.permafrost-restore.${dead}.1`, `deep/er/.permafrost-restore.${dead}.22`];
    const kept = [
      `.permafrost-restore.${process.pid}.1`, // a restore still running (this process)
      '.permafrost-restore.x', // not our pattern
      `.permafrost-restore.${dead}.1.bak`,
      `deep/permafrost-restore.${dead}.3`,
      'user.txt',
    ];
    for (const f of [...ours, ...kept]) writeFileSync(join(dest, f), 'x');
    mkdirSync(join(dest, `.permafrost-restore.${dead}.9`)); // a directory: never one of ours
    symlinkSync('/nonexistent', join(dest, `deep/.permafrost-restore.${dead}.5`)); // a symlink temp: ours
    ours.push(`deep/.permafrost-restore.${dead}.5`);
    // beside a single-file destination
    writeFileSync(join(base.work, `.permafrost-restore.${dead}.4`), 'x');

    const r = await base.run('restore', '--force', '--file-to-restore', 'z-last.txt', base.url, join(base.work, 'one.txt'));
    assertOk(r);
    assert.ok(!existsSync(join(base.work, `.permafrost-restore.${dead}.4`)), 'the leftover beside a single-file destination is removed');
    const r2 = await base.run('restore', '--force', base.url, dest);
    assertOk(r2);
    assert.match(r2.stdout, /Removed 3 temporary file\(s\) that a killed restore left/);
    const present = (f: string) => lstatSync(join(dest, f), { throwIfNoEntry: false }) !== undefined;
    for (const f of ours) assert.ok(!present(f), `${f} is removed`);
    for (const f of kept) assert.ok(present(f), `${f} is kept`);
    assert.ok(existsSync(join(dest, `.permafrost-restore.${dead}.9`)), 'a directory is kept');
  });
});
