/**
 * `verify` without --compare-data on a file:// target (issue 6): the target is checked in place,
 * nothing is restored and the source is not read. Every volume a manifest references must exist
 * and hash to the manifest's SHA1; missing and mismatched volumes and unreadable manifests are
 * listed one per line with exit 1; volumes no manifest references are listed as extra (exit 0).
 * Expected hashes and names come from the target's files themselves (node's SHA1), not from
 * permafrost's output.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileUrl } from '../support/cli.ts';
import { assertOk, describeRun, HOUR, newTarget, T0, type PfTarget } from '../support/pf-target.ts';
import { tmpDir } from '../support/tmp.ts';
import { escapeRegExp } from '../support/regex.ts';

const cleanups: (() => unknown)[] = [];
const hooks = {
  after: (fn: () => unknown) => {
    cleanups.push(fn);
  },
};
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

interface Json {
  sets: number;
  volumes: number;
  checked: { sha1: number; crc32c: number; size: number; presence: number };
  problems: { kind: string; name: string; message: string }[];
  extra: { name: string; why: string }[];
}
const lastJson = (stdout: string): Json => JSON.parse(stdout.slice(stdout.lastIndexOf('\n{') + 1)) as Json;

describe('verify without --compare-data (file://)', () => {
  let base: PfTarget;
  let src: string;
  before(async () => {
    base = newTarget(hooks, 'verify-base');
    src = join(base.work, 'src');
    mkdirSync(src);
    // incompressible, so that --volsize 1 gives the full set three volumes
    writeFileSync(join(src, 'big.bin'), randomBytes(2_500_000));
    writeFileSync(join(src, 'small.txt'), 'one\n');
    assertOk(await base.run('full', '--volsize', '1', '--current-time', String(T0), src, base.url));
    writeFileSync(join(src, 'small.txt'), 'two\n');
    assertOk(await base.run('incremental', '--volsize', '1', '--current-time', String(T0 + HOUR), src, base.url));
  });

  function copy(label: string): PfTarget {
    const pf = newTarget(hooks, label);
    cpSync(base.remote, pf.remote, { recursive: true });
    return pf;
  }
  const volumes = (pf: PfTarget) => pf.files().filter((n) => n.includes('.difftar'));
  const missingSource = () => join(tmpDir(hooks, 'no-source'), 'does-not-exist');

  it('an intact target: exit 0, every volume read and hashed, no source needed', async () => {
    const pf = copy('intact');
    assert.ok(volumes(pf).length >= 4, `expected several volumes, got ${volumes(pf).join(' ')}`);
    const r = await pf.run('verify', '--json', pf.url, missingSource());
    assert.equal(r.code, 0, describeRun(r));
    const j = lastJson(r.stdout);
    assert.equal(j.sets, 2);
    assert.equal(j.volumes, volumes(pf).length);
    assert.equal(j.checked.sha1, volumes(pf).length);
    assert.deepEqual(j.problems, []);
    assert.deepEqual(j.extra, []);
  });

  it('a corrupt volume, a missing volume and a leftover: one line each, exit 1; the leftover alone does not fail', async () => {
    const pf = copy('damaged');
    const [fullVol1, fullVol2] = volumes(pf).filter((n) => n.startsWith('duplicity-full.'));
    const incVol = volumes(pf).find((n) => n.startsWith('duplicity-inc.'))!;
    // a leftover of an interrupted full backup: a volume without a manifest
    const leftover = fullVol1!.replace(/\d{8}T\d{6}Z/, '20300101T000000Z');
    cpSync(join(pf.remote, fullVol1!), join(pf.remote, leftover));
    let r = await pf.run('verify', pf.url, missingSource());
    assert.equal(r.code, 0, `an extra volume is listed, not failed\n${describeRun(r)}`);
    assert.match(r.stdout, new RegExp(`^Extra: ${escapeRegExp(leftover)} \\(.*without a manifest.*\\)$`, 'm'));

    const bytes = readFileSync(join(pf.remote, fullVol2!));
    const good = sha1(bytes);
    bytes[bytes.length >> 1]! ^= 0x40;
    writeFileSync(join(pf.remote, fullVol2!), bytes);
    rmSync(join(pf.remote, incVol));
    r = await pf.run('verify', pf.url, missingSource());
    assert.equal(r.code, 1, describeRun(r));
    assert.match(
      r.stdout,
      new RegExp(`^Checksum mismatch: ${escapeRegExp(fullVol2!)}: SHA1 ${sha1(bytes)} at the target, ${good} in the manifest$`, 'm'),
    );
    assert.match(
      r.stdout,
      /^Missing: volume 1 of the incremental set 20270115T080000Z to 20270115T090000Z, listed in duplicity-inc\.20270115T080000Z\.to\.20270115T090000Z\.manifest$/m,
    );
    assert.match(r.stdout, new RegExp(`^Extra: ${escapeRegExp(leftover)} `, 'm'));
    assert.match(r.stdout, /1 missing, 1 mismatched or unreadable, 1 extra/);
    assert.equal(
      r.stdout.split('\n').filter((l) => /^(Missing|Checksum mismatch|Size mismatch|Unreadable manifest|Extra):/.test(l)).length,
      3,
    );

    // --time before the incremental: only the full set is checked, so only its volume fails
    r = await pf.run('verify', '--json', '--time', String(T0), pf.url, missingSource());
    assert.equal(r.code, 1, describeRun(r));
    const j = lastJson(r.stdout);
    assert.equal(j.sets, 1);
    assert.deepEqual(
      j.problems.map((p) => [p.kind, p.name]),
      [['checksum', fullVol2]],
    );
  });

  it('an unreadable manifest is a problem (exit 1) naming it; its set cannot be checked', async () => {
    const pf = copy('manifest');
    const manifest = pf.files().find((n) => n.startsWith('duplicity-inc.') && n.endsWith('.manifest'))!;
    writeFileSync(join(pf.remote, manifest), readFileSync(join(pf.remote, manifest)).subarray(0, 40));
    const r = await pf.run('verify', '--json', pf.url, missingSource());
    assert.equal(r.code, 1, describeRun(r));
    const j = lastJson(r.stdout);
    assert.deepEqual(
      j.problems.map((p) => [p.kind, p.name]),
      [['manifest', manifest]],
    );
    // with --json the messages are on stderr (docs/output.md)
    assert.match(r.stderr, new RegExp(`^Unreadable manifest: ${escapeRegExp(manifest)}: `, 'm'));
  });

  it('no chain at the target: exit 12', async () => {
    const empty = newTarget(hooks, 'verify-empty');
    mkdirSync(empty.remote);
    const r = await empty.run('verify', fileUrl(empty.remote), missingSource());
    assert.equal(r.code, 12, describeRun(r));
  });
});
