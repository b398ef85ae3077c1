/**
 * Change detection through the CLI on file:// targets, beyond duplicity's type/mode/owner/mtime
 * rule: rewrites that keep the size and put the mtime back (touch -r), same-second rewrites, racy
 * reads, --ignore-ctime and --ignore-inode both ways, and files that grow or shrink while a backup
 * reads them (a real concurrent process, which stops the backup at its first read of the file).
 * Expected contents come from the source and from what the tests wrote, never from permafrost.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, readdirSync, readFileSync, renameSync, writeFileSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { assertSameTree } from '../support/compare.ts';
import { DUP08_PATH } from '../support/duplicity.ts';
import type { RunResult } from '../support/cli.ts';
import { assertOk, describeRun, HOUR, newTarget, T0, type PfTarget } from '../support/pf-target.ts';
import { PERMAFROST_BIN } from '../support/permafrost.ts';
import { buildTree } from '../support/tree.ts';
import { PYTHON } from '../codec/python-oracle.ts';

function stat(p: string): BigIntStats {
  return lstatSync(p, { bigint: true });
}

/** Sets the mtime to the nanosecond (GNU touch takes fractional epoch seconds). */
function setMtimeNs(p: string, ns: bigint): void {
  const s = ns / 1_000_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  execFileSync('touch', ['-m', '-d', `@${s}.${frac}`, p]);
  assert.equal(stat(p).mtimeNs, ns, `touch set the mtime of ${p} to the nanosecond`);
}

function changedFiles(r: RunResult): number {
  const m = /^ChangedFiles (\d+)$/m.exec(r.stdout);
  assert.ok(m, `no ChangedFiles line\n${describeRun(r)}`);
  return Number(m[1]);
}

/** The paths an incremental reports as modified (`M path` at -v info). */
function modified(r: RunResult): string[] {
  return [...r.stdout.matchAll(/^M (.+)$/gm)].map((m) => m[1]!);
}

async function incremental(pf: PfTarget, src: string, time: number, ...options: string[]): Promise<RunResult> {
  const r = await pf.run('incremental', '-v', 'info', '--current-time', String(time), ...options, src, pf.url);
  assertOk(r);
  return r;
}

async function restoreAndCompare(pf: PfTarget, src: string): Promise<string> {
  const dest = pf.path('restore');
  assertOk(await pf.run('restore', pf.url, dest));
  assertSameTree(src, dest);
  return dest;
}

/**
 * permafrost's records on each signature entry of every signature file at the target, as python's
 * tarfile (duplicity's tar reader) sees them: {file: {entry name: {record: value}}}.
 */
function signatureRecords(pf: PfTarget): Record<string, Record<string, Record<string, string>>> {
  const script = `
import json, sys, tarfile
out = {}
for path in sys.argv[1:]:
    with tarfile.open(path) as t:
        out[path.rsplit('/', 1)[-1]] = {m.name: {k: v for k, v in m.pax_headers.items() if k.startswith('PERMAFROST.')} for m in t.getmembers()}
json.dump(out, sys.stdout)`;
  const files = pf
    .files()
    .filter((f) => f.includes('.sigtar'))
    .map((f) => join(pf.remote, f));
  return JSON.parse(execFileSync(PYTHON, ['-c', script, ...files], { encoding: 'utf8' })) as Record<
    string,
    Record<string, Record<string, string>>
  >;
}

/** The records of one path's newest signature entry. */
function recordsOf(pf: PfTarget, path: string): Record<string, string> {
  const all = signatureRecords(pf);
  const newest = Object.keys(all)
    .sort((a, b) => setEnd(a).localeCompare(setEnd(b)))
    .reverse();
  for (const f of newest) {
    const e = all[f]![`signature/${path}`];
    if (e) return e;
  }
  assert.fail(`no signature entry for ${path}`);
}

/** The end time of a set, from its file name (a full's only time, an incremental's second). */
function setEnd(name: string): string {
  const times = name.match(/\d{8}T\d{6}Z/g) ?? [];
  return times[times.length - 1] ?? '';
}

