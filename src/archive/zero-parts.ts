import { crc32 } from 'node:zlib';
import type { RunDeflater } from './run-deflater.ts';
import type { KnownZeros } from './gzip-framing.ts';

/**
 * The parts of a gzip batch that are all zeros: a sparse file's holes, which reach the volume as
 * 64 KiB tar chunks of zeros (the tar format has to carry them as data). Their raw-deflate runs
 * (each from an empty window: see deflateParts) and what they do to the CRC-32 depend only on
 * their length, so they are computed once per length and reused, instead of deflating and
 * checksumming gigabytes of zeros. One per gzip file (the runs depend on its deflate level).
 * The runs keep the file's level although they are made only once: at level 9 64 KiB of zeros
 * take 83 bytes instead of 305 (level 1), but Python's gzip reader, duplicity's, then needs 2.4 s
 * of CPU per GiB of zeros instead of 0.54 s (it copies its unread input around at such ratios).
 */
export class ZeroParts implements KnownZeros {
  readonly #compare = Buffer.alloc(MAX_ZERO_PART);
  /** Flags of the batch last scanned, by part. */
  #flags: boolean[] = [];
  readonly #runs = new Map<number, Buffer>();
  readonly #crcs = new Map<number, CrcOfZeros>();

  /** Marks the parts of `data` (lengths as in deflateParts) that are all zeros; false when none is. */
  scan(data: Buffer, lengths: readonly number[]): boolean {
    let any = false;
    let at = 0;
    const flags = this.#flags;
    flags.length = 0;
    for (const length of lengths) {
      // a comparison stops at the first byte that is not zero: ordinary data costs next to nothing
      const zero = length >= MIN_ZERO_PART && length <= MAX_ZERO_PART && isZero(this.#compare, data, at, length);
      flags.push(zero);
      any ||= zero;
      at += length;
    }
    return any;
  }

  isZero(part: number): boolean {
    return this.#flags[part] === true;
  }

  /** The raw-deflate run of `length` zeros, as `deflater.deflate` makes it; not to be modified. */
  deflated(length: number, deflater: RunDeflater): Buffer {
    let run = this.#runs.get(length);
    if (run === undefined) {
      // a copy: the deflater's output memory is recycled
      run = Buffer.from(deflater.deflate(this.#compare.subarray(0, length)));
      if (this.#runs.size < CACHED_LENGTHS) this.#runs.set(length, run);
    }
    return run;
  }

  /** CRC-32 of `data` continuing `crc`, with the parts flagged by the last scan taken as known zeros. */
  crc32(data: Buffer, lengths: readonly number[], crc: number): number {
    let at = 0;
    let spanStart = 0;
    for (let i = 0; i < lengths.length; i++) {
      const length = lengths[i]!;
      if (this.#flags[i] === true) {
        if (at > spanStart) crc = crc32(data.subarray(spanStart, at), crc);
        crc = this.#crcOf(length).extend(crc);
        spanStart = at + length;
      }
      at += length;
    }
    if (at > spanStart) crc = crc32(data.subarray(spanStart, at), crc);
    return crc;
  }

  #crcOf(length: number): CrcOfZeros {
    let c = this.#crcs.get(length);
    if (c === undefined) {
      c = new CrcOfZeros(this.#compare.subarray(0, length));
      if (this.#crcs.size < CACHED_LENGTHS) this.#crcs.set(length, c);
    }
    return c;
  }
}

/**
 * crc32(zeros, c) for one run of zeros and any c. The CRC's register update is linear over GF(2),
 * so crc32(zeros, c) = A·c XOR crc32(zeros, 0) for a 32x32 bit matrix A, whose columns are
 * measured once with zlib itself: column i = crc32(zeros, 1 << i) XOR crc32(zeros, 0).
 */
class CrcOfZeros {
  readonly #ofZero: number;
  readonly #columns = new Uint32Array(32);

  constructor(zeros: Buffer) {
    this.#ofZero = crc32(zeros, 0);
    for (let i = 0; i < 32; i++) this.#columns[i] = (crc32(zeros, (1 << i) >>> 0) ^ this.#ofZero) >>> 0;
  }

  extend(crc: number): number {
    let out = this.#ofZero;
    for (let i = 0, c = crc >>> 0; c !== 0; i++, c >>>= 1) if (c & 1) out ^= this.#columns[i]!;
    return out >>> 0;
  }
}

function isZero(zeros: Buffer, data: Buffer, at: number, length: number): boolean {
  return zeros.subarray(0, length).equals(data.subarray(at, at + length));
}

/** Shorter parts are tar headers and padding: deflated with their neighbours. */
const MIN_ZERO_PART = 4096;
/** The multivol chunk size: a tar entry's data is never longer. */
const MAX_ZERO_PART = 65536;
/** Lengths whose runs and CRC operators are kept (a volume has one or two: full chunks and a last one). */
const CACHED_LENGTHS = 16;
