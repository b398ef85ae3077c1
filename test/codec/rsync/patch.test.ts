import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { deltaOf } from '../../../src/codec/rsync/delta.ts';
import { DeltaPatcher, applyDelta } from '../../../src/codec/rsync/patch.ts';
import type { BasisReader } from '../../../src/codec/rsync/patch.ts';
import { signatureOf } from '../../../src/codec/rsync/signature.ts';
import { basisAndNew, bigBin, bigBinModified, blockLen, chunkSizes, chunked } from './fixtures.ts';

const MAGIC = '72730236';

interface Run {
  output: Buffer;
  sinkChunks: number[];
  reads: [number, number][];
}

/** Patches with the delta fed in chunks; the basis reader is strict (throws past the end), like a file read loop. */
async function patch(basis: Buffer, delta: Uint8Array, sizes: readonly number[] = [], basisLength?: number): Promise<Run> {
  const sinkChunks: number[] = [];
  const pieces: Buffer[] = [];
  const reads: [number, number][] = [];
  const read: BasisReader = async (offset, length) => {
    reads.push([offset, length]);
    if (offset + length > basis.length) throw new Error(`test basis: read ${offset}+${length} past the end`);
    return Buffer.from(basis.subarray(offset, offset + length));
  };
  const patcher = new DeltaPatcher(
    read,
    async (chunk) => {
      sinkChunks.push(chunk.length);
      pieces.push(Buffer.from(chunk));
    },
    basisLength === undefined ? {} : { basisLength },
  );
  for (const c of chunked(delta, sizes)) await patcher.write(c);
  await patcher.end();
  const output = Buffer.concat(pieces);
  assert.equal(patcher.bytesWritten, output.length);
  return { output, sinkChunks, reads };
}

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('the VERIFIED spec deltas patch to the new files', async () => {
  assert.equal((await applyDelta(Buffer.from('hello\n'), hex(`${MAGIC} 0c 68656c6c6f20776f726c640a 00`))).toString(), 'hello world\n');
  const file = Buffer.alloc(65536, 'x');
  assert.deepEqual(await applyDelta(file, hex(`${MAGIC} 47 00 00010000 00`)), file);
  // docs/duplicity-format.md §10.3 diff/big.bin, assembled from its command list.
  const modified = bigBinModified();
  const delta = Buffer.concat([
    hex(`${MAGIC} 47 00 00011000`),
    hex('42 0200'),
    modified.subarray(69632, 70144),
    hex('4e 00011200 e400'),
    hex('46 00 5200'),
    hex('4e 00024800 01f0'),
    hex('00'),
  ]);
  assert.equal(delta.length, 544);
  assert.deepEqual((await patch(bigBin(), delta, [7, 100, 1])).output, modified);
});

test('patching is independent of delta chunking, with or without a known basis length', async () => {
  await fc.assert(
    fc.asyncProperty(basisAndNew, blockLen, chunkSizes, fc.boolean(), async ([basis, next], bl, sizes, known) => {
      const delta = deltaOf(signatureOf(basis, bl), next);
      const run = await patch(basis, delta, sizes, known ? basis.length : undefined);
      assert.deepEqual(run.output, next);
      assert.ok(run.sinkChunks.every((n) => n > 0));
    }),
    { numRuns: 200 },
  );
});

test('literals stream through in bounded pieces, never as views of the delta chunks', async () => {
  const big = Buffer.alloc(3 * 1024 * 1024 + 5);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 9)) & 0xff;
  const delta = Buffer.concat([hex(`${MAGIC} 43`), Buffer.from([0, 0x30, 0, 5]), big, hex('00')]);
  const kept: Buffer[] = [];
  const patcher = new DeltaPatcher(null, (chunk) => {
    kept.push(chunk); // kept as is: the patcher promises the sink may keep its chunks
  });
  for (const c of chunked(delta, [1000, 70000, 200000])) {
    const reused = Buffer.from(c);
    await patcher.write(reused);
    reused.fill(0); // the caller reuses its buffer
  }
  await patcher.end();
  assert.deepEqual(Buffer.concat(kept), big);
  assert.ok(Math.max(...kept.map((k) => k.length)) <= 65536, 'output pieces are bounded');
});

test('small copies share read-ahead when the basis length is known, and nothing past a COPY is read otherwise', async () => {
  const basis = bigBin();
  const commands: Buffer[] = [hex(MAGIC)];
  for (let i = 0; i < 59; i++) {
    const copy = Buffer.from([0x4a, 0, 0, 0x02, 0x00]); // COPY, 2-byte offset, 2-byte length 512
    copy.writeUInt16BE(i * 1024, 1);
    commands.push(copy);
  }
  commands.push(hex('00'));
  const small = Buffer.concat(commands);
  const expected = Buffer.concat(Array.from({ length: 59 }, (_, i) => basis.subarray(i * 1024, i * 1024 + 512)));
  const withLength = await patch(basis, small, [], basis.length);
  assert.deepEqual(withLength.output, expected);
  assert.ok(withLength.reads.length <= 2, `${withLength.reads.length} basis reads for 59 small copies`);
  const withoutLength = await patch(basis, small);
  assert.deepEqual(withoutLength.output, expected);
  assert.ok(
    withoutLength.reads.every(([, n]) => n === 512),
    'without a basis length nothing past a COPY is read',
  );
});