describe('rewrites that keep the size', () => {
  it('a rewrite that puts the mtime back (touch -r) is backed up by the next incremental', async (t) => {
    const pf = newTarget(t, 'touch-r');
    const src = join(pf.work, 'src');
    buildTree(src, {
      entries: [
        { kind: 'file', path: 'notes.txt', content: 'first version\n' },
        { kind: 'file', path: 'other.txt', content: 'untouched\n' },
      ],
    });
    assertOk(await pf.run('full', '--current-time', String(T0), src, pf.url));
    const file = join(src, 'notes.txt');
    const ref = join(pf.work, 'times-of-notes');
    execFileSync('touch', ['-r', file, ref]);
    const before = stat(file);
    writeFileSync(file, 'second versio\n');
    execFileSync('touch', ['-r', ref, file]);
    const after = stat(file);
    // what duplicity's rule and the size record look at is all the same
    assert.equal(after.size, before.size);
    assert.equal(after.mtimeNs, before.mtimeNs);

    const r = await incremental(pf, src, T0 + HOUR);
    assert.deepEqual(modified(r), ['notes.txt']);
    assert.equal(changedFiles(r), 1);
    const dest = await restoreAndCompare(pf, src);
    assert.equal(readFileSync(join(dest, 'notes.txt'), 'utf8'), 'second versio\n');
  });

  it('a same-size rewrite whose mtime stays in the same second is told apart by the nanoseconds', async (t) => {
    const pf = newTarget(t, 'same-second');
    const src = join(pf.work, 'src');
    buildTree(src, { entries: [{ kind: 'file', path: 'a.txt', content: 'aaaa\n' }] });
    const second = 1_750_000_000n * 1_000_000_000n;
    setMtimeNs(join(src, 'a.txt'), second + 100_000_000n);
    assertOk(await pf.run('full', '--current-time', String(T0), src, pf.url));
    writeFileSync(join(src, 'a.txt'), 'bbbb\n');
    setMtimeNs(join(src, 'a.txt'), second + 700_000_000n);
    // ctime and inode left out of the comparison: the nanoseconds alone must tell
    const r = await incremental(pf, src, T0 + HOUR, '--ignore-ctime', '--ignore-inode');
    assert.deepEqual(modified(r), ['a.txt']);
    await restoreAndCompare(pf, src);
    // and a rewrite that keeps even the nanoseconds is what --ignore-ctime gives up
    writeFileSync(join(src, 'a.txt'), 'cccc\n');
    setMtimeNs(join(src, 'a.txt'), second + 700_000_000n);
    assert.deepEqual(modified(await incremental(pf, src, T0 + 2 * HOUR, '--ignore-ctime', '--ignore-inode')), []);
    assert.deepEqual(modified(await incremental(pf, src, T0 + 3 * HOUR)), ['a.txt'], 'the ctime tells once it counts');
    await restoreAndCompare(pf, src);
  });

  it('a file whose time is not older than its read is read again by the next backup (racy timestamp)', async (t) => {
    const pf = newTarget(t, 'racy');
    const src = join(pf.work, 'src');
    buildTree(src, {
      entries: [
        { kind: 'file', path: 'racy.txt', content: 'old racy\n' },
        { kind: 'file', path: 'calm.txt', content: 'old calm\n' },
      ],
    });
    // An mtime ahead of the clock is as racy as one in the second of the read: a write after the
    // read could leave it as it is. With --ignore-ctime only the mtime stands for the file's time.
    const ahead = BigInt(Date.now() + 86_400_000) * 1_000_000n + 123_456_789n;
    setMtimeNs(join(src, 'racy.txt'), ahead);
    assertOk(await pf.run('full', '--ignore-ctime', '--current-time', String(T0), src, pf.url));
    assert.equal(recordsOf(pf, 'racy.txt')['PERMAFROST.reread'], 'racy');
    assert.equal(recordsOf(pf, 'calm.txt')['PERMAFROST.reread'], undefined);

    const calmMtime = stat(join(src, 'calm.txt')).mtimeNs;
    writeFileSync(join(src, 'racy.txt'), 'new racy\n');
    writeFileSync(join(src, 'calm.txt'), 'new calm\n');
    setMtimeNs(join(src, 'racy.txt'), ahead);
    setMtimeNs(join(src, 'calm.txt'), calmMtime);
    const r = await incremental(pf, src, T0 + HOUR, '--ignore-ctime', '--ignore-inode');
    // only the mark finds racy.txt; calm.txt, just as invisible otherwise, shows what it is worth
    assert.deepEqual(modified(r), ['racy.txt']);
    const dest = pf.path('restore');
    assertOk(await pf.run('restore', pf.url, dest));
    assert.equal(readFileSync(join(dest, 'racy.txt'), 'utf8'), 'new racy\n');
    assert.equal(readFileSync(join(dest, 'calm.txt'), 'utf8'), 'old calm\n');

    assert.deepEqual(modified(await incremental(pf, src, T0 + 2 * HOUR)).sort(), ['calm.txt', 'racy.txt']);
    await restoreAndCompare(pf, src);
  });
});

