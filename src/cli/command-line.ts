/**
 * duplicity 0.8.22's command line (`duplicity/commandline.py`), parsed into one typed value.
 *
 * The grammar is optparse's, kept on purpose so that existing scripts and docker-duplicity's
 * `OPTIONS` keep working: options anywhere, `--opt value` or `--opt=value`, long options
 * abbreviated to any unique prefix, short options clustered (`-vi`), `--` ends the options.
 * The first positional is a command when it is a unique prefix of one (`inc`, `rest`); without a
 * command, two positionals mean a backup when the URL is second and a restore when it is first.
 *
 * commander is not used: it has no unique-prefix long options, no two-value options (`--rename`),
 * no verb abbreviations, and it does not keep the relative order of different options, which
 * duplicity's selection options depend on.
 */
import { createHash } from 'node:crypto';
import { homedir as osHomedir, userInfo } from 'node:os';
import { looksLikeUrl } from '../backend/target-url.ts';
import { ExitCode, PermafrostError } from '../ops/errors.ts';
import type { RestoreTier } from '../core/restore-tier.ts';
import { UsageError } from './usage-error.ts';

export { splitShellWords } from './shell-words.ts';

export type Verb =
  | 'full'
  | 'incremental'
  /** no command: full when there is no chain yet, otherwise incremental */
  | 'backup'
  | 'restore'
  | 'collection-status'
  | 'list-current-files'
  | 'verify'
  | 'remove-older-than'
  | 'remove-all-but-n-full'
  | 'remove-all-inc-of-but-n-full'
  | 'cleanup'
  | 'thaw'
  | 'estimate'
  | 'help'
  | 'version';

export type SelectionKind =
  | 'include'
  | 'exclude'
  | 'include-filelist'
  | 'exclude-filelist'
  | 'include-regexp'
  | 'exclude-regexp'
  | 'exclude-if-present'
  | 'exclude-other-filesystems'
  | 'exclude-device-files'
  | 'exclude-older-than';

/**
 * One selection option, in command-line order (duplicity's first match wins). Filelists read from
 * standard input (`--include-filelist-stdin`) have the value `/dev/stdin`; the deprecated
 * `--*-globbing-filelist` options are plain filelists, as in 0.8.22.
 */
export interface SelectionOption {
  readonly kind: SelectionKind;
  /** pattern, regexp, file name or time string; absent for the options that take no value */
  readonly value?: string;
}

export interface CliOptions {
  /** cache root; the cache itself is `<archiveDir>/<name>` */
  readonly archiveDir: string;
  /** cache subdirectory; duplicity's default is md5 of the URL (see defaultBackupName) */
  readonly name?: string;
  readonly tempdir?: string;
  readonly filePrefix: string;
  readonly filePrefixArchive: string;
  readonly filePrefixManifest: string;
  readonly filePrefixSignature: string;
  readonly timeSeparator: string;
  readonly shortFilenames: boolean;
  readonly oldFilenames: boolean;

  /** MiB */
  readonly volsize: number;
  /** a duplicity time string, as typed (e.g. `4W`) */
  readonly fullIfOlderThan?: string;
  /** `--time`, `-t`, `--restore-time`: a duplicity time string, as typed */
  readonly time?: string;
  /** path inside the backup, leading and trailing `/` removed; undefined for the whole tree */
  readonly fileToRestore?: string;
  readonly force: boolean;
  /** permafrost: with --force, also delete objects younger than their storage class's minimum duration */
  readonly allowEarlyDeletion: boolean;
  readonly dryRun: boolean;
  readonly progress: boolean;
  /** seconds between progress lines when not on a terminal */
  readonly progressRate: number;
  /** 0 error, 2 warning, 3 notice (default), 5 info, 9 debug */
  readonly verbosity: number;
  readonly logFile?: string;
  readonly logTimestamp: boolean;
  /** hidden testing option: "now" as epoch seconds */
  readonly currentTime?: number;
  readonly printStatistics: boolean;

