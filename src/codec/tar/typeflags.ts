import type { EntryType } from '../../core/entry.ts';

/** Tar typeflag bytes (the `typeflag` field of a ustar header). */
export const TYPE_REG = 0x30; // '0'
/** Pre-POSIX regular file ('\0'). */
export const TYPE_AREG = 0x00;
export const TYPE_LINK = 0x31; // '1' hard link
export const TYPE_SYM = 0x32; // '2'
export const TYPE_CHR = 0x33; // '3'
export const TYPE_BLK = 0x34; // '4'
export const TYPE_DIR = 0x35; // '5'
export const TYPE_FIFO = 0x36; // '6'
export const TYPE_CONT = 0x37; // '7' contiguous file, a regular file everywhere
export const TYPE_PAX = 0x78; // 'x' PAX extended header for the next entry
export const TYPE_PAX_GLOBAL = 0x67; // 'g' PAX header for all following entries
export const TYPE_SOLARIS_PAX = 0x58; // 'X' old Solaris spelling of 'x'
export const TYPE_GNU_LONGNAME = 0x4c; // 'L'
export const TYPE_GNU_LONGLINK = 0x4b; // 'K'
export const TYPE_GNU_SPARSE = 0x53; // 'S'

const ENTRY_TYPE_FLAGS: Readonly<Record<EntryType, number>> = {
  reg: TYPE_REG,
  dir: TYPE_DIR,
  sym: TYPE_SYM,
  fifo: TYPE_FIFO,
  chr: TYPE_CHR,
  blk: TYPE_BLK,
};

export function typeflagOf(type: EntryType): number {
  return ENTRY_TYPE_FLAGS[type];
}

/**
 * The entry type a typeflag stands for, or null for types duplicity cannot store (hard links,
 * GNU specials, …). '\0' and '7' are regular files, as in Python's tarfile.
 */
export function entryTypeOfTypeflag(flag: number): EntryType | null {
  switch (flag) {
    case TYPE_REG:
    case TYPE_AREG:
    case TYPE_CONT:
      return 'reg';
    case TYPE_DIR:
      return 'dir';
    case TYPE_SYM:
      return 'sym';
    case TYPE_FIFO:
      return 'fifo';
    case TYPE_CHR:
      return 'chr';
    case TYPE_BLK:
      return 'blk';
    default:
      return null;
  }
}

/**
 * Whether data blocks follow a header of this type. Python's tarfile (and so duplicity) skips
 * `size` bytes only for regular files and for types it does not know; for links, devices,
 * directories and fifos it ignores the size field. Readers and writers must agree on this.
 */
export function typeflagCarriesData(flag: number): boolean {
  return !(flag >= TYPE_LINK && flag <= TYPE_FIFO);
}

/** For messages: the typeflag as a printable character or a hex byte. */
export function describeTypeflag(flag: number): string {
  return flag >= 0x21 && flag < 0x7f ? `'${String.fromCharCode(flag)}'` : `0x${flag.toString(16).padStart(2, '0')}`;
}
