/**
 * Issue 13's smaller points, end to end through the CLI on file:// targets, each with its
 * documented exit code: odd --file-to-restore paths (2 or 12, never 30); a backup in the same second
 * as the last one (waits; an explicit --current-time at or before it: 13); a corrupt volume of an
 * incremental (21 naming it, gzip, plain and encrypted, as for a full); a set with missing volumes
 * (collection-status reports it damaged, restore fails with 22 writing nothing, verify exits 1).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunResult } from '../support/cli.ts';
import { assertSameTree } from '../support/compare.ts';
import { runCommand } from '../support/cli.ts';
import { PERMAFROST_BIN, runPermafrost } from '../support/permafrost.ts';
import { assertFails, assertOk, describeRun, HOUR, newTarget, T0, type PfTarget } from '../support/pf-target.ts';
import { buildTree } from '../support/tree.ts';
import { Rng } from '../support/rng.ts';

/** duplicity's time string for epoch seconds, derived from Date rather than from our codec. */
function timeString(t: number): string {
  return new Date(t * 1000)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

/** A usage error: exit 2, the reason on the first line of stderr (then the pointer to --help), no stack. */
function assertUsage(r: RunResult, message: RegExp): void {
  assert.equal(r.code, 2, describeRun(r));
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.match(lines[0]!, message, describeRun(r));
  assert.deepEqual(lines.slice(1), ["Enter 'permafrost --help' for help."], describeRun(r));
  assert.doesNotMatch(r.stderr, /internal error|^\s+at /m, describeRun(r));
}

describe('--file-to-restore with odd paths', () => {
  const pf = newTarget({ after }, 'odd-paths');
  const src = join(pf.work, 'src');
  before(async () => {
    buildTree(src, {
      entries: [
        { kind: 'file', path: 'a', content: 'alpha\n' },
        { kind: 'file', path: 'd/b', content: 'bravo\n' },
      ],
    });
    assertOk(await pf.run('full', '--current-time', String(T0), src, pf.url));
  });

  for (const bad of ['../x', 'a/../../b', 'd/../a', '..', '/../etc/passwd']) {
    it(`${JSON.stringify(bad)}: a '..' component is a usage error (2), for restore and verify`, async () => {
      assertUsage(
        await pf.run('restore', '--file-to-restore', bad, pf.url, pf.path('dest')),
        /^option --file-to-restore: .* has a '\.\.' component; give the path inside the backup, relative to its root$/,
      );
      assertUsage(await pf.run('verify', '-r', bad, pf.url, src), /^option -r: .* has a '\.\.' component/);
    });
  }

  it('an empty path is a usage error (2), not a restore of everything', async () => {
    const dest = pf.path('dest');
    assertUsage(
      await pf.run('restore', '--file-to-restore', '', pf.url, dest),
      /^option --file-to-restore: empty path \(leave the option out to restore everything\)$/,
    );
    assert.ok(!existsSync(dest));
  });

  it('a path not in the backup exits 12, also written absolute (paths are relative to the backup root, as in duplicity)', async () => {
    assertFails(await pf.run('restore', '--file-to-restore', '/abs', pf.url, pf.path('dest')), 12, /^abs is not in the backup at /);
    assertFails(await pf.run('restore', '--file-to-restore', 'nothere', pf.url, pf.path('dest')), 12, /^nothere is not in the backup at /);
  });

  it("'/a', './a', 'd/./b' and '.' name paths inside the backup", async () => {
    for (const [arg, expected] of [
      ['/a', 'alpha\n'],
      ['./a', 'alpha\n'],
      ['d/./b', 'bravo\n'],
    ] as const) {
      const dest = pf.path('one');
      assertOk(await pf.run('restore', '--file-to-restore', arg, pf.url, dest));
      assert.equal(readFileSync(dest, 'utf8'), expected);
    }
    const all = pf.path('all');
    assertOk(await pf.run('restore', '--file-to-restore', '.', pf.url, all));
    assertSameTree(src, all);
  });
});

describe('a backup in the same second as the last one', () => {
  /**
   * Makes the target's last set end a few seconds ahead (--current-time), waits for the clock to
   * reach that second, then runs `args` without --current-time: its clock is in the last set's
   * second, so it must wait. Only the last run's start has to fit in that second (not the set-up
   * runs, slow on a loaded machine); retried when even that did not.
   */
  async function runRightAfter(
    t: { after: (fn: () => void) => void; diagnostic: (m: string) => void },
    first: readonly string[],
    args: readonly string[],
  ): Promise<{ pf: PfTarget; last: number; r: RunResult }> {
    for (let attempt = 1; ; attempt++) {
      const pf = newTarget(t, 'same-second');
      const src = join(pf.work, 'src');
      buildTree(src, { entries: [{ kind: 'file', path: 'f', content: 'one\n' }] });
      assertOk(await pf.run('full', '--current-time', String(Math.floor(Date.now() / 1000) - HOUR), src, pf.url));
      const last = Math.floor(Date.now() / 1000) + 3;
      assertOk(await pf.run(...first, '--current-time', String(last), src, pf.url));
      writeFileSync(join(src, 'f'), 'two\n');
      const untilThatSecond = last * 1000 + 20 - Date.now();
      if (untilThatSecond > 0) await new Promise((res) => setTimeout(res, untilThatSecond));
      const r = await pf.run('-v', 'info', ...args, src, pf.url);
      if (/waiting for the clock to pass it/.test(r.stdout) || r.code !== 0) {
        t.diagnostic(`the clock was at the last backup on attempt ${attempt}`);
        return { pf, last, r };
      }
      assert.ok(attempt < 5, `the clock was never at the last backup in ${attempt} attempts`);
    }
  }

  it('an incremental waits for the clock to pass the last backup, and goes on', async (t) => {
    const { pf, last, r } = await runRightAfter(t, ['incremental'], ['incremental']);
    assertOk(r);
    assert.match(
      r.stdout,
      new RegExp(`^The last backup at .* ends at ${timeString(last)}, this very second: waiting for the clock to pass it$`, 'm'),
    );
    const m = /^Starting incremental backup (\S+) to (\S+)$/m.exec(r.stdout);
    assert.ok(m, describeRun(r));
    assert.equal(m[1], timeString(last));
    assert.ok(m[2]! > timeString(last), `${m[2]} is after ${timeString(last)}`);
    const restored = pf.path('dest');
    assertOk(await pf.run('restore', pf.url, restored));
    assert.equal(readFileSync(join(restored, 'f'), 'utf8'), 'two\n');
  });

  it('a full does the same after a chain ending this second', async (t) => {
    const { pf, last, r } = await runRightAfter(t, ['incremental'], ['full']);
    assertOk(r);
    const m = /^Starting full backup at (\S+)$/m.exec(r.stdout);
    assert.ok(m && m[1]! > timeString(last), describeRun(r));
    const status = JSON.parse((await pf.run('collection-status', '--json', pf.url)).stdout) as { chains: unknown[] };
    assert.equal(status.chains.length, 2);
  });

  it('the verb-less form too', async (t) => {
    const { r } = await runRightAfter(t, ['full'], []);
    assertOk(r);
    assert.match(r.stdout, /^Starting incremental backup /m);
  });

  it('an explicit --current-time at or before the last backup exits 13 naming both times; so does a clock far behind', async (t) => {
    const pf = newTarget(t, 'current-time');
    const src = join(pf.work, 'src');
    buildTree(src, { entries: [{ kind: 'file', path: 'f', content: 'one\n' }] });
    assertOk(await pf.run('full', '--current-time', String(T0), src, pf.url));
    assertOk(await pf.run('incremental', '--current-time', String(T0 + HOUR), src, pf.url));
    const before = pf.files();
    for (const [verb, time] of [
      ['incremental', T0 + HOUR],
      ['incremental', T0],
      ['full', T0 + HOUR],
      ['full', T0 + 1],
      ['', T0 + HOUR],
    ] as const) {
      const r = await pf.run(...(verb ? [verb] : []), '--current-time', String(time), src, pf.url);
      assertFails(
        r,
        13,
        new RegExp(
          `^--current-time ${timeString(time)} is not after the last backup at ${pf.url} \\(${timeString(T0 + HOUR)}\\); a new set must be later$`,
        ),
      );
    }
    // the target's last backup is an hour ahead of this machine's clock (T0 is in 2027)
    const ahead = newTarget(t, 'clock-behind');
    const future = Math.floor(Date.now() / 1000) + HOUR;
    assertOk(await ahead.run('full', '--current-time', String(future), src, ahead.url));
    assertFails(
      await ahead.run('incremental', src, ahead.url),
      13,
      new RegExp(
        `^the clock \\(\\d{8}T\\d{6}Z\\) is behind the last backup at ${ahead.url} \\(${timeString(future)}\\); check the system clock$`,
      ),
    );
    assert.deepEqual(pf.files(), before, 'nothing was written');
  });
});

/** A chain whose incremental holds a delta of a file spanning volumes (--volsize 1). */
async function chainWithSpanningDelta(pf: PfTarget, run: (...args: string[]) => Promise<RunResult>): Promise<string> {
  const src = join(pf.work, 'src');
  const rng = new Rng(7);
  const big = rng.bytes(3_000_000);
  buildTree(src, {
    entries: [
      { kind: 'file', path: 'big.bin', content: big },
      { kind: 'file', path: 'a-small.txt', content: 'small\n' },
    ],
  });
  assertOk(await run('full', '--volsize', '1', '--current-time', String(T0), src, pf.url));
  rng.bytes(2_000_000).copy(big, 500_000);
  writeFileSync(join(src, 'big.bin'), big);
  assertOk(await run('incremental', '--volsize', '1', '--current-time', String(T0 + HOUR), src, pf.url));
  return src;
}

const LAYERS = [
  { name: 'gzip', extra: [] as string[], passphrase: undefined as string | undefined },
  { name: 'plain (--no-compression)', extra: ['--no-compression'], passphrase: undefined },
  { name: 'encrypted', extra: [], passphrase: 'correct horse' },
];

describe('a corrupt volume of an incremental', () => {
  for (const layer of LAYERS) {
    it(`${layer.name}: each volume whose bytes do not match its manifest's SHA1 exits 21 naming it, as for a full`, async (t) => {
      const pf = newTarget(t, 'corrupt-inc');
      const common = [...(layer.passphrase ? [] : ['--no-encryption']), '--archive-dir', pf.archiveDir, '--name', 'test', ...layer.extra];
      const run = (...args: string[]) =>
        runPermafrost([...common, ...args], layer.passphrase ? { PASSPHRASE: layer.passphrase } : undefined);
      const src = await chainWithSpanningDelta(pf, run);
      const volumes = pf.files().filter((f) => f.includes('.vol'));
      const incVolumes = volumes.filter((f) => f.startsWith('duplicity-inc.'));
      assert.ok(incVolumes.length >= 2, `the incremental spans volumes: ${incVolumes.join(' ')}`);
      for (const name of [...incVolumes, volumes.find((f) => f.startsWith('duplicity-full.') && f.includes('.vol2.'))!]) {
        const file = join(pf.remote, name);
        const good = readFileSync(file);
        const bad = Buffer.from(good);
        bad[Math.floor(bad.length / 2)]! ^= 0xff;
        writeFileSync(file, bad);
        const dest = pf.path('dest');
        assertFails(
          await run('restore', pf.url, dest),
          21,
          new RegExp(
            `^${name.replace(/\./g, '\\.')}: SHA1 [0-9a-f]{40} does not match the manifest's [0-9a-f]{40}; refusing to restore from it$`,
          ),
        );
        writeFileSync(file, good);
      }
      const dest = pf.path('dest');
      assertOk(await run('restore', pf.url, dest));
      assertSameTree(src, dest);
    });
  }
});

describe('a set with a missing volume', () => {
  for (const layer of [LAYERS[0]!, LAYERS[2]!]) {
    it(`${layer.name}: collection-status reports it damaged, restore exits 22 writing nothing, verify exits 1`, async (t) => {
      const pf = newTarget(t, 'missing-vol');
      const common = [...(layer.passphrase ? [] : ['--no-encryption']), '--archive-dir', pf.archiveDir, '--name', 'test', ...layer.extra];
      const run = (...args: string[]) =>
        runPermafrost([...common, ...args], layer.passphrase ? { PASSPHRASE: layer.passphrase } : undefined);
      const src = await chainWithSpanningDelta(pf, run);
      const full = pf.files().filter((f) => f.startsWith('duplicity-full.') && f.includes('.vol'));
      const inc = pf.files().filter((f) => f.startsWith('duplicity-inc.') && f.includes('.vol'));
      // the full's last volume (no gap in the listing: only the manifest tells) and the inc's second
      const lastOfFull = full.length;
      const aside = join(pf.work, 'aside');
      rmSync(aside, { force: true, recursive: true });
      const hide = (name: string) => renameSync(join(pf.remote, name), `${aside}-${name}`);
      hide(full.find((f) => f.includes(`.vol${lastOfFull}.`))!);
      hide(inc.find((f) => f.includes('.vol2.'))!);

      type Status = { chains: { sets: { type: string; missingVolumes: number[]; volumesCheckedBy: string }[] }[] };
      const status = async (...extra: string[]) => {
        const r = await run('collection-status', ...extra, pf.url);
        assertOk(r);
        return r;
      };
      const json = JSON.parse((await status('--json')).stdout) as Status;
      assert.deepEqual(
        json.chains[0]!.sets.map((s) => [s.type, s.missingVolumes, s.volumesCheckedBy]),
        [
          ['full', [lastOfFull], 'manifest'],
          ['inc', [2], 'manifest'],
        ],
      );
      const text = (await status()).stdout;
      assert.match(text, new RegExp(`^ +Full .*\\n +DAMAGED: missing volume ${lastOfFull}$`, 'm'));
      assert.match(text, /^ +Incremental .*\n +DAMAGED: missing volume 2$/m);
      assert.match(text, /^Found 2 damaged backup set\(s\), with volumes missing at the target/m);

      // without the cache: a plain manifest is read from the target; an encrypted one is not
      // (no passphrase asked for a status), and then only the listing's gap shows
      rmSync(pf.cache, { recursive: true });
      const cold = JSON.parse((await runPermafrost([...common, 'collection-status', '--json', pf.url])).stdout) as Status;
      const expectCold = layer.passphrase
        ? [
            [[], 'listing'],
            [[2], 'listing'],
          ]
        : [
            [[lastOfFull], 'manifest'],
            [[2], 'manifest'],
          ];
      assert.deepEqual(
        cold.chains[0]!.sets.map((s) => [s.missingVolumes, s.volumesCheckedBy]),
        expectCold,
      );

      // restore: one line naming the volume, exit 22, the destination not even created
      const dest = pf.path('dest');
      assertFails(
        await run('restore', pf.url, dest),
        22,
        new RegExp(`^volume ${lastOfFull} of the set ending ${timeString(T0)} is listed in its manifest but missing at the target$`),
      );
      assert.ok(!existsSync(dest));
      assertFails(await run('restore', '--time', String(T0), pf.url, dest), 22, /missing at the target/);
      assert.ok(!existsSync(dest));
      // a path whose volumes are all there restores, and correctly
      const one = pf.path('one');
      assertOk(await run('restore', '--file-to-restore', 'a-small.txt', pf.url, one));
      assert.equal(readFileSync(one, 'utf8'), 'small\n');

      const v = await run('verify', pf.url, src);
      assert.equal(v.code, 1, describeRun(v));
      assert.match(v.stdout + v.stderr, new RegExp(`Missing: volume ${lastOfFull} of the full set`));
      assert.match(v.stdout + v.stderr, /Missing: volume 2 of the incremental set/);
      assert.deepEqual(
        readdirSync(pf.work).filter((n) => n.startsWith('dest')),
        [],
      );
    });
  }
});

describe('restore --force over an earlier restore', () => {
  it('as a user who is not root, into read-only directories (the restore gives them their mode again)', async (t) => {
    const pf = newTarget(t, 'force-readonly');
    const src = join(pf.work, 'src');
    buildTree(src, {
      entries: [
        { kind: 'file', path: 'ro/f', content: 'x\n' },
        { kind: 'dir', path: 'ro', mode: 0o555 },
      ],
      root: { mode: 0o555 },
    });
    assertOk(await pf.run('full', '--current-time', String(T0), src, pf.url));
    // as root, the restores run as nobody (setpriv); otherwise as this user, who is not root either
    const asUser = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
    chmodSync(pf.work, 0o777);
    execFileSync('chmod', ['-R', 'a+rwX', pf.remote, pf.archiveDir]);
    const dest = join(pf.work, 'dest');
    const restore = (...extra: string[]) => {
      const argv = [
        ...asUser,
        process.execPath,
        PERMAFROST_BIN,
        'restore',
        '--no-encryption',
        '--archive-dir',
        pf.archiveDir,
        '--name',
        'test',
        ...extra,
        pf.url,
        dest,
      ];
      return runCommand(argv[0]!, argv.slice(1), { expectCode: 'any' });
    };
    assertOk(await restore());
    assertSameTree(src, dest, { owner: false });
    assertOk(await restore('--force'));
    assertSameTree(src, dest, { owner: false });
  });
});
