import type { FileStamp, RecordedStamp } from '../core/file-stamp.ts';
import type { PaxRecord } from '../codec/tar/pax-records.ts';

/**
 * permafrost's PAX record of a regular file's stamp when it was read, on its signature entry
 * (besides `PERMAFROST.size`): `<mtime ns> <ctime ns> <inode>`, decimal integers, times in
 * nanoseconds since the epoch (negative before 1970). One record rather than three: every
 * signature entry carries it, and each record costs a key to parse on every incremental.
 * duplicity's tar reader keeps records it does not know and ignores them, so the signature files
 * stay duplicity's.
 */
export const STAMP_RECORD = 'PERMAFROST.stamp';
/**
 * Present when the next backup must read the file again whatever its stamp says; the value says
 * why ('racy', 'size'). A mark of its own rather than leaving the stamp out: an entry without a
 * stamp is also what duplicity and older permafrost versions write, and those fall back to the
 * mtime-and-size rule, which would call the file unchanged.
 */
export const REREAD_RECORD = 'PERMAFROST.reread';

export function stampRecords(stamp: FileStamp, reread: string | null): PaxRecord[] {
  const out: PaxRecord[] = [[STAMP_RECORD, Buffer.from(`${stamp.mtimeNs} ${stamp.ctimeNs} ${stamp.ino}`, 'latin1')]];
  if (reread !== null) out.push([REREAD_RECORD, Buffer.from(reread, 'latin1')]);
  return out;
}

/** The stamp a signature entry records; null when it carries neither record. */
export function recordedStamp(pax: ReadonlyMap<string, Buffer> | undefined): RecordedStamp | null {
  if (!pax) return null;
  const value = pax.get(STAMP_RECORD);
  const rereadValue = pax.get(REREAD_RECORD);
  if (value === undefined && rereadValue === undefined) return null;
  const parts = value === undefined ? [] : value.toString('latin1').split(' ');
  return {
    mtimeNs: integer(parts[0]),
    ctimeNs: integer(parts[1]),
    ino: integer(parts[2]),
    reread: rereadValue === undefined ? null : rereadValue.toString('latin1') || 'unknown',
  };
}

/** A field that does not parse counts as absent: the comparison then has one check fewer. */
function integer(text: string | undefined): bigint | null {
  return text !== undefined && INTEGER.test(text) ? BigInt(text) : null;
}

const INTEGER = /^-?[0-9]{1,24}$/;
