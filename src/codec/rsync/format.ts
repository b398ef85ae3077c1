/** librsync's wire-format constants (librsync 2.3.2 `librsync.h`, `prototab.h`; docs/duplicity-format.md §5). */

/** Signature with MD4 strong sums and the classic rollsum: the only kind duplicity writes. */
export const SIG_MAGIC_MD4 = 0x72730136;
/** Signature with BLAKE2b-256 strong sums and the rollsum (rdiff's old default). */
export const SIG_MAGIC_BLAKE2 = 0x72730137;
/** Signatures with the RabinKarp weak sum (librsync ≥ 2.2); never written by duplicity. */
export const SIG_MAGIC_RABINKARP_MD4 = 0x72730146;
export const SIG_MAGIC_RABINKARP_BLAKE2 = 0x72730147;

export const DELTA_MAGIC = 0x72730236;

export const SIGNATURE_HEADER_LENGTH = 12;
/** Strong sum length duplicity asks librsync for. */
export const DUPLICITY_STRONG_LEN = 8;

export const OP_END = 0x00;
/** Opcodes 0x01–0x40 are literals whose length is the opcode itself. */
export const OP_LITERAL_MAX_IMMEDIATE = 0x40;
/** LITERAL with a 1-, 2-, 4- or 8-byte length: 0x41–0x44. */
export const OP_LITERAL_N1 = 0x41;
/** COPY with offset and length widths from `OPERAND_WIDTHS`: 0x45–0x54. */
export const OP_COPY_N1_N1 = 0x45;
export const OP_COPY_LAST = 0x54;

export const OPERAND_WIDTHS: readonly number[] = [1, 2, 4, 8];

/** Index into `OPERAND_WIDTHS` of the narrowest width holding `value` (librsync's `rs_int_len`). */
export function operandWidthIndex(value: number): number {
  if (value <= 0xff) return 0;
  if (value <= 0xffff) return 1;
  if (value <= 0xffffffff) return 2;
  return 3;
}

export function hex32(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, '0')}`;
}
