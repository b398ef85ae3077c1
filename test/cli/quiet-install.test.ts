/**
 * A quiet first run (issue 14): with the machine's Node (Debian 12's default is older than the
 * Node 24 the project brings), installing the project and the first `npx permafrost` print no
 * `npm warn EBADENGINE` and no notice about a newer npm, and `bin/permafrost.js` run by that Node
 * hands over to the project's Node 24. The user's own npm configuration is left out (an empty
 * userconfig, a new cache), so the project's .npmrc and package.json are what keep npm quiet.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { test } from 'node:test';
import { PROJECT_ROOT } from '../support/duplicity.ts';
import { tmpDir } from '../support/tmp.ts';

const packageVersion = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** The PATH without node_modules/.bin, as a shell outside `npm run` and `npx` has it. */
const MACHINE_PATH = (process.env['PATH'] ?? '/usr/bin:/bin')
  .split(delimiter)
  .filter((p) => !p.includes('node_modules'))
  .join(delimiter);

/** `file args` as a fresh shell on this machine runs it: its Node, an empty npm configuration and cache. */
function machine(file: string, args: string[], cwd: string, home: string) {
  const userconfig = join(home, 'empty-npmrc');
  if (!existsSync(userconfig)) writeFileSync(userconfig, '');
  const r = spawnSync(file, args, {
    cwd,
    encoding: 'utf8',
    timeout: 300_000,
    // npm_config_* from an enclosing `npm run`/`npx` would hide what a fresh shell sees
    env: {
      PATH: MACHINE_PATH,
      HOME: home,
      npm_config_userconfig: userconfig,
      npm_config_cache: join(home, 'npm-cache'),
      LC_ALL: 'C.UTF-8',
    },
  });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

function machineNodeVersion(home: string): string {
  const r = machine('node', ['--version'], PROJECT_ROOT, home);
  assert.equal(r.code, 0, `no node on the machine's PATH (${MACHINE_PATH}): ${r.error?.message ?? r.stderr}`);
  return r.stdout.trim();
}

const NOISE = /EBADENGINE|npm warn|npm notice|New (major|minor|patch) version of npm/;

test("npm ci with the machine's Node: no EBADENGINE, no update notice", (t) => {
  const home = tmpDir(t, 'quiet-home');
  const copy = tmpDir(t, 'quiet-copy');
  for (const f of ['package.json', 'package-lock.json', '.npmrc']) copyFileSync(join(PROJECT_ROOT, f), join(copy, f));
  const version = machineNodeVersion(home);
  // --dry-run: the whole install decision (the lockfile's tree, each package's engines) without
  // unpacking 150 packages; --ignore-scripts as a dry run runs none anyway
  const r = machine('npm', ['ci', '--dry-run', '--ignore-scripts'], copy, home);
  assert.equal(r.code, 0, `${version}\n${r.stderr}`);
  assert.match(r.stdout, /added \d+ packages/, r.stdout);
  assert.doesNotMatch(`${r.stdout}\n${r.stderr}`, NOISE, `with ${version}:\n${r.stderr}`);
  // the notice is off by the project's configuration, not by this machine's
  const notifier = machine('npm', ['config', 'get', 'update-notifier'], copy, home);
  assert.equal(notifier.stdout.trim(), 'false');
});

test("the first npx permafrost with the machine's Node prints only the version", (t) => {
  const home = tmpDir(t, 'quiet-home');
  const r = machine('npx', ['permafrost', '--version'], PROJECT_ROOT, home);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `permafrost ${packageVersion}\n`);
  assert.equal(r.stderr, '', `with ${machineNodeVersion(home)}`);
});

test("bin/permafrost.js run by the machine's Node hands over to the project's Node 24", (t) => {
  const home = tmpDir(t, 'quiet-home');
  const version = machineNodeVersion(home);
  const r = machine('node', [join(PROJECT_ROOT, 'bin/permafrost.js'), '--version'], PROJECT_ROOT, home);
  assert.equal(r.code, 0, `${version}: ${r.stderr}`);
  assert.equal(r.stdout, `permafrost ${packageVersion}\n`);
  assert.equal(r.stderr, '');
  // the exit code comes through too
  const bad = machine('node', [join(PROJECT_ROOT, 'bin/permafrost.js'), '--no-such-option'], PROJECT_ROOT, home);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /^no such option: --no-such-option$/m);
});

test("without the project's Node, bin/permafrost.js on an older Node says what to do (exit 2)", (t) => {
  const home = tmpDir(t, 'quiet-home');
  const version = machineNodeVersion(home);
  const lone = tmpDir(t, 'lone-package');
  mkdirSync(join(lone, 'bin'));
  copyFileSync(join(PROJECT_ROOT, 'bin/permafrost.js'), join(lone, 'bin/permafrost.js'));
  writeFileSync(join(lone, 'package.json'), '{"type":"module"}');
  const r = machine('node', [join(lone, 'bin/permafrost.js'), '--version'], lone, home);
  assert.equal(r.code, 2, r.stderr);
  if (Number(version.slice(1).split('.')[0]) < 22)
    assert.equal(
      r.stderr,
      `permafrost: Node.js >= 22 is required (this is ${version}); run "npm install" in the project (it brings Node 24), or install Node 24\n`,
    );
  else assert.match(r.stderr, /^permafrost: not built yet/);
});
