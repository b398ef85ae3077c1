/** The text of `permafrost --help`. */
import { ExitCode } from '../core/errors.ts';

/** One line per exit code; keyed by ExitCode's names so that a new code cannot go undocumented. */
const EXIT_CODE_MEANINGS: Record<keyof typeof ExitCode, string> = {
  ok: 'success',
  differences: 'verify found differences, or missing or mismatched volumes',
  usage: 'bad command line or option',
  completedWithErrors: 'backup finished, but some source files could not be read',
  badSource: 'source missing or not a directory',
  restoreDestExists: 'restore destination exists and is not empty (use --force)',
  noChain: 'no backup at the target, or --time is before the first backup',
  timeNotAfterLast: "the new backup's time (--current-time, or the clock) is not after the target's last backup",
  noSignatures: 'incremental asked for, but there is no full backup to extend',
  hashMismatch: 'a volume does not match the hash in its manifest',
  corruptArchive: 'a volume or manifest is missing, truncated or unreadable',
  locked: 'another run holds the lock on this backup or its target (the message names the holder)',
  objectExists: 'a write would replace an object at the target (names are never overwritten)',
  badUrl: 'the target URL is not understood',
  backendError: 'the target cannot be read or written',
  sourceMismatch: 'incremental from another host or source directory than the chain (--allow-source-mismatch)',
  localIo: 'a local path (restore destination, --archive-dir, --tempdir) cannot be read or written',
  decryptFailed: 'a file cannot be encrypted or decrypted: missing or wrong passphrase or key',
  integrityFailed: 'tampered or corrupt encrypted data (MDC), or no good --sign-key signature',
  thawInProgress: 'archived volumes are still being restored (thaw in progress): run again later, or add --wait',
  internal: 'internal error (a bug: please report it, with --verbosity debug output)',
  jobFailed: 'daemon (one period run): at least one job failed or was interrupted',
};

/** The meaning of an exit code, as --help gives it (the message of a --json error document without one). */
export function exitCodeMeaning(code: number): string {
  const name = (Object.keys(ExitCode) as (keyof typeof ExitCode)[]).find((n) => ExitCode[n] === code);
  return name ? EXIT_CODE_MEANINGS[name] : `exit code ${code}`;
}

export function exitCodeTable(): string {
  const rows = (Object.keys(ExitCode) as (keyof typeof ExitCode)[])
    .map((name) => [ExitCode[name], EXIT_CODE_MEANINGS[name]] as const)
    .sort((a, b) => a[0] - b[0]);
  return rows.map(([code, meaning]) => `  ${String(code).padStart(3)}  ${meaning}`).join('\n');
}

export function helpText(): string {
  return `Usage:
  permafrost [full|incremental] [options] SOURCE_DIR TARGET_URL
  permafrost restore [options] TARGET_URL DEST_DIR
  permafrost verify [--compare-data] [options] TARGET_URL SOURCE_DIR
  permafrost collection-status [options] TARGET_URL
  permafrost list-current-files [--time T] [options] TARGET_URL
  permafrost remove-older-than TIME [--force] [options] TARGET_URL
  permafrost remove-all-but-n-full COUNT [--force] [options] TARGET_URL
  permafrost remove-all-inc-of-but-n-full COUNT [--force] [options] TARGET_URL
  permafrost cleanup [--force] [options] TARGET_URL
  permafrost restore --thaw [--wait] [--tier T] [--days N] [options] TARGET_URL DEST_DIR
  permafrost thaw [--file-to-restore PATH] [--time T] [--tier Bulk|Standard|Expedited] [--days N]
                  [--wait] [--dry-run] [--batch-manifest FILE.csv] TARGET_URL
  permafrost estimate [--volsize N] [--s3-use-deep-archive|...] [--pricing-file F] [--json] SOURCE_DIR
  permafrost daemon [options]     runs JOB_<N>_WHAT/WHEN on a schedule: see permafrost daemon -h

Commands and options are duplicity 0.8.22's. A command may be shortened to a unique prefix
(inc, rest). Without a command, two arguments mean a backup when the URL is second (full if
there is no backup yet, else incremental) and a restore when the URL is first.

Targets:
  file:///path                     a local directory
  boto3+s3://bucket[/prefix]       Amazon S3 (also s3://); credentials from the AWS environment

Main options:
  --full-if-older-than T     do a full backup when the last full is older than T (e.g. 4W)
  --volsize N                volume size in MiB (default 200)
  --s3-use-deep-archive      store volumes in Glacier Deep Archive; also --s3-use-glacier,
                             --s3-use-glacier-ir, --s3-use-ia, --s3-use-onezone-ia, --s3-use-rrs,
                             or any class by name: --s3-storage-class CLASS
  --s3-endpoint-url URL      S3-compatible endpoint; --s3-region-name R
  --no-encryption            no GnuPG; volumes are gzip, or plain with --no-compression
  --compress-level N         deflate level 1-9 of what is compressed (default 1; duplicity: 6)
  --jobs N                   compression threads (default: cores - 1); same output for any N
  --encrypt-key KEY          encrypt to a public key (repeatable); --sign-key KEY signs
                             (passphrases are read from PASSPHRASE and SIGN_PASSPHRASE)
  --passphrase-file F        read the passphrase from the first line of F; --key-file F adds
                             keys from an OpenPGP key file, searched before the gpg keyring
  --time T, -t T             restore, list or thaw the state at time T (default: now)
  --file-to-restore P, -r P  restore only path P of the backup
  --include/--exclude PATTERN, --include-filelist/--exclude-filelist FILE,
  --include-regexp/--exclude-regexp RE, --exclude-if-present NAME
                             selection, in command-line order: the first match wins
  --archive-dir D            local cache root (default ~/.cache/duplicity); --name N
  --file-prefix[-archive|-manifest|-signature] P
                             prefix remote file names (pass the same on every command)
  --force                    really delete (remove-*, cleanup); restore into a non-empty dir
  --allow-early-deletion     with --force: also delete Glacier objects younger than their
                             class minimum (billed as if kept: 90 days GLACIER, 180 DEEP_ARCHIVE)
  --dry-run                  do not write anything
  --ignore-ctime, --ignore-inode
                             backup: a new ctime or inode number alone is no change (for
                             network, FUSE and overlay file systems where they are unstable)
  --progress                 show progress (a bar on a terminal)
  --verbosity L, -v L        0-9 or error|warning|notice|info|debug (default notice)
  --log-file F               append duplicity's machine-readable log records to F
  --json                     stdout: one JSON document (the result, or the error); all else
                             on stderr (docs/output.md, schemas in docs/schemas/)
  --thaw                     restore: first thaw the archived volumes it reads (plan and cost
                             shown first); exits 75 while they are restored, unless --wait
  --wait                     thaw, restore --thaw: wait until the volumes are readable
  --tier Bulk|Standard|Expedited
                             Glacier retrieval tier (default Standard)
  --days N                   how long restored copies stay readable (default: the wait + a day)
  --poll-interval S          --wait: seconds before the first check of the restores (default 60)
  --costs                    collection-status: the monthly storage cost of what is stored
  --pricing-file F           prices for plans and estimates (JSON; default: built-in us-east-1)
  --shards N                 backup: split over N workers, one shard each (docs/shards.md);
                             --shard-index I, else JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX
  --jobs N                   restore of a sharded target: shards restored at once (default 4)
  --help, -h                 this text; --version, -V

Other duplicity options are accepted; those without an effect here are named in an info message.

Exit codes:
${exitCodeTable()}

See README.md for the full option list, Glacier restores, and migrating from docker-duplicity.
`;
}
