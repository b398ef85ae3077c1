/**
 * A state folder the daemon cannot write (a bind mount that Docker created as root, the daemon
 * running as uid 1000): `--once` exits 52 with one line saying how to fix it; the service logs
 * that line once and waits instead of exiting (an exit would be a restart loop under
 * `restart: unless-stopped`), and SIGTERM still stops it with exit 0. The daemon runs as uid 1000
 * here, so the test needs root to start it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PERMAFROST_BIN } from '../support/permafrost.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';

const hooks = fileCleanup();

function daemonAsUid1000(args: readonly string[], env: Record<string, string>) {
  if (process.getuid?.() !== 0) throw new Error('this test starts the daemon as uid 1000: run it as root (as scripts/test.sh does)');
  const child = spawn(process.execPath, [PERMAFROST_BIN, 'daemon', ...args], {
    env,
    uid: 1000,
    gid: 1000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, exited, stderr: () => stderr };
}

function rootOwnedState(): { env: Record<string, string>; state: string } {
  const work = tmpDir(hooks, 'state-dir');
  chmodSync(work, 0o755); // uid 1000 may look in, not write
  const state = join(work, 'state');
  mkdirSync(state, { mode: 0o755 });
  const env = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: work,
    TZ: 'UTC',
    PERMAFROST_STATE_DIR: state,
    JOB_200_WHAT: 'echo hi',
    JOB_200_WHEN: 'daily',
  };
  return { env, state };
}

const LINE = (state: string) =>
  new RegExp(
    `permafrost daemon: error: cannot write ${state}: EACCES \\(owned by uid 0, this process runs as uid 1000\\); fix: on the host, \`chown -R 1000:1000\` the folder mounted at ${state}\\n`,
  );

test('daemon --once on a state folder it cannot write: exit 52, one line with the fix, nothing run', async () => {
  const { env, state } = rootOwnedState();
  const d = daemonAsUid1000(['--once', 'daily'], env);
  assert.equal(await d.exited, 52, d.stderr());
  assert.match(d.stderr(), LINE(state));
  assert.equal(d.stderr().match(/cannot write/g)?.length, 1);
  assert.ok(!existsSync(join(state, 'status.json')));
});

test('the service on a state folder it cannot write: says so once, keeps running, stops on SIGTERM with exit 0', async () => {
  const { env, state } = rootOwnedState();
  const d = daemonAsUid1000([], env);
  const deadline = Date.now() + 20_000;
  while (!/waiting until it is writable/.test(d.stderr()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.match(d.stderr(), LINE(state));
  const early = await Promise.race([d.exited, new Promise((r) => setTimeout(() => r('running'), 1500))]);
  assert.equal(early, 'running', `it must not exit (restart loop): ${d.stderr()}`);
  d.child.kill('SIGTERM');
  assert.equal(await d.exited, 0, d.stderr());
  assert.equal(d.stderr().match(/cannot write/g)?.length, 1, 'said once');
});

test("a dup job's cache (--archive-dir) or log folder it cannot write: the same, checked at start", async () => {
  const { env, state } = rootOwnedState();
  chmodSync(state, 0o777); // the state folder is fine this time
  const config = join(state, '..', 'config');
  mkdirSync(config, { mode: 0o755 });
  const d = daemonAsUid1000(['--once', 'daily'], {
    ...env,
    JOB_200_WHAT: 'dup $SRC $DST',
    SRC: state,
    DST: `file://${join(state, '..', 'target')}`,
    OPTIONS: `--no-encryption --archive-dir ${config}`,
  });
  assert.equal(await d.exited, 52, d.stderr());
  assert.match(d.stderr(), LINE(config));
  assert.equal(d.stderr().match(/cannot write/g)?.length, 1);
});
