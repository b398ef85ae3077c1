import type { EntryMeta, EntryType } from '../core/entry.ts';
import type { PathIndex } from '../core/path-index.ts';
import type { TarHeader } from '../codec/tar/header.ts';
import { describeTypeflag, entryTypeOfTypeflag, TYPE_LINK, typeflagOf } from '../codec/tar/typeflags.ts';

/**
 * Our own PAX record on signature entries: the file's size, so that the next incremental sees a
 * change that kept the mtime (duplicity compares mtimes only). Python's tarfile, and so duplicity,
 * keeps unknown records and ignores them.
 */
export const SIZE_RECORD = 'PERMAFROST.size';

/**
 * Our own PAX record for mtimes before 1970. duplicity writes them as 0, and duplicity 3.x crashes
 * on a negative tar mtime (its warning path fails), so the tar field says 0 and the true time
 * rides in this record, which only we read.
 */
export const MTIME_RECORD = 'PERMAFROST.mtime';

/**
 * Our own PAX record on the first volume entry of a regular file's data (snapshot or delta): the
 * file had holes when it was backed up (st_blocks * 512 < st_size), so a restore makes its zero
 * blocks holes again. The data in the volume is plain, as duplicity writes it.
 */
export const SPARSE_RECORD = 'PERMAFROST.sparse';

/** The header for an entry's data block; `size` is the length of the data in this tar entry. */
export function headerFor(name: Buffer, meta: EntryMeta, size: number, extraPax: ReadonlyArray<readonly [string, Buffer]> = []): TarHeader {
  const isDev = meta.type === 'chr' || meta.type === 'blk';
  if (meta.mtime < 0) extraPax = [...extraPax, [MTIME_RECORD, Buffer.from(String(meta.mtime), 'latin1')]];
  return {
    name,
    mode: meta.mode,
    uid: meta.uid,
    gid: meta.gid,
    size,
    mtime: Math.max(0, meta.mtime),
    typeflag: typeflagOf(meta.type),
    linkname: meta.type === 'sym' ? meta.linkname : EMPTY,
    uname: Buffer.from(meta.uname, 'utf8'),
    gname: Buffer.from(meta.gname, 'utf8'),
    devmajor: isDev ? meta.devmajor : 0,
    devminor: isDev ? meta.devminor : 0,
    ...(extraPax.length > 0 ? { extraPax } : {}),
  };
}

/** duplicity's zeroed header for `deleted/` entries (docs/duplicity-format.md §3.3). */
export function deletedHeader(name: Buffer): TarHeader {
  return {
    name,
    mode: 0,
    uid: 0,
    gid: 0,
    size: 0,
    mtime: 0,
    typeflag: 0x30,
    linkname: EMPTY,
    uname: EMPTY,
    gname: EMPTY,
    devmajor: 0,
    devminor: 0,
  };
}

/**
 * Metadata from a tar header. A signature entry's `size` is the file size from our PAX record, or
 * -1 (unknown) for signatures that duplicity wrote; otherwise it is the header's size.
 */
export function metaFromHeader(
  index: PathIndex,
  h: TarHeader,
  pax: ReadonlyMap<string, Buffer> | undefined,
  isSignature = false,
): EntryMeta {
  const type = entryTypeOf(h.typeflag, h.name);
  const sizeRecord = pax?.get(SIZE_RECORD);
  const recorded = sizeRecord ? Number(sizeRecord.toString('latin1')) : NaN;
  const size = Number.isSafeInteger(recorded) && recorded >= 0 ? recorded : isSignature ? -1 : type === 'reg' ? h.size : 0;
  const mtimeRecord = pax?.get(MTIME_RECORD);
  const recordedMtime = mtimeRecord ? Number(mtimeRecord.toString('latin1')) : NaN;
  return {
    index,
    type,
    mode: h.mode & 0o7777,
    uid: h.uid,
    gid: h.gid,
    uname: h.uname.toString('utf8'),
    gname: h.gname.toString('utf8'),
    mtime: Number.isSafeInteger(recordedMtime) && recordedMtime < 0 && h.mtime === 0 ? recordedMtime : h.mtime,
    size,
    linkname: type === 'sym' ? h.linkname : EMPTY,
    devmajor: type === 'chr' || type === 'blk' ? h.devmajor : 0,
    devminor: type === 'chr' || type === 'blk' ? h.devminor : 0,
    ...(type === 'reg' && pax?.get(SPARSE_RECORD)?.toString('latin1') === '1' ? { sparse: true as const } : {}),
  };
}

/** The entry type of a header; hard links and other types duplicity cannot store are errors. */
export function entryTypeOf(typeflag: number, name: Buffer): EntryType {
  const type = entryTypeOfTypeflag(typeflag);
  if (type !== null) return type;
  if (typeflag === TYPE_LINK) throw new Error(`hard link entries are not supported (${name.toString('utf8')})`);
  throw new Error(`unsupported tar entry type ${describeTypeflag(typeflag)} for ${name.toString('utf8')}`);
}

const EMPTY = Buffer.alloc(0);
