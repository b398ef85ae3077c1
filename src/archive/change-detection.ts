import type { EntryMeta } from '../core/entry.ts';
import { DEFAULT_CHANGE_RULES, type ChangeRules, type FileStamp, type RecordedStamp } from '../core/file-stamp.ts';

/** A regular file's stamp now, what its signature entry recorded, and which parts count. */
export interface StampComparison {
  readonly current: FileStamp | null;
  readonly previous: RecordedStamp | null;
  readonly rules?: ChangeRules;
}

/**
 * Whether a path is unchanged since the signatures were written. duplicity's rule (docs/duplicity-format.md §3.8)
 * plus a size check, since duplicity misses a rewrite that kept the mtime: our signatures carry
 * the size; for signatures duplicity wrote, the size is bounded by the signature's block count.
 * A regular file must also match the stamp its entry records (stampsAgree).
 */
export function isUnchanged(
  current: EntryMeta,
  previous: EntryMeta,
  previousSignature: Buffer | null,
  uidOf: (uname: string, uid: number) => number,
  gidOf: (gname: string, gid: number) => number,
  stamps?: StampComparison,
): boolean {
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
  if (current.type === 'reg')
    return (
      sizeMatches(current.size, previous.size, previousSignature) &&
      (!stamps || stampsAgree(stamps.current, stamps.previous, stamps.rules ?? DEFAULT_CHANGE_RULES))
    );
  return true;
}

/**
 * restic's and borg's rule on top of duplicity's: the mtime to the nanosecond, the ctime (moved by
 * any rewrite, even one that puts the mtime back) and the inode (a copy put in place of the file)
 * must match what the entry recorded, each where the entry has it. An entry without the records
 * (duplicity's, older permafrost's) leaves the decision to the mtime-and-size rule, so the first
 * backup after an upgrade re-reads nothing that rule calls unchanged; such files gain the records
 * when they are next stored.
 */
export function stampsAgree(current: FileStamp | null, recorded: RecordedStamp | null, rules: ChangeRules): boolean {
  if (recorded === null || current === null) return true;
  if (recorded.reread !== null) return false;
  if (recorded.mtimeNs !== null && recorded.mtimeNs !== current.mtimeNs) return false;
  if (!rules.ignoreCtime && recorded.ctimeNs !== null && recorded.ctimeNs !== current.ctimeNs) return false;
  if (!rules.ignoreInode && recorded.ino !== null && recorded.ino !== current.ino) return false;
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
