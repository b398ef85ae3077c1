/** Every option's value before the command line changes it (duplicity 0.8.22's defaults). */
import type { CliOptions, Opts, ParseContext } from './cli-options.ts';
import { joinHome, resolveEnv, type Env } from './expand-path.ts';

export function defaultCliOptions(context: ParseContext = {}): CliOptions {
  return defaults(resolveEnv(context));
}

export function defaults(env: Env): Opts {
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
