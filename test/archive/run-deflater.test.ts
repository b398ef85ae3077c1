import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as zc, deflateRawSync, inflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { RunDeflater } from '../../src/archive/run-deflater.ts';
import { Rng } from '../support/rng.ts';

/** The reference: Node's public one-shot API, one zlib state per run. */
const reference = (run: Uint8Array, level: number) => deflateRawSync(run, { level, finishFlush: zc.Z_SYNC_FLUSH });

/**
 * What a reader gets from one run alone. Bytes may differ from the reference: zlib's match search
 * peeks past the input into the window, which a reused state has filled with older data (it never
 * emits a match there), so very short runs can come out one or two bytes longer.
 */
const inflateRun = (out: Buffer) => inflateRawSync(Buffer.concat([out, FINAL_BLOCK]));

/** A final empty fixed-Huffman block, so that a chain of sync-flushed runs inflates on its own. */
const FINAL_BLOCK = Buffer.from([0x03, 0x00]);

describe('RunDeflater', () => {
  it('reuses one zlib state on the Node versions we support (a Node change to its internals fails here)', () => {
    const d = new RunDeflater(1);
    try {
      assert.equal(d.fast, true, `Node ${process.version}: zlib internals changed; runs fall back to deflateRawSync (slower)`);
    } finally {
      d.close();
    }
  });

  it('gives valid sync-flushed runs that read back alone and chained, for any runs, levels and recycling', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.array(
          fc.record({ kind: fc.constantFrom('text', 'random', 'zeros'), size: fc.integer({ min: 0, max: 20_000 }), recycle: fc.boolean() }),
          { minLength: 1, maxLength: 12 },
        ),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (level, runs, seed) => {
          const rng = new Rng(seed);
          const d = new RunDeflater(level);
          try {
            const kept: { input: Buffer; output: Buffer }[] = [];
            for (const r of runs) {
              if (r.recycle) {
                d.recycle();
                kept.length = 0;
              }
              const input =
                r.kind === 'random'
                  ? rng.bytes(r.size)
                  : r.kind === 'zeros'
                    ? Buffer.alloc(r.size)
                    : Buffer.from('glacier archive volume '.repeat(Math.ceil(r.size / 23)).slice(0, r.size));
              kept.push({ input, output: d.deflate(input) });
            }
            // results stay intact until recycled, even after later runs; each starts from an empty
            // window, and costs about what a fresh zlib state would
            for (const k of kept) {
              assert.deepEqual(inflateRun(k.output), k.input);
              assert.ok(k.output.length <= reference(k.input, level).length + 8, `${k.output.length} bytes for ${k.input.length}`);
            }
            const chain = Buffer.concat([...kept.map((k) => k.output), FINAL_BLOCK]);
            assert.deepEqual(inflateRawSync(chain), Buffer.concat(kept.map((k) => k.input)));
          } finally {
            d.close();
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('handles runs larger than its output memory, incompressible ones included', () => {
    const rng = new Rng(3);
    const d = new RunDeflater(6);
    try {
      for (const size of [300 * 1024, 1024 * 1024 + 17, 5 * 1024 * 1024]) {
        const input = rng.bytes(size);
        assert.deepEqual(inflateRun(d.deflate(input)), input, `random ${size}`);
        const zeros = Buffer.alloc(size);
        assert.deepEqual(inflateRun(d.deflate(zeros)), zeros, `zeros ${size}`);
      }
    } finally {
      d.close();
    }
  });
});
