/**
 * ManifestHeadReader reads the manifests real duplicity 0.8.22 and 3.x write (multi-volume, with
 * file lists, remote and cached copies) as parseManifest(…, { fileList: false }) reads them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from '../support/cli.ts';
import { DUP08_PATH, DUP3_PATH, requireDuplicity } from '../support/duplicity.ts';
import { Rng } from '../support/rng.ts';
import { tmpDir } from '../support/tmp.ts';
import { agrees } from './manifest-head-compare.ts';

test('manifests written by duplicity 0.8.22 and 3.x read the same', async (t) => {
  requireDuplicity();
  const dir = tmpDir(t, 'manifest-head');
  const src = join(dir, 'src');
  mkdirSync(join(src, 'dir'), { recursive: true });
  const rng = new Rng(2);
  writeFileSync(join(src, 'a.txt'), 'hello\n');
  writeFileSync(join(src, 'dir', 'b c.txt'), 'spaced\n');
  writeFileSync(Buffer.from(`${src}/caf\xe9-latin1`, 'latin1'), 'x\n');
  writeFileSync(join(src, 'big.bin'), rng.bytes(2_500_000)); // spans volumes at --volsize 1
  let checked = 0;
  for (const [tool, bin] of [
    ['dup08', DUP08_PATH],
    ['dup3', DUP3_PATH],
  ] as const) {
    const remote = join(dir, `remote-${tool}`);
    const cache = join(dir, `cache-${tool}`);
    const common = ['--no-encryption', '--volsize', '1', '--archive-dir', cache, '--name', 'n'];
    await runCommand(bin, ['full', ...common, src, `file://${remote}`], { label: `${tool} full` });
    writeFileSync(join(src, 'a.txt'), `hello ${tool}\n`);
    await runCommand(bin, ['incremental', ...common, src, `file://${remote}`], { label: `${tool} incremental` });
    for (const d of [remote, join(cache, 'n')]) {
      for (const name of readdirSync(d).filter((n) => n.endsWith('.manifest'))) {
        const buf = readFileSync(join(d, name));
        const r = agrees(buf);
        assert.ok('ok' in r, `${tool} ${name}: ${JSON.stringify(r)}`);
        assert.ok(r.ok.volumes.length >= 1);
        checked++;
      }
    }
  }
  assert.ok(checked >= 8, `${checked} manifests checked`);
});
