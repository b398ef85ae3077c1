import { dataStorageClass, MIN_PART_SIZE, MiB } from '../../backend/s3-settings.ts';
import { estimateCosts, scanTree, TreeTally, type Estimate, type LayoutEstimate } from '../../ops/estimate/estimate.ts';
import { checkSourceDir } from '../../ops/source-dir.ts';
import { ExitCode, PermafrostError } from '../../core/errors.ts';
import type { Reporter } from '../../ops/reporter.ts';
import { loadPricing } from '../../pricing/pricing-table.ts';
import { formatUsd as usd } from '../../pricing/usd.ts';
import type { CliOptions, ParsedCommandLine } from '../command-line.ts';
import type { Output } from '../output.ts';
import { formatBytes } from '../../core/format-bytes.ts';
import { selectionFor } from '../selection-rules.ts';
import { UsageError } from '../../command-line/usage-error.ts';

/** How long restored copies are priced for when --days is not given (docs/glacier-semantics.md §2.5). */
export const DEFAULT_RESTORE_DAYS = 7;

/** The option that puts volumes in each class, for saying why the estimate uses it. */
const CLASS_FLAGS: Readonly<Record<string, string>> = {
  REDUCED_REDUNDANCY: '--s3-use-rrs',
  STANDARD_IA: '--s3-use-ia',
  ONEZONE_IA: '--s3-use-onezone-ia',
  GLACIER: '--s3-use-glacier',
  GLACIER_IR: '--s3-use-glacier-ir',
  DEEP_ARCHIVE: '--s3-use-deep-archive',
};

