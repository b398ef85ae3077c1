/**
 * Signature block length for a file, as duplicity chooses it (`duplicity/diffdir.py:get_block_size`,
 * docs/duplicity-format.md §5.1): about 2000 blocks per file, rounded down to a multiple of 512, at least 512 and at
 * most `maxBlockSize` (`--max-blocksize`, default 2048).
 */

export const DEFAULT_MAX_BLOCK_SIZE = 2048;

export function blockSizeFor(fileLength: number, maxBlockSize: number = DEFAULT_MAX_BLOCK_SIZE): number {
  if (!Number.isSafeInteger(fileLength) || fileLength < 0) throw new RangeError(`invalid file length ${fileLength}`);
  if (fileLength < 1024000) return 512;
  // Python's int(file_len / (2000 * 512)) truncates the float quotient; Math.trunc matches it.
  const blockSize = Math.trunc(fileLength / 1024000) * 512;
  return Math.min(blockSize, maxBlockSize);
}
