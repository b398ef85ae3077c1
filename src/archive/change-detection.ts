import type { EntryMeta } from '../core/entry.ts';

/**
 * Whether a path is unchanged since the signatures were written. duplicity's rule (spec §3.8)
 * plus a size check, since duplicity misses a rewrite that kept the mtime: our signatures carry
 * the size; for signatures duplicity wrote, the size is bounded by the signature's block count.
 */
export function isUnchanged(current: EntryMeta, previous: EntryMeta, previousSignature: Buffer | null, uidOf: (uname: string, uid: number) => number, gidOf: (gname: string, gid: number) => number): boolean {
  if (current.type !== previous.type) return false;
  switch (current.type) {
    case 'sym':
      return current.linkname.equals(previous.linkname);
    case 'chr':
    case 'blk':
      return current.mode === previous.mode && current.devmajor === previous.devmajor && current.devminor === previous.devminor;
    default:
      break;
  }
  if (current.mode !== previous.mode) return false;
  if (current.uid !== uidOf(previous.uname, previous.uid)) return false;
  if (current.gid !== gidOf(previous.gname, previous.gid)) return false;
  if (current.mtime !== previous.mtime) return false;
  if (current.type === 'reg') return sizeMatches(current.size, previous.size, previousSignature);
  return true;
}

/** `previousSize` < 0 means the signature entry did not record it. */
function sizeMatches(size: number, previousSize: number, signature: Buffer | null): boolean {
  if (previousSize >= 0) return size === previousSize;
  if (!signature || signature.length < 12) return true;
  const blockLen = signature.readUInt32BE(4);
  const strongLen = signature.readUInt32BE(8);
  const blocks = Math.floor((signature.length - 12) / (4 + strongLen));
  if (blocks === 0) return size === 0;
  return size > (blocks - 1) * blockLen && size <= blocks * blockLen;
}
