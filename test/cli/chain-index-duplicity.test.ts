/**
 * The chain index in a cache shared with duplicity 0.8.22 (docs/chain-index.md): duplicity adds
 * sets to a chain whose cache permafrost indexed, leaves the index alone and does not mind it;
 * permafrost's next incremental finds the index stale and rebuilds it from the signature files,
 * and every point restores with both tools.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { INDEX_DIR, IndexFileReader } from '../../src/archive/chain-index.ts';
import {
  BACKUP_TIME0,
  backupStep,
  type Chain,
  type ChainPoint,
  MUTATION_MTIME0,
  newChain,
  restoreAndCompare,
  writerCache,
} from '../support/chain.ts';
import { dup08, requireDuplicity } from '../support/duplicity.ts';
import { permafrost } from '../support/permafrost.ts';
import { tmpDir } from '../support/tmp.ts';
import { mutateTree } from '../support/tree.ts';

/** backupStep for permafrost's incremental, keeping its -v info output. */
async function permafrostIncremental(chain: Chain): Promise<{ point: ChainPoint; output: string }> {
  const step = chain.points.length;
  const mutations = mutateTree(chain.source, chain.seed, step, MUTATION_MTIME0 + step * 1000);
  const time = BACKUP_TIME0 + step * 3600;
  const run = await permafrost.incremental(chain.source, chain.url, {
    archiveDir: writerCache(chain, permafrost),
    name: chain.name,
    compression: chain.compression,
    volsize: chain.volsize,
    currentTime: time,
    extraArgs: ['-v', 'info'],
  });
  const snapshot = join(chain.work, `snapshot-${step}`);
  execFileSync('cp', ['-a', '--', chain.source, snapshot]);
  const point: ChainPoint = { step, kind: 'incremental', writer: permafrost.label, time, snapshot, mutations };
  chain.points.push(point);
  return { point, output: run.stdout + run.stderr };
}

describe('chain index in a cache shared with duplicity 0.8.22', () => {
  it('duplicity extends an indexed chain; permafrost rebuilds the stale index; both tools restore every point', async (t) => {
    requireDuplicity();
    const chain = newChain(tmpDir(t, 'chain-index-dup'), { seed: 37, compression: true, cache: 'shared' });
    const cache = join(writerCache(chain, permafrost), chain.name);
    const indexFile = join(cache, INDEX_DIR, 'index');
    const sigFiles = () => readdirSync(cache).filter((n) => n.includes('signatures'));

    await backupStep(chain, permafrost, 'full');
    assert.ok(existsSync(indexFile), 'permafrost indexed its full');
    const indexBefore = IndexFileReader.open(indexFile).header;
    const cachedBefore = sigFiles();

    await backupStep(chain, dup08, 'incremental');
    // duplicity added its own files and left permafrost's alone
    assert.equal(sigFiles().length, cachedBefore.length + 1);
    assert.deepEqual(IndexFileReader.open(indexFile).header, indexBefore, 'duplicity does not touch the index');

    const first = await permafrostIncremental(chain);
    assert.match(first.output, /Chain index .* is stale \(the chain has other signature files\): rebuilding it/);
    let header = IndexFileReader.open(indexFile).header;
    assert.deepEqual(
      header.key.signatures.map((s) => s.name),
      sigFiles().sort(),
      'the index is keyed to all three signature files',
    );

    await backupStep(chain, dup08, 'incremental');
    const second = await permafrostIncremental(chain);
    assert.match(second.output, /is stale .*: rebuilding it/);
    // and an incremental right after, by permafrost alone, uses the updated index as it is
    const third = await permafrostIncremental(chain);
    assert.doesNotMatch(third.output, /Chain index/);
    header = IndexFileReader.open(indexFile).header;
    assert.equal(header.key.signatures.length, 6);

    for (const point of chain.points) {
      await restoreAndCompare(chain, permafrost, point);
      await restoreAndCompare(chain, dup08, point);
    }
  });
});
