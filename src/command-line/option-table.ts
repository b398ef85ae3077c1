/** Every option the parser accepts, and lookup by long or short name. */
import { expandPath } from './expand-path.ts';
import {
  deprecated,
  file,
  flag,
  globbingFilelistWarning,
  ignore,
  int,
  seconds,
  noEffect,
  oldFilenameWarning,
  selection,
  stdinWarning,
  text,
  type OptionDef,
  type State,
} from './option-kinds.ts';
import { checkSignKey, deflateLevel, nonNegative, optparseInt, parseVerbosity, positive } from './option-values.ts';
import { UsageError } from './usage-error.ts';

function fileToRestore(s: State, v: string, used: string): void {
  // a path inside the backup, relative to its root: '..' could only mean a mistake (exit 2, not 30)
  if (v === '') throw new UsageError(`option ${used}: empty path (leave the option out to restore everything)`);
  const stripped = expandPath(v, s.env).replace(/^\/+|\/+$/g, '');
  if (stripped.split('/').includes('..')) {
    throw new UsageError(
      `option ${used}: ${JSON.stringify(v)} has a '..' component; give the path inside the backup, relative to its root`,
    );
  }
  s.o.fileToRestore = stripped === '' ? undefined : stripped;
}

/** duplicity 0.8.22's options (commandline.py), in its order. */
const DUPLICITY_OPTIONS: readonly OptionDef[] = [
  {
    names: ['--help', '-h'],
    arity: 0,
    apply: (s) => {
      s.stop = 'help';
    },
  },
  flag('--allow-source-mismatch', 'allowSourceMismatch'),
  file('--archive-dir', 'archiveDir'),
  flag('--asynchronous-upload', 'asyncUpload'),
  flag('--compare-data', 'compareData'),
  ignore('--config-dir', 'value'),
  ignore('--copy-links'),
  int('--current-time', 'currentTime'),
  flag('--dry-run', 'dryRun'),
  {
    names: ['--encrypt-key'],
    arity: 1,
    apply: (s, [v]) => {
      s.o.encryptKeys.push(v!);
    },
  },
  {
    names: ['--encrypt-secret-keyring'],
    arity: 1,
    apply: (s, [v]) => {
      s.o.keyFiles.push(expandPath(v!, s.env));
    },
  },
  {
    names: ['--encrypt-sign-key'],
    arity: 1,
    apply: (s, [v]) => {
      s.o.encryptKeys.push(v!);
      s.o.signKey = checkSignKey(v!);
    },
  },
  selection('--exclude', 'exclude'),
  selection('--exclude-device-files', 'exclude-device-files', 'none'),
  selection('--exclude-filelist', 'exclude-filelist', 'path'),
  deprecated(
    {
      names: ['--exclude-filelist-stdin'],
      arity: 0,
      apply: (s) => {
        s.o.selection.push({ kind: 'exclude-filelist', value: '/dev/stdin' });
      },
    },
    stdinWarning,
  ),
  deprecated(selection('--exclude-globbing-filelist', 'exclude-filelist', 'path'), globbingFilelistWarning),
  selection('--exclude-if-present', 'exclude-if-present', 'path'),
  selection('--exclude-other-filesystems', 'exclude-other-filesystems', 'none'),
  selection('--exclude-regexp', 'exclude-regexp'),
  selection('--exclude-older-than', 'exclude-older-than'),
  ignore('--fail-on-volume', 'int'),
  text('--file-prefix', 'filePrefix'),
  text('--file-prefix-manifest', 'filePrefixManifest'),
  text('--file-prefix-archive', 'filePrefixArchive'),
  text('--file-prefix-signature', 'filePrefixSignature'),
  ignore('--skip-volume', 'int'),
  // --path-to-restore is duplicity 3.x's name for the same option.
  { names: ['--file-to-restore', '--path-to-restore', '-r'], arity: 1, apply: (s, [v], used) => fileToRestore(s, v!, used) },
  flag('--force', 'force'),
  ignore('--ftp-passive'),
  ignore('--ftp-regular'),
  text('--full-if-older-than', 'fullIfOlderThan'),
  deprecated(ignore('--gio'), oldFilenameWarning),
  file('--gpg-binary', 'gpgBinary'),
  {
    names: ['--gpg-options'],
    arity: 1,
    apply: (s, [v]) => {
      if (v) s.o.gpgOptions = s.o.gpgOptions ? `${s.o.gpgOptions} ${v}` : v;
    },
  },
  {
    names: ['--hidden-encrypt-key'],
    arity: 1,
    apply: (s, [v]) => {
      s.o.hiddenEncryptKeys.push(v!);
    },
  },
  ignore('--idr-fakeroot', 'value'),
  ignore('--ignore-errors'),
  ignore('--imap-full-address'),
  ignore('--imap-mailbox', 'value'),
  selection('--include', 'include'),
  selection('--include-filelist', 'include-filelist', 'path'),
  deprecated(
    {
      names: ['--include-filelist-stdin'],
      arity: 0,
      apply: (s) => {
        s.o.selection.push({ kind: 'include-filelist', value: '/dev/stdin' });
      },
    },
    stdinWarning,
  ),
  deprecated(selection('--include-globbing-filelist', 'include-filelist', 'path'), globbingFilelistWarning),
  selection('--include-regexp', 'include-regexp'),
  {
    names: ['--log-fd'],
    arity: 1,
    ignored: true,
    apply: (_s, [v], used) => {
      if (optparseInt(v!, used) < 1) throw new UsageError('log-fd must be greater than zero.');
    },
  },
  file('--log-file', 'logFile'),
  flag('--log-timestamp', 'logTimestamp'),
  int('--max-blocksize', 'maxBlocksize', positive),
  text('--name', 'name'),
  flag('--no-encryption', 'noEncryption'),
  flag('--no-compression', 'noCompression'),
  {
    names: ['--no-print-statistics'],
    arity: 0,
    apply: (s) => {
      s.o.printStatistics = false;
    },
  },
  flag('--null-separator', 'nullSeparator'),
  int('--num-retries', 'numRetries'),
  flag('--numeric-owner', 'numericOwner'),
  flag('--do-not-restore-ownership', 'doNotRestoreOwnership'),
  deprecated(flag('--old-filenames', 'oldFilenames'), oldFilenameWarning),
  {
    names: ['--metadata-sync-mode'],
    arity: 1,
    apply: (s, [v], used) => {
      if (v !== 'full' && v !== 'partial') throw new UsageError(`option ${used}: invalid choice: '${v}' (choose from 'full', 'partial')`);
      s.o.metadataSyncMode = v;
    },
  },
  ignore('--par2-redundancy', 'int'),
  ignore('--par2-options', 'value'),
  ignore('--par2-volumes', 'int'),
  flag('--progress', 'progress'),
  seconds('--progress-rate', 'progressRate'),
  ignore('--pydevd'),
  ignore('--rename', 'value', 2),
  text(['--restore-time', '--time', '-t'], 'time'),
  ignore('--rsync-options', 'value'),
  noEffect(flag('--s3-european-buckets', 's3EuropeanBuckets')),
  flag('--s3-use-rrs', 's3UseRrs'),
  flag('--s3-use-ia', 's3UseIa'),
  flag('--s3-use-glacier', 's3UseGlacier'),
  flag('--s3-use-glacier-ir', 's3UseGlacierIr'),
  flag('--s3-use-deep-archive', 's3UseDeepArchive'),
  flag('--s3-use-onezone-ia', 's3UseOnezoneIa'),
  noEffect(flag('--s3-use-new-style', 's3UseNewStyle')),
  flag('--s3-unencrypted-connection', 's3UnencryptedConnection'),
  int('--s3-multipart-chunk-size', 's3MultipartChunkSize', positive),
  int('--s3-multipart-max-procs', 's3MultipartMaxProcs', positive),
  noEffect(int('--s3-multipart-max-timeout', 's3MultipartMaxTimeout')),
  noEffect(flag('--s3-use-multiprocessing', 's3UseMultiprocessing')),
  flag('--s3-use-server-side-encryption', 's3UseServerSideEncryption'),
  flag('--s3-use-server-side-kms-encryption', 's3UseServerSideKmsEncryption'),
  text('--s3-kms-key-id', 's3KmsKeyId'),
  text('--s3-kms-grant', 's3KmsGrant'),
  text('--s3-region-name', 's3RegionName'),
  text('--s3-endpoint-url', 's3EndpointUrl'),
  ignore('--swift-storage-policy', 'value'),
  ignore('--azure-max-single-put-size', 'int'),
  ignore('--azure-max-block-size', 'int'),
  ignore('--azure-max-connections', 'int'),
  ignore('--azure-blob-tier', 'value'),
  ignore('--scp-command', 'value'),
  ignore('--sftp-command', 'value'),
  ignore('--cf-backend', 'value'),
  ignore('--b2-hide-files'),
  deprecated(flag('--short-filenames', 'shortFilenames'), oldFilenameWarning),
  {
    names: ['--sign-key'],
    arity: 1,
    apply: (s, [v]) => {
      s.o.signKey = checkSignKey(v!);
    },
  },
  ignore('--ssh-askpass'),
  ignore('--ssh-options', 'value'),
  ignore('--ssl-cacert-file', 'value'),
  ignore('--ssl-cacert-path', 'value'),
  ignore('--ssl-no-check-certificate'),
  file('--tempdir', 'tempdir'),
  int('--timeout', 'timeout'),
  deprecated(
    {
      names: ['--time-separator'],
      arity: 1,
      apply: (s, [v]) => {
        if (v === '-') throw new UsageError("Dash ('-') not valid for time-separator.");
        s.o.timeSeparator = v!;
      },
    },
    oldFilenameWarning,
  ),
  flag('--use-agent', 'useAgent'),
  {
    names: ['--verbosity', '-v'],
    arity: 1,
    apply: (s, [v], used) => {
      s.o.verbosity = parseVerbosity(v!, used);
    },
  },
  {
    names: ['--version', '-V'],
    arity: 0,
    apply: (s) => {
      s.stop = 'version';
    },
  },
  ignore('--mf-purge'),
  ignore('--mp-segment-size', 'int'),
  int('--volsize', 'volsize', positive),
  ignore('--file-changed', 'value'),
  ignore('--no-files-changed'),
  ignore('--show-changes-in-set', 'int'),
  int('--backend-retry-delay', 'backendRetryDelay'),
];