  readonly noEncryption: boolean;
  readonly noCompression: boolean;
  /** `--compress-level N`: deflate level 1-9 (permafrost's own; duplicity always writes 6) */
  readonly compressLevel?: number;
  readonly encryptKeys: readonly string[];
  readonly hiddenEncryptKeys: readonly string[];
  readonly signKey?: string;
  readonly gpgBinary?: string;
  /** every `--gpg-options` value joined with a space, as duplicity does */
  readonly gpgOptions: string;
  readonly useAgent: boolean;
  /** permafrost: a file whose first line is the passphrase (instead of $PASSPHRASE or a prompt) */
  readonly passphraseFile?: string;
  /**
   * permafrost: OpenPGP key files (armored or binary; public or secret keys), searched before the
   * gpg keyring; `--encrypt-secret-keyring` adds one too
   */
  readonly keyFiles: readonly string[];

  readonly allowSourceMismatch: boolean;
  /** permafrost backup: a changed ctime, or inode number, alone does not make a file changed */
  readonly ignoreCtime: boolean;
  readonly ignoreInode: boolean;
  readonly numericOwner: boolean;
  readonly doNotRestoreOwnership: boolean;
  readonly compareData: boolean;
  readonly maxBlocksize: number;
  readonly metadataSyncMode: 'partial' | 'full';
  readonly numRetries: number;
  /** seconds */
  readonly backendRetryDelay: number;
  /** seconds */
  readonly timeout: number;
  /** permafrost: machine-readable output */
  readonly json: boolean;
  readonly selection: readonly SelectionOption[];
  /** filelists are NUL-separated */
  readonly nullSeparator: boolean;
  /** permafrost always overlaps one upload with building the next volume */
  readonly asyncUpload: boolean;
  /** permafrost thaw / restore --thaw: retrieval tier */
  readonly tier?: RestoreTier;
  /** permafrost restore: thaw the archived volumes it needs first */
  readonly thaw: boolean;
  /** permafrost thaw / restore --thaw: wait until the volumes are restored */
  readonly wait: boolean;
  /** permafrost thaw: how long restored copies stay readable */
  readonly days?: number;
  /** permafrost thaw: write an S3 Batch Operations manifest here instead of requesting restores */
  readonly batchManifest?: string;
  /** permafrost: a pricing table (JSON, the layout of pricing-us-east-1.json) instead of the built-in one */
  readonly pricingFile?: string;
  /** permafrost collection-status: the monthly cost of what is stored */
  readonly costs: boolean;
  /** permafrost --wait: seconds before the first poll of restore progress (it backs off from there) */
  readonly pollInterval: number;

  readonly s3UseDeepArchive: boolean;
  readonly s3UseGlacier: boolean;
  readonly s3UseGlacierIr: boolean;
  readonly s3UseIa: boolean;
  readonly s3UseOnezoneIa: boolean;
  readonly s3UseRrs: boolean;
  /** duplicity 2.x+: an explicit storage class, as typed */
  readonly s3StorageClass?: string;
  readonly s3EndpointUrl?: string;
  readonly s3RegionName?: string;
  readonly s3EuropeanBuckets: boolean;
  readonly s3UseNewStyle: boolean;
  readonly s3UseMultiprocessing: boolean;
  /** MiB (duplicity's default 25) */
  readonly s3MultipartChunkSize: number;
  readonly s3MultipartMaxProcs?: number;
  readonly s3MultipartMaxTimeout?: number;
  readonly s3UseServerSideEncryption: boolean;
  readonly s3UseServerSideKmsEncryption: boolean;
  readonly s3KmsKeyId?: string;
  readonly s3KmsGrant?: string;
  readonly s3UnencryptedConnection: boolean;
}

export interface ParsedCommandLine {
  readonly verb: Verb;
  /**
   * The arguments after the command, as duplicity keeps them: without the command itself and without
   * remove-older-than's time or remove-all-*'s count. Local paths have `~` and `$VAR` expanded.
   */
  readonly positionals: string[];
  readonly options: CliOptions;
  /** options accepted for compatibility that have no effect here (long names, first use order) */
  readonly ignored: string[];
  /** the backend URL among the positionals */
  readonly url?: string;
  /** the local directory: backup source, restore destination, verify source */
  readonly localPath?: string;
  /** remove-older-than's time string, as typed */
  readonly removeTime?: string;
  /** remove-all-but-n-full / remove-all-inc-of-but-n-full's count */
  readonly keepCount?: number;
  /** messages duplicity prints while parsing (deprecations, restore with selection options) */
  readonly warnings: string[];
}

