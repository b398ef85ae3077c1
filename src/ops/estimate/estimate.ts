import * as path from 'node:path';
import type { EntryMeta } from '../../core/entry.ts';
import { indexToBytes } from '../../core/path-index.ts';
import { blockSizeFor } from '../../codec/rsync/block-size.ts';
import { signatureLength } from '../../codec/rsync/signature.ts';
import { partSizeFor, usesMultipart } from '../../backend/s3-settings.ts';
import type { Selection } from '../../fs/selection.ts';
import { walkSource } from '../../fs/walk.ts';
import { DAYS_PER_MONTH, RESTORE_TIERS, STANDARD_CLASS, type PricingTable } from '../../pricing/pricing-table.ts';
import type { RestoreTier } from '../../core/restore-tier.ts';
import { retrievalQuote, type RetrievalQuote } from '../../pricing/retrieval-quote.ts';
import { billedSize, monthlyStorage } from '../../pricing/storage-cost.ts';
import { ExitCode, PermafrostError } from '../../core/errors.ts';
import { checkSourceDir } from '../source-dir.ts';
import type { Reporter } from '../reporter.ts';

/**
 * `permafrost estimate`: what backing a tree up to S3 costs, the arithmetic of the duplicity-Glacier
 * guide done on the real tree. Two layouts of the same data are priced side by side:
 * - one object per file, as `aws s3 sync` or rclone upload it;
 * - a permafrost (duplicity) full backup: the files packed into --volsize volumes in the data class,
 *   plus a manifest and a signature file in STANDARD.
 * Compression is not assumed (gzip and gpg shrink what compresses; the estimate is an upper bound
 * for the volumes), and a full backup is priced (incrementals add volumes for what changed).
 */

/** tar's block; every header and every entry's data take whole blocks. */
const BLOCK = 512;
/** duplicity cuts file data into tar entries of this size (multivol chunks). */
const CHUNK = 65536;
/** ustar's name and linkname fields; longer (or non-ASCII) names need a PAX header. */
const USTAR_NAME = 100;
/** Signature files are tars ending on a 10240-byte record. */
const RECORD = 10240;
/** aws s3 sync's defaults: files above 8 MiB go up in 8 MiB parts (at most 10,000). */
export const AWS_CLI_MULTIPART_THRESHOLD = 8 * 1024 * 1024;
export const AWS_CLI_PART_SIZE = 8 * 1024 * 1024;
const MAX_PARTS = 10_000;

/** What a scan of the source counts; constant memory whatever the number of files. */
export interface TreeTotals {
  /** Selected entries, the root and directories included. */
  entries: number;
  /** Regular files and their bytes. */
  files: number;
  bytes: number;
  largestFile: number;
  /** A full backup's volume content without compression: tar headers, data and padding. */
  archiveBytes: number;
  /** Its signature file, uncompressed (librsync signatures with duplicity's block sizes). */
  signatureBytes: number;
  /** The librsync signatures alone: checksums, which no compression shrinks (the tar headers around them compress ~50x). */
  signatureChecksumBytes: number;
  /** Its manifest's file list (one line per regular file). */
  fileListBytes: number;
  /** Sum of the selected paths' lengths (for the manifest's volume blocks). */
  pathBytes: number;
  /** One object per file: bytes billed (each file at least the class's minimum billable size). */
  perFileBilledBytes: number;
  /** One object per file: files uploaded in parts by aws s3 sync, and their parts. */
  perFileMultipartFiles: number;
  perFileParts: number;
}

/** Adds up a tree entry by entry. */
export class TreeTally {
  readonly #minBillableBytes: number;
  readonly #maxBlocksize: number;
  readonly totals: TreeTotals = {
    entries: 0,
    files: 0,
    bytes: 0,
    largestFile: 0,
    archiveBytes: 0,
    signatureBytes: 0,
    signatureChecksumBytes: 0,
    fileListBytes: 0,
    pathBytes: 0,
    perFileBilledBytes: 0,
    perFileMultipartFiles: 0,
    perFileParts: 0,
  };