test('invalid deltas are rejected with clear errors', async () => {
  const basis = Buffer.from('0123456789');
  const rejects = async (
    delta: string | Buffer,
    pattern: RegExp,
    opts: { basisLength?: number; noBasis?: boolean } = {},
  ): Promise<void> => {
    const bytes = typeof delta === 'string' ? hex(delta) : delta;
    const patcher = new DeltaPatcher(opts.noBasis ? null : async (o, n) => basis.subarray(o, o + n), () => {}, opts);
    await assert.rejects(async () => {
      await patcher.write(bytes);
      await patcher.end();
    }, pattern);
  };
  await rejects('72730136 00', /not an rsync delta: bad magic 0x72730136/);
  await rejects('7273', /truncated rsync delta: 2 bytes, no complete header/);
  await rejects('', /truncated rsync delta: 0 bytes/);
  await rejects(`${MAGIC}`, /no END command/);
  await rejects(`${MAGIC} 05 6162`, /literal cut off at byte 7, 3 bytes missing/);
  await rejects(`${MAGIC} 42 01`, /operands of opcode 0x42 cut off/);
  await rejects(`${MAGIC} 45 00`, /operands of opcode 0x45 cut off/);
  for (let op = 0x55; op <= 0xff; op++)
    await rejects(`${MAGIC} ${op.toString(16)} 00`, new RegExp(`reserved opcode 0x${op.toString(16)} at byte 4`));
  await rejects(`${MAGIC} 00 00`, /data after the END command/);
  await rejects(`${MAGIC} 41 00 00`, /zero-length LITERAL/);
  await rejects(`${MAGIC} 45 00 00 00`, /zero-length COPY/);
  await rejects(`${MAGIC} 45 08 03 00`, /COPY 8\+3 goes beyond the basis end \(10 bytes\)/, { basisLength: 10 });
  await rejects(`${MAGIC} 45 08 03 00`, /COPY 10\+1 goes beyond the basis end/);
  await rejects(`${MAGIC} 45 0b 01 00`, /COPY 11\+1 goes beyond the basis end/);
  await rejects(`${MAGIC} 45 00 01 00`, /COPY \(0\+1\) but there is no basis/, { noBasis: true });
  await rejects(`${MAGIC} 44 ffffffffffffffff 00`, /absurd literal length/);
  await rejects(`${MAGIC} 54 0000000000000000 ffffffffffffffff 00`, /absurd COPY length/);
  await rejects(`${MAGIC} 54 7fffffffffffffff 0000000000000001 00`, /absurd COPY offset/);
  await rejects(`${MAGIC} 54 001fffffffffffff 0000000000000001 00`, /COPY 9007199254740991\+1 out of range/);
  // A huge declared literal with little data behind it must not be allocated: it is truncated.
  await rejects(`${MAGIC} 44 000000ffffffffff 616263`, /literal cut off/);
});

test('the patcher refuses overlapping calls, and calls after end() or an error', async () => {
  const p = new DeltaPatcher(null, async () => {});
  const first = p.write(hex(MAGIC));
  await assert.rejects(p.write(hex('00')), /overlapping calls/);
  await first;
  await p.write(hex('00'));
  await p.end();
  await assert.rejects(p.write(hex('00')), /after end/);
  const broken = new DeltaPatcher(null, async () => {});
  await assert.rejects(broken.write(hex(`${MAGIC} ff`)), /reserved opcode/);
  await assert.rejects(broken.write(hex('00')), /after an error/);
});

test('random bytes after a valid magic either patch or fail with a one-line Error', async () => {
  const basis = Buffer.alloc(5000, 'basis');
  const body = fc.oneof(
    fc.uint8Array({ maxLength: 300, size: 'max' }),
    // Mostly valid command streams with random corruption, to get past the first opcode.
    fc.tuple(basisAndNew, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 })).map(([[, next], flips]) => {
      const d = Buffer.from(deltaOf(signatureOf(basis, 64), next).subarray(4));
      for (const [at, v] of flips) if (d.length > 0) d[at % d.length] = v;
      return d;
    }),
  );
  await fc.assert(
    fc.asyncProperty(body, chunkSizes, async (bytes, sizes) => {
      let produced = 0;
      const patcher = new DeltaPatcher(
        async (o, n) => basis.subarray(o, o + n),
        (chunk) => {
          produced += chunk.length;
        },
        { basisLength: basis.length },
      );
      try {
        for (const c of chunked(Buffer.concat([hex(MAGIC), bytes]), sizes)) await patcher.write(c);
        await patcher.end();
      } catch (err) {
        assert.ok(err instanceof Error, 'throws an Error');
        assert.ok(err.message.length > 0 && !err.message.includes('\n'), err.message);
        return;
      }
      assert.equal(produced, patcher.bytesWritten);
    }),
    { numRuns: 300 },
  );
});