/** What the parser reads from the process: injectable so tests do not depend on the machine. */
export interface ParseContext {
  readonly env?: NodeJS.ProcessEnv;
  readonly homedir?: string;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends readonly (infer U)[] ? U[] : T[K] };
type Opts = Mutable<CliOptions>;
/** Keys of the fields whose type (ignoring `?`) is exactly V. */
type KeysOf<V> = {
  [K in keyof Opts]-?: [Exclude<Opts[K], undefined>] extends [V] ? ([V] extends [Exclude<Opts[K], undefined>] ? K : never) : never;
}[keyof Opts];

interface Env {
  readonly vars: NodeJS.ProcessEnv;
  readonly home: string;
}

interface State {
  readonly o: Opts;
  readonly env: Env;
  readonly ignored: Set<string>;
  readonly warnings: string[];
  stop?: 'help' | 'version';
}

interface OptionDef {
  /** long names, then short ones; the first is the canonical name */
  readonly names: readonly string[];
  readonly arity: 0 | 1 | 2;
  /** accepted for compatibility, without effect here */
  readonly ignored?: boolean;
  readonly apply: (s: State, values: readonly string[], name: string) => void;
}

export function defaultCliOptions(context: ParseContext = {}): CliOptions {
  return defaults(resolveEnv(context));
}

function defaults(env: Env): Opts {
  const xdgCache = env.vars['XDG_CACHE_HOME'];
  return {
    archiveDir: `${xdgCache ? xdgCache : joinHome(env.home, '.cache')}/duplicity`,
    filePrefix: '',
    filePrefixArchive: '',
    filePrefixManifest: '',
    filePrefixSignature: '',
    timeSeparator: ':',
    shortFilenames: false,
    oldFilenames: false,
    volsize: 200,
    force: false,
    allowEarlyDeletion: false,
    dryRun: false,
    progress: false,
    progressRate: 3,
    verbosity: 3,
    logTimestamp: false,
    printStatistics: true,
    noEncryption: false,
    noCompression: false,
    encryptKeys: [],
    hiddenEncryptKeys: [],
    keyFiles: [],
    gpgOptions: '',
    useAgent: false,
    allowSourceMismatch: false,
    ignoreCtime: false,
    ignoreInode: false,
    numericOwner: false,
    doNotRestoreOwnership: false,
    compareData: false,
    maxBlocksize: 2048,
    metadataSyncMode: 'partial',
    numRetries: 5,
    backendRetryDelay: 30,
    timeout: 30,
    json: false,
    selection: [],
    nullSeparator: false,
    asyncUpload: true,
    thaw: false,
    wait: false,
    costs: false,
    pollInterval: 60,
    s3UseDeepArchive: false,
    s3UseGlacier: false,
    s3UseGlacierIr: false,
    s3UseIa: false,
    s3UseOnezoneIa: false,
    s3UseRrs: false,
    s3EuropeanBuckets: false,
    s3UseNewStyle: false,
    s3UseMultiprocessing: false,
    s3MultipartChunkSize: 25,
    s3UseServerSideEncryption: false,
    s3UseServerSideKmsEncryption: false,
    s3UnencryptedConnection: false,
  };
}

// ---------------------------------------------------------------------------------------------
// Option table

function flag(name: string, key: KeysOf<boolean>): OptionDef {
  return { names: [name], arity: 0, apply: (s) => { s.o[key] = true; } };
}

function text(names: string | readonly string[], key: KeysOf<string>): OptionDef {
  return { names: typeof names === 'string' ? [names] : names, arity: 1, apply: (s, [v]) => { s.o[key] = v!; } };
}

/** duplicity's "file" type: `$VAR` and `~` are expanded. */
function file(name: string, key: KeysOf<string>): OptionDef {
  return { names: [name], arity: 1, apply: (s, [v]) => { s.o[key] = expandPath(v!, s.env); } };
}