  /** `minBillableBytes`: the data class's minimum billable object size; `maxBlocksize`: --max-blocksize. */
  constructor(minBillableBytes: number, maxBlocksize: number) {
    this.#minBillableBytes = minBillableBytes;
    this.#maxBlocksize = maxBlocksize;
  }

  /** `sparse`: a regular file with holes, whose first tar entry carries the `PERMAFROST.sparse` record. */
  add(meta: EntryMeta, sparse = false): void {
    const t = this.totals;
    const p = indexToBytes(meta.index);
    const nonAscii = p.some((b) => b >= 0x80);
    t.entries++;
    t.pathBytes += p.length;
    const linkPax =
      meta.type === 'sym'
        ? paxBytes(
            meta.linkname.length,
            meta.linkname.some((b) => b >= 0x80),
          )
        : 0;
    if (meta.type !== 'reg') {
      // volume: `snapshot/PATH[/]`; signatures: the same name under `snapshot/`
      const header = BLOCK + paxBytes('snapshot/'.length + p.length + 1, nonAscii) + linkPax;
      t.archiveBytes += header;
      t.signatureBytes += header;
      return;
    }
    const size = Math.max(0, meta.size);
    t.files++;
    t.bytes += size;
    t.largestFile = Math.max(t.largestFile, size);
    // one entry below 64 KiB; else 64 KiB multivol chunks and a last, short (maybe empty) one
    const chunks = size < CHUNK ? 1 : Math.floor(size / CHUNK) + 1;
    const nameLength = size < CHUNK ? 'snapshot/'.length + p.length : 'multivol_snapshot/'.length + p.length + 1 + String(chunks).length;
    t.archiveBytes += chunks * (BLOCK + paxBytes(nameLength, nonAscii)) + roundUp(size, BLOCK);
    if (sparse) t.archiveBytes += paxBytes(nameLength, nonAscii, SPARSE_RECORD_BYTES) - paxBytes(nameLength, nonAscii);
    // signature entry: a PAX header (permafrost's size record, the long name), ustar, the signature
    const sig = signatureLength(size, blockSizeFor(size, this.#maxBlocksize));
    t.signatureBytes += 2 * BLOCK + BLOCK + roundUp(sig, BLOCK);
    t.signatureChecksumBytes += sig;
    // `    new      PATH\n`
    t.fileListBytes += 14 + p.length;
    t.perFileBilledBytes += Math.max(size, this.#minBillableBytes);
    if (size > AWS_CLI_MULTIPART_THRESHOLD) {
      t.perFileMultipartFiles++;
      t.perFileParts += Math.ceil(size / Math.max(AWS_CLI_PART_SIZE, Math.ceil(size / MAX_PARTS)));
    }
  }
}

/**
 * A PAX extended header (its header block and records) for a name too long or not ASCII, and for
 * `otherRecords` bytes of other records; 0 when it needs none.
 */
function paxBytes(nameLength: number, nonAscii: boolean, otherRecords = 0): number {
  const name = nameLength <= USTAR_NAME && !nonAscii ? 0 : nameLength + 16;
  if (name + otherRecords === 0) return 0;
  return BLOCK + roundUp(name + otherRecords, BLOCK);
}

/** `23 PERMAFROST.sparse=1\n` */
const SPARSE_RECORD_BYTES = 23;

function roundUp(n: number, unit: number): number {
  return Math.ceil(n / unit) * unit;
}

/**
 * Walks the selected tree once (as a backup would: same walker, same selection), counting as it
 * goes; paths that cannot be read are reported and left out.
 */
export async function scanTree(
  source: string,
  selection: Selection,
  tally: TreeTally,
  reporter: Reporter,
): Promise<{ totals: TreeTotals; errors: number }> {
  await checkSourceDir(source);
  let errors = 0;
  const root = Buffer.from(path.resolve(source));
  for await (const e of walkSource(root, selection, (p, err) => {
    errors++;
    reporter.warning(`Error reading ${p.toString('utf8')}: ${err.message}`);
  })) {
    tally.add(e.meta, e.sparse);
    if ((tally.totals.entries & 4095) === 0)
      reporter.progress?.({ phase: 'scanning', filesDone: tally.totals.entries, bytesDone: tally.totals.bytes });
  }
  reporter.progress?.({ phase: 'scanning', filesDone: tally.totals.entries, bytesDone: tally.totals.bytes });
  reporter.progressDone?.();
  return { totals: tally.totals, errors };
}

// ---------------------------------------------------------------------------------------------
// Prices

export interface EstimateSettings {
  /** The class of data objects (volumes, or the files themselves). */
  readonly storageClass: string;
  /** --volsize in bytes */
  readonly volsize: number;
  /** permafrost's S3 multipart threshold and part size (from --s3-multipart-chunk-size) */
  readonly multipartThreshold: number;
  readonly partSize: number;
  /** How long restored copies are kept (--days). */
  readonly restoreDays: number;
  /** Only this tier (--tier); all the class has otherwise. */
  readonly tier?: RestoreTier;
}

export interface UploadRequests {
  /** Requests billed at the data class's PUT price (PutObject, CompleteMultipartUpload). */
  readonly classRequests: number;
  /** Requests billed at STANDARD's PUT price (CreateMultipartUpload, UploadPart; metadata PUTs). */
  readonly standardRequests: number;
  /** USD */
  readonly cost: number;
}

export interface MonthlyCost {
  /** USD per month: the data (at least the minimum billable size per object) */
  readonly data: number;
  /** the per-object overhead (archive classes: 32 KiB at the class's price + 8 KiB at STANDARD's) */
  readonly overhead: number;
  /** manifests and signatures in STANDARD */
  readonly metadata: number;
  readonly total: number;
}

/** What reading everything back costs. */
export interface FullRestore {
  /** Archived classes: one quote per tier (request + retrieval + restored copies). */
  readonly tiers: readonly RetrievalQuote[];
  /** Classes read directly: the per-GB retrieval fee (IA, GLACIER_IR), else 0. */
  readonly directRetrievalCost: number;
  /** GET requests of the download, at the class's price (plus egress outside AWS, not priced). */
  readonly getCost: number;
}

export interface LayoutEstimate {
  /** Objects in the data class. */
  readonly objects: number;
  /** Their bytes, and what they are billed as. */
  readonly bytes: number;
  readonly billedBytes: number;
  /** Objects and bytes in STANDARD (manifest, signatures). */
  readonly metadataObjects: number;
  readonly metadataBytes: number;
  /** Per-object overhead bytes billed (both parts). */
  readonly overheadBytes: number;
  readonly upload: UploadRequests;
  readonly monthly: MonthlyCost;
  /** The class's minimum storage duration: deleting sooner bills the rest, so one full costs at least this. */
  readonly minimum: { readonly days: number; readonly cost: number } | null;
  readonly restore: FullRestore;
}

export interface Estimate {
  readonly source: string;
  readonly storageClass: string;
  readonly archived: boolean;
  readonly volsize: number;
  readonly restoreDays: number;
  readonly pricing: { readonly region: string; readonly currency: string; readonly asOf: string; readonly source: string };
  readonly tree: TreeTotals;
  /** One object per file, as aws s3 sync uploads it. */
  readonly perFile: LayoutEstimate;
  /** A permafrost full backup. */
  readonly volumes: LayoutEstimate & {
    readonly count: number;
    readonly archiveBytes: number;
    readonly signatureBytes: number;
    readonly manifestBytes: number;
  };
}

/** Prices a scanned tree in both layouts; pure. */
export function estimateCosts(source: string, tree: TreeTotals, pricing: PricingTable, s: EstimateSettings): Estimate {
  const c = pricing.classes[s.storageClass];
  if (!c)
    throw new PermafrostError(
      ExitCode.usage,
      `no prices for storage class ${s.storageClass} in the pricing table (${pricing.source}); give them with --pricing-file`,
    );
  const standard = pricing.classes[STANDARD_CLASS]!;
  const gb = (bytes: number) => bytes / pricing.gbBytes;
  const per1000 = (n: number, price: number) => (n / 1000) * price;

  const layout = (
    objects: number,
    bytes: number,
    billed: number,
    uploads: { classRequests: number; standardRequests: number },
    metadataObjects: number,
    metadataBytes: number,
  ): LayoutEstimate => {
    const storage = monthlyStorage(pricing, s.storageClass, objects, billed)!;
    const metadata = gb(metadataBytes) * standard.storageGBMonth;
    const archivedPart = storage.dataCost + gb(objects * (c.overhead?.archiveRateBytes ?? 0)) * c.storageGBMonth;
    return {
      objects,
      bytes,
      billedBytes: billed,
      metadataObjects,
      metadataBytes,
      overheadBytes: storage.overheadBytes,
      upload: { ...uploads, cost: per1000(uploads.classRequests, c.putPer1000) + per1000(uploads.standardRequests, standard.putPer1000) },
      monthly: { data: storage.dataCost, overhead: storage.overheadCost, metadata, total: storage.total + metadata },
      minimum: c.minDays > 0 ? { days: c.minDays, cost: archivedPart * (c.minDays / DAYS_PER_MONTH) } : null,
      restore: {
        tiers: c.archived
          ? (s.tier ? [s.tier] : RESTORE_TIERS).flatMap(
              (t) => retrievalQuote(pricing, s.storageClass, t, objects, bytes, s.restoreDays) ?? [],
            )
          : [],
        directRetrievalCost: c.archived ? 0 : gb(bytes) * c.retrievalPerGB,
        getCost: per1000(objects, c.getPer1000) + per1000(metadataObjects, standard.getPer1000),
      },
    };
  };

  // one object per file: a PUT each, or Create + parts (STANDARD price) + Complete (class price)
  const perFile = layout(
    tree.files,
    tree.bytes,
    tree.perFileBilledBytes,
    {
      classRequests: tree.files,
      standardRequests: tree.perFileMultipartFiles + tree.perFileParts,
    },
    0,
    0,
  );

  const count = Math.max(1, Math.ceil(tree.archiveBytes / s.volsize));
  const volumeSizes =
    count === 1 ? [tree.archiveBytes] : [...Array<number>(count - 1).fill(s.volsize), tree.archiveBytes - (count - 1) * s.volsize];
  const signatureBytes = roundUp(tree.signatureBytes + 2 * BLOCK, RECORD);
  const avgPath = tree.entries > 0 ? tree.pathBytes / tree.entries : 0;
  const manifestBytes = Math.round(200 + Buffer.byteLength(source) + count * (150 + 2 * avgPath) + 20 + tree.fileListBytes);
  let classRequests = 0;
  let standardRequests = 0;
  for (const size of volumeSizes) {
    const u = uploadRequests(size, s.multipartThreshold, s.partSize);
    classRequests += u.final;
    standardRequests += u.staging;
  }
  for (const size of [signatureBytes, manifestBytes]) {
    const u = uploadRequests(size, s.multipartThreshold, s.partSize);
    standardRequests += u.final + u.staging;
  }
  const billed = volumeSizes.reduce((n, v) => n + billedSize(c, v), 0);
  const volumes = {
    ...layout(count, tree.archiveBytes, billed, { classRequests, standardRequests }, 2, signatureBytes + manifestBytes),
    count,
    archiveBytes: tree.archiveBytes,
    signatureBytes,
    manifestBytes,
  };
  return {
    source,
    storageClass: s.storageClass,
    archived: c.archived,
    volsize: s.volsize,
    restoreDays: s.restoreDays,
    pricing: { region: pricing.region, currency: pricing.currency, asOf: pricing.asOf, source: pricing.source },
    tree,
    perFile,
    volumes,
  };
}

/**
 * The requests of one upload (docs/glacier-semantics.md §2.4): a single PutObject, billed at the
 * target class's price; or CreateMultipartUpload and the parts at STANDARD's price and
 * CompleteMultipartUpload at the target class's.
 */
export function uploadRequests(size: number, threshold: number, partSize: number): { final: number; staging: number } {
  if (!usesMultipart(size, threshold)) return { final: 1, staging: 0 };
  return { final: 1, staging: 1 + Math.ceil(size / partSizeFor(size, partSize)) };
}