describe('--ignore-ctime and --ignore-inode', () => {
  it('a chmod and back: no change with --ignore-ctime, a re-read without it', async (t) => {
    const pf = newTarget(t, 'chmod-back');
    const src = join(pf.work, 'src');
    buildTree(src, {
      entries: [
        { kind: 'file', path: 'a.txt', content: 'alpha\n' },
        { kind: 'file', path: 'b.txt', content: 'bravo\n' },
      ],
    });
    assertOk(await pf.run('full', '--current-time', String(T0), src, pf.url));
    const before = stat(join(src, 'a.txt'));
    chmodSync(join(src, 'a.txt'), 0o600);
    chmodSync(join(src, 'a.txt'), 0o644);
    const after = stat(join(src, 'a.txt'));
    assert.equal(after.mode, before.mode);
    assert.notEqual(after.ctimeNs, before.ctimeNs);

    let r = await incremental(pf, src, T0 + HOUR, '--ignore-ctime');
    assert.deepEqual(modified(r), []);
    assert.equal(changedFiles(r), 0);
    r = await incremental(pf, src, T0 + 2 * HOUR);
    assert.deepEqual(modified(r), ['a.txt']);
    assert.equal(changedFiles(r), 1);
    r = await incremental(pf, src, T0 + 3 * HOUR);
    assert.equal(changedFiles(r), 0, 'read once, the new ctime is recorded');
    await restoreAndCompare(pf, src);
  });

  it('a copy put in place with its metadata (new inode, same mtime): each check on its own finds it', async (t) => {
    const pf = newTarget(t, 'copy-in-place');
    const src = join(pf.work, 'src');
    buildTree(src, {
      entries: [
        { kind: 'file', path: 'a.txt', content: 'alpha\n' },
        { kind: 'file', path: 'b.txt', content: 'bravo\n' },
      ],
    });
    assertOk(await pf.run('full', '--current-time', String(T0), src, pf.url));
    const copyInPlace = () => {
      const before = stat(join(src, 'a.txt'));
      const dirTimes = join(pf.work, 'times-of-src');
      execFileSync('touch', ['-r', src, dirTimes]);
      execFileSync('cp', ['-p', join(src, 'a.txt'), join(src, 'a.tmp')]);
      renameSync(join(src, 'a.tmp'), join(src, 'a.txt'));
      execFileSync('touch', ['-r', dirTimes, src]); // the directory is not what this is about
      const after = stat(join(src, 'a.txt'));
      assert.notEqual(after.ino, before.ino);
      assert.equal(after.mtimeNs, before.mtimeNs);
      assert.equal(after.size, before.size);
    };
    copyInPlace();
    let r = await incremental(pf, src, T0 + HOUR, '--ignore-ctime', '--ignore-inode');
    assert.deepEqual(modified(r), [], 'with both ignored nothing tells');
    r = await incremental(pf, src, T0 + 2 * HOUR, '--ignore-ctime');
    assert.deepEqual(modified(r), ['a.txt'], 'the inode tells');
    copyInPlace();
    r = await incremental(pf, src, T0 + 3 * HOUR, '--ignore-inode');
    assert.deepEqual(modified(r), ['a.txt'], 'the ctime tells');
    await restoreAndCompare(pf, src);
  });
});

/**
 * A process that waits for the backup's first read of each watched file (inotify IN_ACCESS),
 * stops the backup (SIGSTOP), grows or shrinks the file, and lets it go on (SIGCONT). If the
 * backup closed a file before it could be changed, it exits 3: the test did not test anything.
 */
