import { encodeHeader, type TarHeader } from './header.ts';
import { describeTypeflag, TYPE_AREG, typeflagCarriesData } from './typeflags.ts';
import { BLOCK_SIZE, NAME_LENGTH, paddingAfter, RECORD_SIZE } from './ustar-block.ts';

const ZERO_BLOCK = Buffer.alloc(BLOCK_SIZE);

/**
 * One tar entry as duplicity's `TarBlockIter.tarinfo2tarblock()` writes it: header block(s), the
 * data, zero padding to a multiple of 512. The pieces are returned separately so the (possibly
 * large) data is never copied; `data` itself is one of them. Callers must not write into them.
 */
export function encodeEntry(h: TarHeader, data: Buffer): Buffer[] {
  if (h.size !== data.length) {
    throw new RangeError(`tar header size ${h.size} differs from the data length ${data.length}`);
  }
  const header = encodeHeader(h);
  if (data.length > 0 && (!typeflagCarriesData(h.typeflag) || isOldStyleDirectory(h, header))) {
    // Python's tarfile would not skip these bytes and would read them as the next header.
    throw new RangeError(`tar entries of type ${describeTypeflag(h.typeflag)} with this name cannot carry data`);
  }
  const out = [header];
  if (data.length > 0) out.push(data);
  const pad = paddingAfter(data.length);
  // one shared block of zeros: the pieces are only ever read (copied into a batch or a file)
  if (pad > 0) out.push(ZERO_BLOCK.subarray(0, pad));
  return out;
}

/**
 * Readers (Python's frombuf, ours) take a '\0'-typed entry whose ustar name field ends in '/'
 * for a directory, which carries no data.
 */
function isOldStyleDirectory(h: TarHeader, header: Buffer): boolean {
  if (h.typeflag !== TYPE_AREG) return false;
  const ustar = header.subarray(header.length - BLOCK_SIZE);
  const nul = ustar.indexOf(0);
  const end = nul < 0 || nul > NAME_LENGTH ? NAME_LENGTH : nul;
  return end > 0 && ustar[end - 1] === 0x2f;
}

/**
 * What Python's `TarFile.close()` appends (signature tars): two zero blocks, then zeros up to a
 * multiple of 10240 bytes counted from the start of the archive.
 */
export function endOfArchive(bytesWrittenSoFar: number): Buffer {
  checkBlockAligned(bytesWrittenSoFar);
  const end = bytesWrittenSoFar + 2 * BLOCK_SIZE;
  const rest = end % RECORD_SIZE;
  return Buffer.alloc(2 * BLOCK_SIZE + (rest === 0 ? 0 : RECORD_SIZE - rest));
}

/**
 * duplicity's `TarBlockIter.get_footer()`, written after the last entry of a gpg volume: zeros
 * up to the next multiple of 10240 bytes counted from the start of this volume. A whole 10240
 * bytes when the volume already ends on a record boundary, so always 512..10240 bytes.
 */
export function volumeFooter(bytesWrittenSoFar: number): Buffer {
  checkBlockAligned(bytesWrittenSoFar);
  return Buffer.alloc(RECORD_SIZE - (bytesWrittenSoFar % RECORD_SIZE));
}

function checkBlockAligned(n: number): void {
  if (!Number.isSafeInteger(n) || n < 0 || n % BLOCK_SIZE !== 0) {
    throw new RangeError(`tar stream length ${n} is not a non-negative multiple of ${BLOCK_SIZE}`);
  }
}