function int(name: string, key: KeysOf<number>, check?: (n: number, name: string) => void): OptionDef {
  return {
    names: [name],
    arity: 1,
    apply: (s, [v], used) => {
      const n = optparseInt(v!, used);
      check?.(n, used);
      s.o[key] = n;
    },
  };
}

/** An option we accept and check like duplicity does, but that changes nothing here. */
function ignore(name: string, kind: 'flag' | 'value' | 'int' = 'flag', arity: 1 | 2 = 1): OptionDef {
  return {
    names: [name],
    arity: kind === 'flag' ? 0 : arity,
    ignored: true,
    apply: (_s, values, used) => {
      if (kind === 'int') for (const v of values) optparseInt(v, used);
    },
  };
}

function selection(name: string, kind: SelectionKind, valueKind: 'none' | 'string' | 'path' = 'string'): OptionDef {
  return {
    names: [name],
    arity: valueKind === 'none' ? 0 : 1,
    apply: (s, [v]) => {
      if (v === undefined) s.o.selection.push({ kind });
      else s.o.selection.push({ kind, value: valueKind === 'path' ? expandPath(v, s.env) : v });
    },
  };
}

function deprecated(def: OptionDef, warning: (name: string) => string): OptionDef {
  return {
    ...def,
    apply: (s, values, used) => {
      def.apply(s, values, used);
      s.warnings.push(warning(def.names[0]!));
    },
  };
}

const oldFilenameWarning = (name: string): string =>
  `Warning: Option ${name} is pending deprecation and will be removed in version 0.9.0.\n` +
  'Use of default filenames is strongly suggested.';
const globbingFilelistWarning = (name: string): string =>
  `Warning: Option ${name} is pending deprecation and will be removed in a future release.\n` +
  '--include-filelist and --exclude-filelist now accept globbing characters and should be used instead.';
const stdinWarning = (name: string): string =>
  `Warning: Option ${name} is pending deprecation and will be removed in a future release.\n` +
  'On many GNU/Linux systems, stdin is represented by /dev/stdin and\n' +
  '--include-filelist=/dev/stdin or --exclude-filelist=/dev/stdin could be used as a substitute.';

/** Option that is parsed into a typed field but has no effect, as with duplicity's boto3 backend. */
function noEffect(def: OptionDef): OptionDef {
  return { ...def, ignored: true };
}

const SIGN_KEY = /^(0x)?([0-9A-Fa-f]{8}|[0-9A-Fa-f]{16}|[0-9A-Fa-f]{40})$/;

function checkSignKey(key: string): string {
  if (!SIGN_KEY.test(key)) {
    throw new UsageError(`Sign key should be an 8, 16 alt. 40 character hex string, like 'AA0E73D2'. Received '${key}' instead.`);
  }
  return key;
}

function deflateLevel(n: number, name: string): void {
  if (n < 1 || n > 9) throw new UsageError(`option ${name}: must be a deflate level from 1 to 9, got ${n}`);
}

function positive(n: number, name: string): void {
  if (n <= 0) throw new UsageError(`option ${name}: must be greater than zero, got ${n}`);
}

function fileToRestore(s: State, v: string, used: string): void {
  // a path inside the backup, relative to its root: '..' could only mean a mistake (exit 2, not 30)
  if (v === '') throw new UsageError(`option ${used}: empty path (leave the option out to restore everything)`);
  const stripped = expandPath(v, s.env).replace(/^\/+|\/+$/g, '');
  if (stripped.split('/').includes('..')) {
    throw new UsageError(`option ${used}: ${JSON.stringify(v)} has a '..' component; give the path inside the backup, relative to its root`);
  }
  s.o.fileToRestore = stripped === '' ? undefined : stripped;
}