const WATCHER = `
import ctypes, os, select, signal, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
IN_ACCESS, IN_CLOSE_NOWRITE = 0x1, 0x10
fd = libc.inotify_init1(0)
watches = {}
for arg in sys.argv[1:]:
    action, size, path = arg.split(':', 2)
    wd = libc.inotify_add_watch(fd, path.encode(), IN_ACCESS | IN_CLOSE_NOWRITE)
    if wd < 0: sys.exit('inotify_add_watch failed')
    watches[wd] = (action, int(size), path)
print('ready', flush=True)
pid = int(sys.stdin.readline())
queue = []
def drain(block):
    if block or select.select([fd], [], [], 0)[0]:
        buf = os.read(fd, 65536)
        off = 0
        while off < len(buf):
            wd, mask, _c, n = struct.unpack_from('iIII', buf, off)
            off += 16 + n
            queue.append((wd, mask))
pending = set(watches)
while pending:
    if not queue: drain(True)
    wd, mask = queue.pop(0)
    if wd not in pending: continue
    action, size, path = watches[wd]
    if mask & IN_CLOSE_NOWRITE: sys.exit(f'{path} was read to the end before it could change')
    os.kill(pid, signal.SIGSTOP)
    drain(False)
    if any(w == wd and m & IN_CLOSE_NOWRITE for w, m in queue):
        os.kill(pid, signal.SIGCONT)
        sys.exit(f'{path} was read to the end before it could change')
    if action == 'grow':
        with open(path, 'ab') as f: f.write(b'G' * size)
    else:
        os.truncate(path, size)
    pending.discard(wd)
    os.kill(pid, signal.SIGCONT)
    print(f'{action} {path}', flush=True)
`;

interface Watch {
  readonly action: 'grow' | 'shrink';
  /** grow: bytes appended ('G'); shrink: the new length */
  readonly size: number;
  readonly path: string;
}

/** Runs permafrost with `args` while the watcher changes the files of `watches` under it. */
async function runChangingFiles(
  pf: PfTarget,
  watches: readonly Watch[],
  args: readonly string[],
): Promise<{ run: RunResult; watcher: string }> {
  const watcher = spawn(PYTHON, ['-c', WATCHER, ...watches.map((w) => `${w.action}:${w.size}:${w.path}`)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const watcherOut: string[] = [];
  const watcherErr: Buffer[] = [];
  watcher.stderr.on('data', (b: Buffer) => watcherErr.push(b));
  const lines = createInterface({ input: watcher.stdout });
  const ready = new Promise<void>((resolve, reject) => {
    lines.on('line', (l) => {
      if (l === 'ready') resolve();
      else watcherOut.push(l);
    });
    watcher.on('exit', () => reject(new Error(`watcher exited early: ${Buffer.concat(watcherErr).toString()}`)));
  });
  const watcherExit = new Promise<number>((resolve) => watcher.on('exit', (code) => resolve(code ?? -1)));
  await ready;
  const fullArgs = [PERMAFROST_BIN, '--no-encryption', '--archive-dir', pf.archiveDir, '--name', 'test', ...args];
  const child = spawn(process.execPath, fullArgs, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TZ: 'UTC' } });
  watcher.stdin.end(`${child.pid}\n`);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
  const run = {
    code,
    stdout: Buffer.concat(out).toString(),
    stderr: Buffer.concat(err).toString(),
    command: `permafrost ${args.join(' ')}`,
  };
  const watcherCode = await watcherExit;
  assert.equal(watcherCode, 0, `watcher: ${Buffer.concat(watcherErr).toString()}\n${describeRun(run)}`);
  return { run, watcher: watcherOut.join('\n') };
}

/** The byte counts the warning gives for `name`: [listed, read]. */
function warnedSizes(r: RunResult, name: string): [number, number] {
  const m = new RegExp(`^${name.replace('.', '\\.')} changed size while it was read \\((\\d+) bytes listed, (\\d+) read\\)`, 'm').exec(
    `${r.stdout}\n${r.stderr}`,
  );
  assert.ok(m, `no warning naming ${name}\n${describeRun(r)}`);
  return [Number(m[1]), Number(m[2])];
}