/** permafrost's own options: README "Options" and `--help` describe each (test/cli/options-documented.test.ts). */
const OWN_OPTIONS: readonly OptionDef[] = [
  flag('--json', 'json'),
  flag('--allow-early-deletion', 'allowEarlyDeletion'),
  file('--passphrase-file', 'passphraseFile'),
  {
    names: ['--key-file'],
    arity: 1,
    apply: (s, [v]) => {
      s.o.keyFiles.push(expandPath(v!, s.env));
    },
  },
  // named so that it is not taken as an abbreviation of --passphrase-file
  {
    names: ['--passphrase'],
    arity: 1,
    apply: () => {
      throw new UsageError(
        'option --passphrase does not exist: a passphrase is never read from the command line, where every user can see it; set PASSPHRASE or use --passphrase-file FILE',
      );
    },
  },
  {
    names: ['--tier'],
    arity: 1,
    apply: (s, [v], used) => {
      const tier = (['Bulk', 'Standard', 'Expedited'] as const).find((t) => t.toLowerCase() === v!.toLowerCase());
      if (!tier) throw new UsageError(`option ${used}: invalid choice: '${v}' (choose from 'Bulk', 'Standard', 'Expedited')`);
      s.o.tier = tier;
    },
  },
  text('--s3-storage-class', 's3StorageClass'),
  flag('--thaw', 'thaw'),
  flag('--wait', 'wait'),
  int('--days', 'days', positive),
  file('--batch-manifest', 'batchManifest'),
  file('--pricing-file', 'pricingFile'),
  flag('--costs', 'costs'),
  int('--poll-interval', 'pollInterval', positive),
  int('--compress-level', 'compressLevel', deflateLevel),
  int('--jobs', 'jobs', positive),
  flag('--ignore-ctime', 'ignoreCtime'),
  flag('--ignore-inode', 'ignoreInode'),
  int('--shards', 'shards', positive),
  int('--shard-index', 'shardIndex', nonNegative),
];

const OPTIONS: readonly OptionDef[] = [...DUPLICITY_OPTIONS, ...OWN_OPTIONS];

export const LONG = new Map<string, OptionDef>();
export const SHORT = new Map<string, OptionDef>();
for (const def of OPTIONS) {
  for (const n of def.names) (n.startsWith('--') ? LONG : SHORT).set(n, def);
}
export const LONG_NAMES = [...LONG.keys()].sort();

/** Every long option name the parser accepts (duplicity's and permafrost's). */
export function knownLongOptions(): readonly string[] {
  return LONG_NAMES;
}

/** The long names of permafrost's own options, which duplicity 0.8.22 does not have. */
export function ownLongOptions(): readonly string[] {
  return OWN_OPTIONS.flatMap((def) => def.names.filter((n) => n.startsWith('--')));
}
