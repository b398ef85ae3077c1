/**
 * A tree of 1,000 files of known sizes, and what a backup of it holds, worked out by hand (used by
 * the estimate tests of ops and cli).
 */
import { closeSync, ftruncateSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const MiB = 2 ** 20;

/** The tree: 900 files of 4 KiB, 90 of 256 KiB, 10 of 12 MiB (sparse), all in the root. */
export const TREE = [
  { prefix: 'a', count: 900, size: 4096 },
  { prefix: 'b', count: 90, size: 262_144 },
  { prefix: 'c', count: 10, size: 12 * MiB },
] as const;
export const FILES = 1000;
export const BYTES = 900 * 4096 + 90 * 262_144 + 10 * 12 * MiB; // 155,410,432

export function writeTree(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const { prefix, count, size } of TREE) {
    for (let i = 0; i < count; i++) {
      const file = join(dir, `${prefix}${String(i).padStart(4, '0')}`);
      if (size <= 4096) writeFileSync(file, Buffer.alloc(size, i & 0xff));
      else {
        const fd = openSync(file, 'w');
        ftruncateSync(fd, size);
        closeSync(fd);
      }
    }
  }
}

/**
 * The tar framing written out: every entry a 512-byte header and its data padded to 512; files of
 * 64 KiB and more are cut into 64 KiB chunks plus a last (here empty) one, each with a header.
 * 256 KiB = 4 chunks + 1; 12 MiB = 192 chunks + 1. The 12 MiB files have holes, so their first
 * entry carries a PAX header with the `PERMAFROST.sparse` record (a header block and a record block).
 */
export const ARCHIVE_BYTES = 512 /* the root */ + 900 * (512 + 4096) + 90 * (5 * 512 + 262_144) + 10 * (193 * 512 + 1024 + 12 * MiB);
/**
 * The signature tar: per file a PAX header (2 blocks, permafrost's size record), a ustar header and
 * the librsync signature (12 bytes + 12 per block) padded to 512. Block sizes by duplicity's rule:
 * 512 below 1,024,000 bytes, so 4 KiB = 8 blocks (108 bytes → 512), 256 KiB = 512 blocks (6,156 →
 * 6,656); 12 MiB: trunc(12,582,912 / 1,024,000) × 512 = 6,144, capped at 2,048 → 6,144 blocks
 * (73,740 → 74,240). Then the root's header, two zero blocks, and padding to a 10,240-byte record.
 */
export const SIG_ENTRIES = 512 + 900 * (1536 + 512) + 90 * (1536 + 6656) + 10 * (1536 + 74_240);
export const SIGNATURE_BYTES = Math.ceil((SIG_ENTRIES + 1024) / 10240) * 10240;
