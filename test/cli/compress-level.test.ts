import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { permafrost, runPermafrost } from '../support/permafrost.ts';
import { assertSameTree } from '../support/compare.ts';
import { Rng } from '../support/rng.ts';
import { tmpDir } from '../support/tmp.ts';

function volumeBytes(target: string): number {
  return readdirSync(target)
    .filter((n) => n.includes('.vol'))
    .reduce((sum, n) => sum + statSync(join(target, n)).size, 0);
}

describe('--compress-level', () => {
  it('sets the deflate level of gzip and encrypted volumes, and every level restores', async (t) => {
    const root = tmpDir(t, 'compress-level');
    const src = join(root, 'src');
    mkdirSync(src);
    const rng = new Rng(5);
    for (let i = 0; i < 40; i++) writeFileSync(join(src, `doc-${i}.txt`), rng.words(20_000 + rng.int(40_000)));

    for (const encrypted of [false, true]) {
      const sizes = new Map<number, number>();
      for (const level of [1, 9]) {
        const label = `${encrypted ? 'gpg' : 'gz'}-${level}`;
        const target = join(root, `target-${label}`);
        const common = { archiveDir: join(root, `cache-${label}`), name: 'n', ...(encrypted ? { passphrase: 'level test' } : {}) };
        await permafrost.full(src, `file://${target}`, { ...common, extraArgs: ['--compress-level', String(level)] });
        sizes.set(level, volumeBytes(target));
        const out = join(root, `restored-${label}`);
        await permafrost.restore(`file://${target}`, out, common);
        assertSameTree(src, out, {}, label);
      }
      // the same data, compressed harder, is smaller: the option reached the compressor
      assert.ok(
        sizes.get(9)! < sizes.get(1)! * 0.97,
        `${encrypted ? 'encrypted' : 'gzip'} volumes: level 9 ${sizes.get(9)} bytes, level 1 ${sizes.get(1)}`,
      );
    }
  });

  it('rejects a level outside 1-9 with a usage error (exit 2) that names the option', async (t) => {
    const root = tmpDir(t, 'compress-level-bad');
    for (const bad of ['0', '10', 'six']) {
      const r = await runPermafrost(['full', '--no-encryption', '--compress-level', bad, root, `file://${join(root, 'target')}`]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        bad === 'six'
          ? /option --compress-level: invalid integer value: 'six'/
          : /option --compress-level: must be a deflate level from 1 to 9, got \d+/,
      );
    }
  });
});