describe('files that change size while they are read', () => {
  it('are reported, counted, stored as read (duplicity restores them so), and read again next time', async (t) => {
    const pf = newTarget(t, 'changed-while-read');
    const src = join(pf.work, 'src');
    const SIZE = 24 << 20;
    const growing = randomBytes(SIZE);
    const shrinking = randomBytes(SIZE);
    buildTree(src, {
      entries: [
        { kind: 'file', path: 'grow.bin', content: growing },
        { kind: 'file', path: 'shrink.bin', content: shrinking },
        { kind: 'file', path: 'still.txt', content: 'still\n' },
      ],
    });
    const GROW = 1 << 20;
    const SHRINK_TO = 1 << 20;
    const full = await runChangingFiles(
      pf,
      [
        { action: 'grow', size: GROW, path: join(src, 'grow.bin') },
        { action: 'shrink', size: SHRINK_TO, path: join(src, 'shrink.bin') },
      ],
      ['full', '--current-time', String(T0), src, pf.url],
    );
    assertOk(full.run);
    assert.match(full.run.stdout, /^ChangedWhileRead 2$/m);
    assert.deepEqual(warnedSizes(full.run, 'grow.bin'), [SIZE, SIZE + GROW]);
    const [listed, read] = warnedSizes(full.run, 'shrink.bin');
    assert.equal(listed, SIZE);
    assert.ok(read >= SHRINK_TO && read < SIZE, `shrink.bin: ${read} bytes read`);

    // the signature entries say what was read, and that it must be read again
    assert.deepEqual(
      [recordsOf(pf, 'grow.bin')['PERMAFROST.size'], recordsOf(pf, 'grow.bin')['PERMAFROST.reread']],
      [String(SIZE + GROW), 'size'],
    );
    assert.deepEqual(
      [recordsOf(pf, 'shrink.bin')['PERMAFROST.size'], recordsOf(pf, 'shrink.bin')['PERMAFROST.reread']],
      [String(read), 'size'],
    );
    assert.equal(recordsOf(pf, 'still.txt')['PERMAFROST.reread'], undefined);

    // what was read: all of the grown file; the shrunk one up to where its end was found
    const expectGrown = Buffer.concat([growing, Buffer.alloc(GROW, 'G')]);
    const expectShrunk = shrinking.subarray(0, read);
    for (const tool of ['permafrost', 'duplicity 0.8.22'] as const) {
      const dest = pf.path('restore');
      if (tool === 'permafrost') assertOk(await pf.run('restore', pf.url, dest));
      else
        execFileSync(
          DUP08_PATH,
          ['restore', '--no-encryption', '--archive-dir', join(pf.work, 'dup-cache'), '--name', 'dup', pf.url, dest],
          { stdio: 'pipe' },
        );
      assert.ok(readFileSync(join(dest, 'grow.bin')).equals(expectGrown), `${tool}: grow.bin`);
      assert.ok(readFileSync(join(dest, 'shrink.bin')).equals(expectShrunk), `${tool}: shrink.bin`);
      assert.equal(readFileSync(join(dest, 'still.txt'), 'utf8'), 'still\n');
    }

    // --json counts it too; the file shrunk before is read again though nothing changes it now
    const GROW2 = 4096;
    const inc = await runChangingFiles(
      pf,
      [{ action: 'grow', size: GROW2, path: join(src, 'grow.bin') }],
      ['incremental', '--json', '-v', 'info', '--current-time', String(T0 + HOUR), src, pf.url],
    );
    assertOk(inc.run);
    const json = JSON.parse(inc.run.stdout.trim().split('\n').pop()!) as { changedWhileRead: number; changedFiles: number };
    assert.equal(json.changedWhileRead, 1);
    assert.deepEqual(warnedSizes(inc.run, 'grow.bin'), [SIZE + GROW, SIZE + GROW + GROW2]);
    assert.equal(json.changedFiles, 2, 'grow.bin and shrink.bin');

    const last = await incremental(pf, src, T0 + 2 * HOUR);
    assert.deepEqual(modified(last), ['grow.bin'], 'grow.bin was marked again; shrink.bin is settled');
    assert.match(last.stdout, /^ChangedWhileRead 0$/m);
    await restoreAndCompare(pf, src);
    assert.ok(readdirSync(pf.remote).length > 0);
  });
});
