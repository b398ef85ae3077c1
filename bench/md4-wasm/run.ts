/**
 * MD4 speed on rsync blocks: the WebAssembly build of src/codec/rsync/md4.c (what md4Into runs)
 * against the TypeScript version (md4IntoTs), on random data in blocks of --block bytes (2048 is
 * the block length of large files, 512 of small ones). Prints MB/s for three rounds each and
 * checks that both give the same digests.
 *
 *   npx node bench/md4-wasm/run.ts [--mib 256] [--block 2048]
 */
import { randomFillSync } from 'node:crypto';
import { md4Into, md4IntoTs } from '../../src/codec/rsync/md4.ts';
import { arg } from '../arg.ts';

const mib = Number(arg('--mib', '256'));
const block = Number(arg('--block', '2048'));
const data = randomFillSync(Buffer.allocUnsafe(mib << 20));
const blocks = Math.ceil(data.length / block);

function digestAll(fn: typeof md4Into, out: Buffer): void {
  for (let i = 0; i < blocks; i++) fn(data, i * block, Math.min(data.length, (i + 1) * block), out, i * 16);
}

const wasmOut = Buffer.alloc(blocks * 16);
const tsOut = Buffer.alloc(blocks * 16);
const rows: string[] = [];
for (let round = 1; round <= 3; round++) {
  for (const [name, fn, out] of [
    ['typescript (md4IntoTs)', md4IntoTs, tsOut],
    ['webassembly (md4Into)', md4Into, wasmOut],
  ] as const) {
    const t = process.hrtime.bigint();
    digestAll(fn, out);
    const s = Number(process.hrtime.bigint() - t) / 1e9;
    rows.push(`round ${round}, ${name}: ${(data.length / 1e6 / s).toFixed(0)} MB/s`);
  }
}
if (!wasmOut.equals(tsOut)) throw new Error('the two MD4s disagree');
process.stdout.write(`MD4 of ${mib} MiB in ${block}-byte blocks (digests agree):\n${rows.join('\n')}\n`);
