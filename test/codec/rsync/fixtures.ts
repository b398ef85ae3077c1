import fc from 'fast-check';

/** docs/duplicity-format.md §10.1 `big.bin`: 150000 bytes, byte i = (7i + (i >> 8)) mod 251. */
export function bigBin(): Buffer {
  const b = Buffer.allocUnsafe(150000);
  for (let i = 0; i < b.length; i++) b[i] = (7 * i + (i >> 8)) % 251;
  return b;
}

/** docs/duplicity-format.md §10.2: `big.bin` with bytes 70000–70007 replaced by `MODIFIED`. */
export function bigBinModified(): Buffer {
  const b = bigBin();
  b.write('MODIFIED', 70000, 'latin1');
  return b;
}

/** docs/duplicity-format.md §10.1 `exact.bin`: 65536 bytes, byte i = i mod 256. */
export function exactBin(): Buffer {
  const b = Buffer.allocUnsafe(65536);
  for (let i = 0; i < b.length; i++) b[i] = i % 256;
  return b;
}

/** Splits `data` into consecutive chunks whose sizes cycle through `sizes` (all ≥ 1). */
export function chunked(data: Uint8Array, sizes: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  const buf = Buffer.from(data.buffer, data.byteOffset, data.length);
  let k = 0;
  for (let p = 0; p < buf.length; k++) {
    const n = sizes.length === 0 ? buf.length : sizes[k % sizes.length]!;
    out.push(buf.subarray(p, p + n));
    p += n;
  }
  return out;
}

export const chunkSizes = fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 0, maxLength: 6, size: 'max' });

/**
 * Data with repetition (small alphabets, repeated runs), so that rolling sums collide and blocks
 * repeat: the cases where matching decisions matter.
 */
export const basisData = fc
  .oneof(
    fc.uint8Array({ maxLength: 20000, size: 'max' }),
    fc.uint8Array({ maxLength: 20000, max: 3, size: 'max' }),
    fc
      .tuple(fc.uint8Array({ minLength: 1, maxLength: 300, size: 'max' }), fc.integer({ min: 1, max: 60 }))
      .map(([unit, times]) => Buffer.concat(Array.from({ length: times }, () => unit))),
  )
  .map((a) => Buffer.from(a));

type Mutation =
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'edit'; at: number; bytes: Uint8Array }
  | { kind: 'repeat'; at: number; length: number; to: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 700, size: 'max' }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 3000 }) }),
  fc.record({ kind: fc.constant('edit' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 50, size: 'max' }) }),
  fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 5000 }), to: fc.nat() }),
);

function applyMutation(data: Buffer, m: Mutation): Buffer {
  const at = data.length === 0 ? 0 : m.at % (data.length + 1);
  switch (m.kind) {
    case 'insert':
      return Buffer.concat([data.subarray(0, at), m.bytes, data.subarray(at)]);
    case 'delete':
      return Buffer.concat([data.subarray(0, at), data.subarray(at + m.length)]);
    case 'edit': {
      const copy = Buffer.from(data);
      copy.set(m.bytes.subarray(0, Math.max(0, copy.length - at)), at);
      return copy;
    }
    case 'repeat': {
      const piece = data.subarray(at, at + m.length);
      const to = m.to % (data.length + 1);
      return Buffer.concat([data.subarray(0, to), piece, data.subarray(to)]);
    }
  }
}

/** A basis and a new version of it made by a few random edits (or unrelated data). */
export const basisAndNew: fc.Arbitrary<readonly [Buffer, Buffer]> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(basisData, fc.array(mutation, { maxLength: 6 }))
      .map(([basis, ms]) => [basis, ms.reduce(applyMutation, basis)] as const),
  },
  { weight: 1, arbitrary: fc.tuple(basisData, basisData) },
);

/** Block lengths small enough that test-sized files have many blocks, plus duplicity's 512. */
export const blockLen = fc.oneof(fc.integer({ min: 1, max: 200 }), fc.constant(512));
