/**
 * CRC-32 (the gzip polynomial) of two byte strings joined, from the CRC of each and the second's
 * length, as zlib's crc32_combine: batches of one gzip member compressed on different threads
 * each bring their own CRC, and the writer joins them in order without seeing the input.
 */
import { crcCombiner } from '../core/crc-combine.ts';

export const crc32Combine: (crc1: number, crc2: number, length2: number) => number = crcCombiner(0xedb88320);