/** `permafrost estimate SOURCE_DIR`: scans the tree and prints what backing it up costs. */
export async function runEstimate(cmd: ParsedCommandLine, o: CliOptions, reporter: Reporter, out: Output): Promise<number> {
  const source = cmd.localPath;
  if (source === undefined) throw new UsageError('missing source directory');
  const pricing = await loadPricing(o.pricingFile);
  let storageClass: string;
  try {
    const chosen = dataStorageClass(o);
    storageClass = chosen.storageClass;
    for (const w of chosen.warnings) reporter.warning(w);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const prices = pricing.classes[storageClass];
  if (!prices)
    throw new PermafrostError(
      ExitCode.usage,
      `no prices for storage class ${storageClass} in the pricing table (${pricing.source}); give them with --pricing-file`,
    );
  if (o.tier !== undefined && prices.archived && !prices.restore?.[o.tier]) {
    throw new UsageError(
      `--tier ${o.tier}: ${storageClass} has no ${o.tier} retrievals (it has ${Object.keys(prices.restore ?? {}).join(', ')})`,
    );
  }
  await checkSourceDir(source);
  const now = o.currentTime ?? Math.floor(Date.now() / 1000);
  const selection = await selectionFor(o, source, now);
  const { totals, errors } = await scanTree(source, selection, new TreeTally(prices.minBillableBytes, o.maxBlocksize), reporter);
  // permafrost's uploads: as the S3 backend's settings (cli/target-context.ts s3Settings)
  const chunk = Math.max(Math.round(o.s3MultipartChunkSize * MiB), MIN_PART_SIZE);
  const estimate = estimateCosts(source, totals, pricing, {
    storageClass,
    volsize: Math.round(o.volsize * MiB),
    multipartThreshold: chunk,
    partSize: chunk,
    restoreDays: o.days ?? DEFAULT_RESTORE_DAYS,
    ...(o.tier !== undefined ? { tier: o.tier } : {}),
  });
  if (errors > 0)
    reporter.warning(`${errors} path${errors === 1 ? '' : 's'} could not be read and ${errors === 1 ? 'is' : 'are'} not counted.`);
  if (o.json) out.document({ ...estimate, classChosenBy: classReason(o, storageClass), errors }, 2);
  else out.text(formatEstimate(estimate, classReason(o, storageClass)));
  return ExitCode.ok;
}

function classReason(o: CliOptions, storageClass: string): string {
  if (o.s3StorageClass !== undefined) return '--s3-storage-class';
  return CLASS_FLAGS[storageClass] ?? 'no storage-class option given: the S3 default';
}

/** The estimate as a two-column table: one object per file against packed volumes. */
export function formatEstimate(e: Estimate, classChosenBy: string): string {
  const t = e.tree;
  const f = e.perFile;
  const v = e.volumes;
  const lines: string[] = [];
  lines.push(
    `Estimate for ${e.source}: ${count(t.files)} file${t.files === 1 ? '' : 's'}, ${formatBytes(t.bytes)} (${count(t.entries)} entries with directories and links)`,
  );
  lines.push(`Data in ${e.storageClass} (${classChosenBy}); a backup's manifests and signatures in STANDARD.`);
  lines.push(
    `Prices: ${e.pricing.region} list prices of ${e.pricing.asOf} in ${e.pricing.currency} (${e.pricing.source === 'built-in' ? 'built-in table' : e.pricing.source}). Compression is not assumed.`,
  );
  lines.push('');
  const rows: [string, string, string][] = [
    ['', 'one object per file', `${formatBytes(e.volsize)} volumes`],
    ['', '(aws s3 sync)', '(permafrost full)'],
    [`objects in ${e.storageClass}`, count(f.objects), count(v.objects)],
    ['  their bytes', formatBytes(f.bytes), formatBytes(v.bytes)],
    ['  + per-object overhead', formatBytes(f.overheadBytes), formatBytes(v.overheadBytes)],
    ['objects in STANDARD', count(f.metadataObjects), count(v.metadataObjects)],
    ['  their bytes', formatBytes(f.metadataBytes), formatBytes(v.metadataBytes)],
    [
      'upload requests',
      count(f.upload.classRequests + f.upload.standardRequests),
      count(v.upload.classRequests + v.upload.standardRequests),
    ],
    ['upload cost, once', usd(f.upload.cost), usd(v.upload.cost)],
    ['storage per month', usd(f.monthly.total), usd(v.monthly.total)],
    ['  data', usd(f.monthly.data), usd(v.monthly.data)],
    ['  per-object overhead', usd(f.monthly.overhead), usd(v.monthly.overhead)],
    ['  manifests, signatures', usd(f.monthly.metadata), usd(v.monthly.metadata)],
  ];
  if (f.minimum && v.minimum) rows.push([`minimum charge (${f.minimum.days} days)`, usd(f.minimum.cost), usd(v.minimum.cost)]);
  for (const [i, q] of f.restore.tiers.entries()) {
    const qv = v.restore.tiers[i]!;
    rows.push([`full restore, ${q.tier}`, usd(q.total), usd(qv.total)]);
    rows.push([`  ready in`, hours(q.typicalHours), hours(qv.typicalHours)]);
  }
  if (!e.archived)
    rows.push([
      'full read (no restore)',
      usd(f.restore.directRetrievalCost + f.restore.getCost),
      usd(v.restore.directRetrievalCost + v.restore.getCost),
    ]);
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  const w2 = Math.max(...rows.map((r) => r[2].length));
  for (const [a, b, c] of rows) lines.push(`${a.padEnd(w0)}   ${b.padStart(w1)}   ${c.padStart(w2)}`.trimEnd());
  lines.push('');
  lines.push(
    `Volumes: ${count(v.count)} from ${formatBytes(v.archiveBytes)} of tar data (the files, tar headers and padding); signatures ~${formatBytes(v.signatureBytes)}, manifest ~${formatBytes(v.manifestBytes)}.`,
  );
  lines.push(
    `Sizes are before compression. gzip (the default) and gpg shrink what compresses: the signatures' tar headers (1.5 KiB a file) almost vanish, leaving about their checksums (${formatBytes(t.signatureChecksumBytes)}).`,
  );
  lines.push(...notes(e, f, v));
  return lines.join('\n');
}

function notes(e: Estimate, f: LayoutEstimate, v: LayoutEstimate): string[] {
  const out: string[] = [];
  const c = e.storageClass;
  if (f.overheadBytes > 0)
    out.push(`Each ${c} object is billed 40 KB on top of its data: 32 KB at the ${c} price and 8 KB at the STANDARD price.`);
  if (f.billedBytes > f.bytes)
    out.push(
      `${c} bills objects smaller than 128 KB as 128 KB: ${formatBytes(f.billedBytes - f.bytes)} more for the files stored one per object.`,
    );
  if (f.minimum)
    out.push(
      `Minimum: ${c} bills ${f.minimum.days} days of storage for every object, even when it is deleted sooner (a new full every month still pays ${f.minimum.days} days of each).`,
    );
  if (f.restore.tiers.length > 0)
    out.push(
      `Full restore: restore requests, retrieval per GB, and the restored copies kept ${e.restoreDays} day${e.restoreDays === 1 ? '' : 's'} (--days) at the STANDARD price; downloading adds GET requests and, outside AWS, data transfer.`,
    );
  if (f.upload.cost > 0 && v.upload.cost > 0) {
    out.push(
      `One object per file costs ${ratio(f.upload.cost, v.upload.cost)} the uploads and ${ratio(f.monthly.total, v.monthly.total)} the monthly storage of packed volumes.`,
    );
  }
  return out;
}

function ratio(a: number, b: number): string {
  const r = a / b;
  return r >= 10 ? `${count(Math.round(r))}x` : `${r.toFixed(1)}x`;
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

function hours([from, to]: readonly [number, number]): string {
  const h = (x: number) => (x < 1 ? `${Math.round(x * 60)} min` : `${x} h`);
  return from === 0 ? `within ${h(to)}` : `${h(from)}-${h(to)}`;
}