/** duplicity 0.8.22's options (commandline.py), in its order, then permafrost's own. */
const OPTIONS: readonly OptionDef[] = [
  { names: ['--help', '-h'], arity: 0, apply: (s) => { s.stop = 'help'; } },
  flag('--allow-source-mismatch', 'allowSourceMismatch'),
  file('--archive-dir', 'archiveDir'),
  flag('--asynchronous-upload', 'asyncUpload'),
  flag('--compare-data', 'compareData'),
  ignore('--config-dir', 'value'),
  ignore('--copy-links'),
  int('--current-time', 'currentTime'),
  flag('--dry-run', 'dryRun'),
  { names: ['--encrypt-key'], arity: 1, apply: (s, [v]) => { s.o.encryptKeys.push(v!); } },
  { names: ['--encrypt-secret-keyring'], arity: 1, apply: (s, [v]) => { s.o.keyFiles.push(expandPath(v!, s.env)); } },
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
    { names: ['--exclude-filelist-stdin'], arity: 0, apply: (s) => { s.o.selection.push({ kind: 'exclude-filelist', value: '/dev/stdin' }); } },
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
  { names: ['--hidden-encrypt-key'], arity: 1, apply: (s, [v]) => { s.o.hiddenEncryptKeys.push(v!); } },
  ignore('--idr-fakeroot', 'value'),
  ignore('--ignore-errors'),
  ignore('--imap-full-address'),
  ignore('--imap-mailbox', 'value'),
  selection('--include', 'include'),
  selection('--include-filelist', 'include-filelist', 'path'),
  deprecated(
    { names: ['--include-filelist-stdin'], arity: 0, apply: (s) => { s.o.selection.push({ kind: 'include-filelist', value: '/dev/stdin' }); } },
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
  { names: ['--no-print-statistics'], arity: 0, apply: (s) => { s.o.printStatistics = false; } },
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
  int('--progress-rate', 'progressRate'),
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
  { names: ['--sign-key'], arity: 1, apply: (s, [v]) => { s.o.signKey = checkSignKey(v!); } },
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
  { names: ['--verbosity', '-v'], arity: 1, apply: (s, [v], used) => { s.o.verbosity = parseVerbosity(v!, used); } },
  { names: ['--version', '-V'], arity: 0, apply: (s) => { s.stop = 'version'; } },
  ignore('--mf-purge'),
  ignore('--mp-segment-size', 'int'),
  int('--volsize', 'volsize', positive),
  ignore('--file-changed', 'value'),
  ignore('--no-files-changed'),
  ignore('--show-changes-in-set', 'int'),
  int('--backend-retry-delay', 'backendRetryDelay'),
  // permafrost's own
  flag('--json', 'json'),
  flag('--allow-early-deletion', 'allowEarlyDeletion'),
  file('--passphrase-file', 'passphraseFile'),
  { names: ['--key-file'], arity: 1, apply: (s, [v]) => { s.o.keyFiles.push(expandPath(v!, s.env)); } },
  // named so that it is not taken as an abbreviation of --passphrase-file
  {
    names: ['--passphrase'],
    arity: 1,
    apply: () => {
      throw new UsageError('option --passphrase does not exist: a passphrase is never read from the command line, where every user can see it; set PASSPHRASE or use --passphrase-file FILE');
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
  flag('--ignore-ctime', 'ignoreCtime'),
  flag('--ignore-inode', 'ignoreInode'),
];

const LONG = new Map<string, OptionDef>();
const SHORT = new Map<string, OptionDef>();
for (const def of OPTIONS) {
  for (const n of def.names) (n.startsWith('--') ? LONG : SHORT).set(n, def);
}
const LONG_NAMES = [...LONG.keys()].sort();

/** Every long option name the parser accepts (duplicity's and permafrost's). */
export function knownLongOptions(): readonly string[] {
  return LONG_NAMES;
}

// ---------------------------------------------------------------------------------------------
// Values

/** duplicity's verbosity type: a digit, or e/w/n/i/d, or a level word, case-insensitive. */
export function parseVerbosity(raw: string, optionName = '--verbosity'): number {
  const v = raw.toLowerCase();
  const named: Record<string, number> = { e: 0, error: 0, w: 2, warning: 2, n: 3, notice: 3, i: 5, info: 5, d: 9, debug: 9 };
  const byName = named[v];
  if (byName !== undefined) return byName;
  const n = pythonInt(v, 10);
  if (n !== undefined && n >= 0 && n <= 9) return n;
  throw new UsageError(
    `option ${optionName}: Verbosity must be one of: digit [0-9], character [ewnid], ` +
      `or word ['error', 'warning', 'notice', 'info', 'debug']. The default is 3 (Notice).`,
  );
}

/** optparse's "int" type: `0x` hex, `0b` binary, a leading `0` octal, else decimal. */
function optparseInt(raw: string, optionName: string): number {
  let radix: 2 | 8 | 10 | 16 = 10;
  let digits = raw;
  const head = raw.slice(0, 2).toLowerCase();
  if (head === '0x') radix = 16;
  else if (head === '0b') {
    radix = 2;
    digits = raw.slice(2) || '0';
  } else if (raw.startsWith('0')) radix = 8;
  const n = pythonInt(digits, radix);
  if (n === undefined) throw new UsageError(`option ${optionName}: invalid integer value: '${raw}'`);
  return n;
}

const DIGITS: Record<number, string> = { 2: '01', 8: '0-7', 10: '0-9', 16: '0-9a-fA-F' };

/** Python's int(s, radix) for the radixes optparse uses; undefined where Python raises. */
function pythonInt(s: string, radix: 2 | 8 | 10 | 16): number | undefined {
  const t = s.trim();
  const m = /^([+-]?)(.*)$/s.exec(t)!;
  let body = m[2]!;
  let afterPrefix = false;
  const prefix = radix === 16 ? '0x' : radix === 8 ? '0o' : radix === 2 ? '0b' : '';
  if (prefix && body.slice(0, 2).toLowerCase() === prefix) {
    body = body.slice(2);
    afterPrefix = true;
  }
  const d = `[${DIGITS[radix]!}]`;
  const shape = new RegExp(`^${afterPrefix ? '_?' : ''}${d}(?:_?${d})*$`);
  if (!shape.test(body)) return undefined;
  const n = parseInt(body.replace(/_/g, ''), radix);
  if (!Number.isSafeInteger(n)) return undefined;
  return m[1] === '-' ? -n : n;
}

function resolveEnv(context: ParseContext): Env {
  const vars = context.env ?? process.env;
  return { vars, home: vars['HOME'] || context.homedir || osHomedir() };
}

function joinHome(home: string, rest: string): string {
  return `${home.replace(/\/+$/, '')}/${rest}`;
}

/** duplicity's expand_fn: os.path.expanduser(os.path.expandvars(path)). */
function expandPath(p: string, env: Env): string {
  return expandUser(expandVars(p, env.vars), env.home);
}

function expandVars(p: string, vars: NodeJS.ProcessEnv): string {
  if (!p.includes('$')) return p;
  return p.replace(/\$([A-Za-z0-9_]+|\{[^}]*\})/g, (whole, name: string) => {
    const key = name.startsWith('{') ? name.slice(1, -1) : name;
    const value = vars[key];
    return value === undefined ? whole : value;
  });
}

function expandUser(p: string, home: string): string {
  if (!p.startsWith('~')) return p;
  const slash = p.indexOf('/', 1);
  const end = slash < 0 ? p.length : slash;
  let userHome: string;
  if (end === 1) userHome = home;
  else {
    // Only the current user can be looked up without a passwd binding; others stay unexpanded.
    let me: { username: string; homedir: string };
    try {
      me = userInfo();
    } catch {
      return p;
    }
    if (p.slice(1, end) !== me.username) return p;
    userHome = me.homedir;
  }
  return userHome.replace(/\/+$/, '') + p.slice(end) || '/';
}

/** duplicity's default --name: the md5 of the target URL exactly as typed. */
export function defaultBackupName(url: string): string {
  return createHash('md5').update(url, 'utf8').digest('hex');
}

// ---------------------------------------------------------------------------------------------
// Tokens

function matchLong(given: string): OptionDef & { canonical: string } {
  const exact = LONG.get(given);
  if (exact) return { ...exact, canonical: given };
  const candidates = LONG_NAMES.filter((n) => n.startsWith(given));
  if (candidates.length === 1) return { ...LONG.get(candidates[0]!)!, canonical: candidates[0]! };
  if (candidates.length === 0) throw new UsageError(`no such option: ${given}`);
  throw new UsageError(`ambiguous option: ${given} (${candidates.join(', ')}?)`);
}

function takeValues(rest: string[], arity: number, name: string): string[] {
  if (rest.length < arity) {
    throw new UsageError(`${name} option requires ${arity} argument${arity === 1 ? '' : 's'}`);
  }
  return rest.splice(0, arity);
}

function run(s: State, def: OptionDef, values: readonly string[], name: string): void {
  def.apply(s, values, name);
  if (def.ignored) s.ignored.add(def.names[0]!);
}

/** optparse's _process_args with interspersed arguments. */
function scan(argv: readonly string[], s: State): string[] {
  const rest = [...argv];
  const positionals: string[] = [];
  while (rest.length > 0 && !s.stop) {
    const arg = rest[0]!;
    if (arg === '--') {
      rest.shift();
      positionals.push(...rest);
      break;
    }
    if (arg.startsWith('--')) {
      rest.shift();
      const eq = arg.indexOf('=');
      const given = eq < 0 ? arg : arg.slice(0, eq);
      if (eq >= 0) rest.unshift(arg.slice(eq + 1));
      const def = matchLong(given);
      if (def.arity === 0 && eq >= 0) throw new UsageError(`${def.canonical} option does not take a value`);
      run(s, def, takeValues(rest, def.arity, def.canonical), def.canonical);
    } else if (arg.startsWith('-') && arg.length > 1) {
      rest.shift();
      for (let i = 1; i < arg.length && !s.stop; i++) {
        const name = `-${arg[i]}`;
        const def = SHORT.get(name);
        if (!def) throw new UsageError(`no such option: ${name}`);
        if (def.arity > 0) {
          if (i + 1 < arg.length) rest.unshift(arg.slice(i + 1));
          run(s, def, takeValues(rest, def.arity, name), name);
          break;
        }
        run(s, def, [], name);
      }
    } else {
      positionals.push(arg);
      rest.shift();
    }
  }
  return positionals;
}

// ---------------------------------------------------------------------------------------------
// Commands

/** duplicity 0.8.22's commands: a unique prefix of one of these is that command. */
const DUPLICITY_COMMANDS = [
  'cleanup',
  'collection-status',
  'full',
  'incremental',
  'list-current-files',
  'remove-older-than',
  'remove-all-but-n-full',
  'remove-all-inc-of-but-n-full',
  'restore',
  'verify',
  'replicate',
] as const;

/**
 * permafrost's own commands match only when spelled out, so that no abbreviation duplicity accepts
 * changes meaning and a source directory called e.g. `e` is not taken for `estimate`.
 */
const OWN_COMMANDS = ['thaw', 'estimate', 'help', 'version'] as const;

function commandError(message: string): UsageError {
  return new UsageError(`Command line error: ${message}`);
}

function pickCommand(word: string): Verb | 'replicate' | undefined {
  const own = OWN_COMMANDS.find((c) => c === word);
  if (own) return own;
  const possible = DUPLICITY_COMMANDS.filter((c) => c.startsWith(word));
  if (possible.length > 1) throw commandError(`command '${word}' not unique, could be ${possible.join(', ')}`);
  return possible[0];
}

export function parseCommandLine(argv: readonly string[], context: ParseContext = {}): ParsedCommandLine {
  const env = resolveEnv(context);
  const s: State = { o: defaults(env), env, ignored: new Set(), warnings: [] };
  const args = scan(argv, s);
  const ignored = [...s.ignored];
  if (s.stop) return { verb: s.stop, positionals: args, options: s.o, ignored, warnings: s.warnings };

  let verb: Verb | 'replicate' | undefined;
  if (args.length > 0) {
    verb = pickCommand(args[0]!);
    if (verb) args.shift();
  }
  if (verb === 'replicate') throw commandError('replicate is not supported by permafrost');
  if (verb === 'help' || verb === 'version') return { verb, positionals: args, options: s.o, ignored, warnings: s.warnings };

  let removeTime: string | undefined;
  let keepCount: number | undefined;
  if (verb === 'remove-older-than') {
    removeTime = args.shift();
    if (removeTime === undefined) throw commandError('Missing time string for remove-older-than');
  } else if (verb === 'remove-all-but-n-full' || verb === 'remove-all-inc-of-but-n-full') {
    const raw = args.shift();
    if (raw === undefined) throw commandError(`Missing count for ${verb}`);
    keepCount = pythonInt(raw, 10);
    if (keepCount === undefined) throw commandError(`${verb} count must be a whole number, got '${raw}'`);
    if (keepCount <= 0) throw commandError(`${verb} count must be > 0`);
  }

  const expected = expectedArgs(verb ?? 'backup');
  if (args.length !== expected) throw commandError(`Expected ${expected} args, got ${args.length}`);
  const positionals = args.map((a) => (a.includes('://') ? a : expandPath(a, env)));

  const resolved = resolveDirection(verb, positionals);
  checkConsistency(resolved.verb, s);
  return {
    verb: resolved.verb,
    positionals,
    options: s.o,
    ignored,
    ...(resolved.url !== undefined && { url: resolved.url }),
    ...(resolved.localPath !== undefined && { localPath: resolved.localPath }),
    ...(removeTime !== undefined && { removeTime }),
    ...(keepCount !== undefined && { keepCount }),
    warnings: s.warnings,
  };
}

function expectedArgs(verb: Verb): number {
  switch (verb) {
    case 'cleanup':
    case 'collection-status':
    case 'list-current-files':
    case 'remove-older-than':
    case 'remove-all-but-n-full':
    case 'remove-all-inc-of-but-n-full':
    case 'thaw':
    case 'estimate':
      return 1;
    default:
      return 2;
  }
}

function resolveDirection(
  verb: Exclude<Verb, 'help' | 'version'> | undefined,
  args: readonly string[],
): { verb: Verb; url?: string; localPath?: string } {
  if (verb === 'estimate') {
    // `estimate SOURCE_DIR` prices backing the tree up; it needs no target
    if (looksLikeUrl(args[0]!)) throw commandError('estimate takes a local SOURCE_DIR, not a URL: estimate [options] SOURCE_DIR');
    return { verb, localPath: args[0]! };
  }
  if (args.length === 1) {
    const url = args[0]!;
    if (!looksLikeUrl(url)) {
      throw new PermafrostError(
        ExitCode.badUrl,
        `Bad URL '${url}'. Examples of URL strings are "file:///usr/local" and "boto3+s3://bucket/prefix".`,
      );
    }
    return { verb: verb!, url };
  }
  const [a, b] = [args[0]!, args[1]!];
  const aUrl = looksLikeUrl(a);
  const bUrl = looksLikeUrl(b);
  if (!aUrl && !bUrl) {
    throw commandError('One of the arguments must be an URL, e.g. "file:///usr/local" or "boto3+s3://bucket/prefix".');
  }
  if (aUrl && bUrl) throw commandError('Two URLs specified. One argument should be a path.');
  const backingUp = bUrl;
  const url = backingUp ? b : a;
  const localPath = backingUp ? a : b;
  switch (verb) {
    case undefined:
      return { verb: backingUp ? 'backup' : 'restore', url, localPath };
    case 'full':
    case 'incremental':
      if (!backingUp) throw commandError(`${verb} option cannot be used when restoring or verifying`);
      return { verb, url, localPath };
    case 'verify':
      if (backingUp) throw commandError('verify option cannot be used when backing up');
      return { verb, url, localPath };
    case 'restore':
      // duplicity would quietly run a backup here; a restore verb with the URL last is a mistake.
      if (backingUp) throw commandError('restore expects the URL first: restore URL DESTINATION');
      return { verb, url, localPath };
    default:
      return { verb, url, localPath };
  }
}

function checkConsistency(verb: Verb, s: State): void {
  const o = s.o;
  if (verb === 'full' || verb === 'incremental' || verb === 'backup') {
    if (o.fileToRestore !== undefined) {
      throw commandError(`restore option incompatible with ${verb === 'full' ? 'full' : 'inc'} backup`);
    }
    if ([o.s3UseRrs, o.s3UseIa, o.s3UseOnezoneIa].filter(Boolean).length >= 2) {
      throw commandError('only one of --s3-use-rrs, --s3-use-ia, and --s3-use-onezone-ia may be used');
    }
  } else if (verb === 'restore' && o.selection.length > 0) {
    s.warnings.push(
      'Command line warning: Selection options --exclude/--include\ncurrently work only when backing up,not restoring.',
    );
  }
}
