import type { FileStamp, RecordedStamp } from '../core/file-stamp.ts';
import type { PaxRecord } from '../codec/tar/pax-records.ts';

/**
 * permafrost's PAX records on a regular file's signature entry, besides `PERMAFROST.size`: the
 * file's stamp when it was read (decimal integers: times in nanoseconds since the epoch, the inode
 * number), and a re-read mark. duplicity's tar reader keeps records it does not know and ignores
 * them, so the signature files stay duplicity's.
 */
export const MTIME_NS_RECORD = 'PERMAFROST.mtime_ns';
export const CTIME_NS_RECORD = 'PERMAFROST.ctime_ns';
export const INO_RECORD = 'PERMAFROST.ino';
/**
 * Present when the next backup must read the file again whatever its stamp says; the value says
 * why ('racy', 'size'). A mark of its own rather than leaving the stamp out: an entry without a
 * stamp is also what duplicity and older permafrost versions write, and those fall back to the
 * mtime-and-size rule, which would call the file unchanged.
 */
export const REREAD_RECORD = 'PERMAFROST.reread';

export function stampRecords(stamp: FileStamp, reread: string | null): PaxRecord[] {
  const out: PaxRecord[] = [
    [MTIME_NS_RECORD, Buffer.from(stamp.mtimeNs.toString(), 'latin1')],
    [CTIME_NS_RECORD, Buffer.from(stamp.ctimeNs.toString(), 'latin1')],
    [INO_RECORD, Buffer.from(stamp.ino.toString(), 'latin1')],
  ];
  if (reread !== null) out.push([REREAD_RECORD, Buffer.from(reread, 'latin1')]);
  return out;
}

/** The stamp a signature entry records; null when it carries none of the records. */
export function recordedStamp(pax: ReadonlyMap<string, Buffer> | undefined): RecordedStamp | null {
  if (!pax) return null;
  const mtimeNs = integer(pax.get(MTIME_NS_RECORD));
  const ctimeNs = integer(pax.get(CTIME_NS_RECORD));
  const ino = integer(pax.get(INO_RECORD));
  const rereadValue = pax.get(REREAD_RECORD);
  const reread = rereadValue === undefined ? null : rereadValue.toString('latin1') || 'unknown';
  if (mtimeNs === null && ctimeNs === null && ino === null && reread === null) return null;
  return { mtimeNs, ctimeNs, ino, reread };
}

/** A record that does not parse counts as absent: the comparison then has one check fewer. */
function integer(value: Buffer | undefined): bigint | null {
  if (value === undefined) return null;
  const text = value.toString('latin1');
  return /^-?[0-9]{1,24}$/.test(text) ? BigInt(text) : null;
}
