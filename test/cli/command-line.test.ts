import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  defaultBackupName,
  defaultCliOptions,
  knownLongOptions,
  parseCommandLine,
  parseVerbosity,
  type ParseContext,
  type ParsedCommandLine,
} from '../../src/cli/command-line.ts';
import { splitShellWords } from '../../src/command-line/shell-words.ts';
import { UsageError } from '../../src/command-line/usage-error.ts';
import { ExitCode, PermafrostError } from '../../src/core/errors.ts';
import { removeTree } from '../support/tmp.ts';

// The users' guide (reference/users-guide-duplicity-glacier.txt), verbatim. docker-duplicity runs
// these through the shell, so $(hostname -f) is the container's name and $(date ...) a timestamp.
const GUIDE_OPTIONS =
  '--full-if-older-than 4W --s3-use-deep-archive --no-compression --no-encryption --progress --archive-dir /mnt/backup/src/config --s3-use-multiprocessing --volsize 1024 --verbosity i --log-file /logfiles/log-$(date "+%Y%m%d-%H%M%S").log';
const GUIDE_OPTIONS_EXTRA =
  '--asynchronous-upload --s3-european-buckets --s3-multipart-chunk-size 10 --s3-use-new-style --metadata-sync-mode partial --file-prefix-archive archive-$(hostname -f)- --file-prefix-manifest manifest-$(hostname -f)- --file-prefix-signature signature-$(hostname -f)-';
// The docker-compose variant (compose escapes $ as $$).
const COMPOSE_OPTIONS =
  '--s3-use-deep-archive --no-encryption --archive-dir /mnt/backup/src/config --s3-use-multiprocessing --volsize 1024 --verbosity i --log-file /logfiles/log-$$(date "+%Y%m%d-%H%M%S").log --full-if-older-than 4W --asynchronous-upload';
const COMPOSE_OPTIONS_EXTRA =
  '--s3-european-buckets --s3-multipart-chunk-size 10 --s3-use-new-style --metadata-sync-mode partial --file-prefix-archive archive-$$(hostname -f)- --file-prefix-manifest manifest-$$(hostname -f)- --file-prefix-signature signature-$$(hostname -f)-';
const URL = 'boto3+s3://bucketname/backup-folder';

/** What the shell does to the guide's strings, for host `backupname` at 2024-01-01 00:00:00. */
function substituted(s: string): string {
  return s.replaceAll('$$(', '$(').replaceAll('$(hostname -f)', 'backupname').replaceAll('$(date "+%Y%m%d-%H%M%S")', '20240101-000000');
}

const guideArgv = (...rest: string[]): string[] => [
  ...splitShellWords(substituted(GUIDE_OPTIONS)),
  ...splitShellWords(substituted(GUIDE_OPTIONS_EXTRA)),
  ...rest,
];

const fixedContext: ParseContext = { env: { HOME: '/home/u' }, homedir: '/home/u' };

function parse(argv: string[]): ParsedCommandLine {
  return parseCommandLine(argv, fixedContext);
}

function usageErrorOf(argv: string[]): UsageError {
  try {
    parse(argv);
  } catch (err) {
    assert.ok(err instanceof UsageError, `expected a UsageError for ${argv.join(' ')}, got ${String(err)}`);
    assert.equal(err.exitCode, 2);
    assert.ok(!err.message.includes('\n'), 'one line');
    return err;
  }
  assert.fail(`expected ${argv.join(' ')} to be refused`);
}

describe('the users-guide command lines', () => {
  test('backup with OPTIONS and OPTIONS_EXTRA', () => {
    const r = parse(guideArgv('/mnt/backup/src/data', URL));
    assert.equal(r.verb, 'backup');
    assert.equal(r.url, URL);
    assert.equal(r.localPath, '/mnt/backup/src/data');
    const o = r.options;
    assert.equal(o.fullIfOlderThan, '4W');
    assert.equal(o.s3UseDeepArchive, true);
    assert.equal(o.noCompression, true);
    assert.equal(o.noEncryption, true);
    assert.equal(o.progress, true);
    assert.equal(o.archiveDir, '/mnt/backup/src/config');
    assert.equal(o.s3UseMultiprocessing, true);
    assert.equal(o.volsize, 1024);
    assert.equal(o.verbosity, 5);
    assert.equal(o.logFile, '/logfiles/log-20240101-000000.log');
    assert.equal(o.asyncUpload, true);
    assert.equal(o.s3EuropeanBuckets, true);
    assert.equal(o.s3MultipartChunkSize, 10);
    assert.equal(o.s3UseNewStyle, true);
    assert.equal(o.metadataSyncMode, 'partial');
    assert.equal(o.filePrefixArchive, 'archive-backupname-');
    assert.equal(o.filePrefixManifest, 'manifest-backupname-');
    assert.equal(o.filePrefixSignature, 'signature-backupname-');
    assert.equal(o.filePrefix, '');
    // untouched defaults
    assert.equal(o.s3UseGlacier, false);
    assert.equal(o.force, false);
    assert.deepEqual(o.selection, []);
    // duplicity's boto3 backend ignores these three too
    assert.deepEqual(r.ignored, ['--s3-use-multiprocessing', '--s3-european-buckets', '--s3-use-new-style']);
    assert.deepEqual(r.warnings, []);
  });

  test('remove-all-but-n-full, collection-status, list-current-files, restore', () => {
    const rm = parse(guideArgv('remove-all-but-n-full', '7', URL));
    assert.equal(rm.verb, 'remove-all-but-n-full');
    assert.equal(rm.keepCount, 7);
    assert.equal(rm.url, URL);
    assert.deepEqual(rm.positionals, [URL]);

    assert.equal(parse(guideArgv('collection-status', URL)).verb, 'collection-status');
    assert.equal(parse(guideArgv('list-current-files', URL)).verb, 'list-current-files');

    const rs = parse(guideArgv('restore', '--file-to-restore', 'smallfiles/', URL, '/mnt/recovered'));
    assert.equal(rs.verb, 'restore');
    assert.equal(rs.options.fileToRestore, 'smallfiles');
    assert.equal(rs.url, URL);
    assert.equal(rs.localPath, '/mnt/recovered');
  });

  test('the docker-compose variant and its remove job with --force after the URL', () => {
    const argv = [...splitShellWords(substituted(COMPOSE_OPTIONS)), ...splitShellWords(substituted(COMPOSE_OPTIONS_EXTRA))];
    const backup = parse([...argv, '/mnt/backup/src/data', 'boto3+s3://bucket/backup-path']);
    assert.equal(backup.verb, 'backup');
    assert.equal(backup.options.filePrefixSignature, 'signature-backupname-');
    assert.equal(backup.options.logFile, '/logfiles/log-20240101-000000.log');
    const job = parse([...argv, 'remove-all-but-n-full', '7', 'boto3+s3://bucket/backup-path', '--force']);
    assert.equal(job.verb, 'remove-all-but-n-full');
    assert.equal(job.options.force, true);
  });
});

describe('commands', () => {
  test('unique prefixes select a command, as in duplicity', () => {
    const cases: [string[], string][] = [
      [['inc', '/src', URL], 'incremental'],
      [['incr', '/src', URL], 'incremental'],
      [['f', '/src', URL], 'full'],
      [['rest', URL, '/dst'], 'restore'],
      [['ver', URL, '/src'], 'verify'],
      [['col', URL], 'collection-status'],
      [['cl', URL], 'cleanup'],
      [['list', URL], 'list-current-files'],
      [['remove-o', '3D', URL], 'remove-older-than'],
      [['remove-all-b', '2', URL], 'remove-all-but-n-full'],
      [['remove-all-i', '2', URL], 'remove-all-inc-of-but-n-full'],
    ];
    for (const [argv, verb] of cases) assert.equal(parse(argv).verb, verb, argv.join(' '));
    assert.equal(parse(['remove-o', '3D', URL]).removeTime, '3D');
  });

  test('ambiguous prefixes are refused with the candidates named', () => {
    assert.match(usageErrorOf(['re', URL]).message, /'re' not unique.*restore/);
    usageErrorOf(['c', URL]);
    usageErrorOf(['remove-all', '2', URL]);
  });

  test('without a command the URL position decides between backup and restore', () => {
    const b = parse(['/src', 'file:///backups']);
    assert.deepEqual([b.verb, b.localPath, b.url], ['backup', '/src', 'file:///backups']);
    const r = parse(['s3://bucket/p', '/dst']);
    assert.deepEqual([r.verb, r.url, r.localPath], ['restore', 's3://bucket/p', '/dst']);
    usageErrorOf(['/a', '/b']);
    usageErrorOf(['file:///a', 'file:///b']);
    usageErrorOf(['/only-one']);
  });

  test('a command with the URL on the wrong side is refused', () => {
    usageErrorOf(['full', URL, '/src']);
    usageErrorOf(['inc', URL, '/src']);
    usageErrorOf(['verify', '/src', URL]);
    // duplicity would silently back up here
    usageErrorOf(['restore', '/dst', URL]);
  });

  test('one-argument commands need a URL', () => {
    try {
      parse(['collection-status', '/not/a/url']);
      assert.fail('accepted');
    } catch (err) {
      assert.ok(err instanceof PermafrostError);
      assert.equal(err.exitCode, ExitCode.badUrl);
    }
  });

  test('counts and argument numbers are checked', () => {
    usageErrorOf(['remove-all-but-n-full', '0', URL]);
    usageErrorOf(['remove-all-but-n-full', 'seven', URL]);
    usageErrorOf(['remove-older-than']);
    usageErrorOf(['cleanup', URL, 'extra']);
    usageErrorOf(['full', '/src']);
    usageErrorOf([]);
  });

  test("permafrost's own commands need their full name", () => {
    assert.equal(parse(['thaw', '--tier', 'bulk', URL]).options.tier, 'Bulk');
    assert.equal(parse(['thaw', URL]).verb, 'thaw');
    const est = parse(['estimate', '/src']);
    assert.deepEqual([est.verb, est.localPath, est.url], ['estimate', '/src', undefined]);
    usageErrorOf(['estimate', URL]);
    usageErrorOf(['estimate', '/src', URL]);
    assert.equal(parse(['help']).verb, 'help');
    assert.equal(parse(['version']).verb, 'version');
    // "th" is a path for duplicity (no command starts with it), so it stays one here
    assert.equal(parse(['th', URL]).verb, 'backup');
    usageErrorOf(['thaw', '--tier', 'Slow', URL]);
    usageErrorOf(['replicate', URL, 'file:///other']);
  });

  test('--help and --version stop parsing where they appear', () => {
    assert.equal(parse(['--help', '--no-such-option']).verb, 'help');
    assert.equal(parse(['-V']).verb, 'version');
    assert.equal(parse(['/src', '-h']).verb, 'help');
    usageErrorOf(['--no-such-option', '--help']);
  });
});

describe('option syntax', () => {
  test('--opt value, --opt=value, abbreviations, short clusters and --', () => {
    const a = parse(['--volsize', '10', '/src', URL]);
    const b = parse(['--volsize=10', '/src', URL]);
    const c = parse(['--vols=10', '/src', URL]);
    assert.deepEqual([a.options.volsize, b.options.volsize, c.options.volsize], [10, 10, 10]);
    assert.equal(parse(['-vi', '/src', URL]).options.verbosity, 5);
    assert.equal(parse(['-v', 'debug', '/src', URL]).options.verbosity, 9);
    assert.equal(parse(['-t2D', URL, '/dst']).options.time, '2D');
    assert.equal(parse(['--restore-time', 'now', URL, '/dst']).options.time, 'now');
    assert.equal(parse(['--time=1h', URL, '/dst']).options.time, '1h');
    assert.equal(parse(['-r/etc/', URL, '/dst']).options.fileToRestore, 'etc');
    assert.equal(parse(['--path-to-restore', 'a/b', URL, '/dst']).options.fileToRestore, 'a/b');
    assert.equal(parse(['--file-to-restore', '/', URL, '/dst']).options.fileToRestore, undefined);
    assert.equal(parse(['--name=', '/src', URL]).options.name, '');
    assert.equal(parse(['--s3-use-deep', '/src', URL]).options.s3UseDeepArchive, true);
    // optparse takes the next word as the value, even when it looks like an option
    assert.deepEqual(parse(['--exclude', '--force', '/src', URL]).options.selection, [{ kind: 'exclude', value: '--force' }]);
    const dd = parse(['--', '-odd-dir', URL]);
    assert.deepEqual([dd.verb, dd.localPath], ['backup', '-odd-dir']);
    assert.equal(parse(['/src', URL, '--force']).options.force, true);
  });

  test('unknown, ambiguous and malformed options are one-line usage errors naming the option', () => {
    assert.match(usageErrorOf(['--bogus', '/src', URL]).message, /--bogus/);
    assert.match(usageErrorOf(['--bogus=1', '/src', URL]).message, /--bogus/);
    assert.match(usageErrorOf(['-x', '/src', URL]).message, /-x/);
    assert.match(usageErrorOf(['--passphrase', 'secret', '/src', URL]).message, /--passphrase/);
    assert.match(
      usageErrorOf(['--s3-use-g', '/src', URL]).message,
      /ambiguous option: --s3-use-g \(--s3-use-glacier, --s3-use-glacier-ir\?\)/,
    );
    assert.match(usageErrorOf(['--force=yes', '/src', URL]).message, /--force option does not take a value/);
    assert.match(usageErrorOf(['/src', URL, '--volsize']).message, /--volsize option requires 1 argument/);
    assert.match(usageErrorOf(['--volsize', 'big', '/src', URL]).message, /invalid integer value: 'big'/);
    assert.match(usageErrorOf(['--metadata-sync-mode', 'some', '/src', URL]).message, /invalid choice/);
    assert.match(usageErrorOf(['--time-separator', '-', '/src', URL]).message, /Dash/);
    assert.match(usageErrorOf(['--sign-key', 'not-hex', '/src', URL]).message, /Sign key/);
  });

  test('verbosity: digits, letters and words map to 0/2/3/5/9', () => {
    const expected: Record<string, number> = {
      e: 0,
      error: 0,
      w: 2,
      warning: 2,
      n: 3,
      notice: 3,
      i: 5,
      info: 5,
      d: 9,
      debug: 9,
      INFO: 5,
      Debug: 9,
    };
    for (const [v, n] of Object.entries(expected)) assert.equal(parseVerbosity(v), n, v);
    for (let d = 0; d <= 9; d++) assert.equal(parseVerbosity(String(d)), d);
    for (const bad of ['10', '-1', 'x', 'verbose', '']) assert.throws(() => parseVerbosity(bad), UsageError, bad);
    assert.equal(defaultCliOptions().verbosity, 3);
  });

  test('selection options keep their command-line order', () => {
    const r = parse([
      '--exclude',
      '**/*.tmp',
      '--include',
      '/src/keep',
      '--exclude-regexp',
      '\\.bak$',
      '/src',
      '--exclude-if-present',
      '.nobackup',
      '--exclude-other-filesystems',
      URL,
      '--include-filelist',
      '~/list',
      '--exclude-device-files',
      '--include-regexp',
      'x',
      '--exclude-older-than',
      '2D',
      '--exclude',
      '**',
    ]);
    assert.deepEqual(r.options.selection, [
      { kind: 'exclude', value: '**/*.tmp' },
      { kind: 'include', value: '/src/keep' },
      { kind: 'exclude-regexp', value: '\\.bak$' },
      { kind: 'exclude-if-present', value: '.nobackup' },
      { kind: 'exclude-other-filesystems' },
      { kind: 'include-filelist', value: '/home/u/list' },
      { kind: 'exclude-device-files' },
      { kind: 'include-regexp', value: 'x' },
      { kind: 'exclude-older-than', value: '2D' },
      { kind: 'exclude', value: '**' },
    ]);
  });

  test('deprecated and ineffective options are accepted and reported', () => {
    const r = parse(['--short-filenames', '--gio', '--exclude-globbing-filelist', '/l', '--ssh-options', '-oX', '/src', URL]);
    assert.equal(r.options.shortFilenames, true);
    assert.deepEqual(r.options.selection, [{ kind: 'exclude-filelist', value: '/l' }]);
    assert.deepEqual(r.ignored, ['--gio', '--ssh-options']);
    assert.equal(r.warnings.length, 3);
    const restore = parse(['--exclude', 'x', URL, '/dst']);
    assert.match(restore.warnings[0]!, /only when backing up/);
  });

  test('backup-only consistency checks', () => {
    usageErrorOf(['-r', 'a', '/src', URL]);
    usageErrorOf(['--s3-use-rrs', '--s3-use-ia', '/src', URL]);
    assert.equal(parse(['--s3-use-rrs', '--s3-use-ia', URL, '/dst']).verb, 'restore');
  });

  test('defaults', () => {
    const o = defaultCliOptions({ env: { HOME: '/h' } });
    assert.equal(o.archiveDir, '/h/.cache/duplicity');
    assert.equal(defaultCliOptions({ env: { HOME: '/h', XDG_CACHE_HOME: '/c' } }).archiveDir, '/c/duplicity');
    assert.deepEqual(
      [o.volsize, o.maxBlocksize, o.numRetries, o.metadataSyncMode, o.timeSeparator, o.asyncUpload, o.s3MultipartChunkSize],
      [200, 2048, 5, 'partial', ':', true, 25],
    );
  });

  test('every long option of duplicity 0.8.22 is known', () => {
    // `duplicity --help` lists the options that are not hidden; the hidden ones are in the oracle test.
    let help: string;
    try {
      help = execFileSync('duplicity', ['--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      return; // duplicity not installed
    }
    const listed = new Set(help.match(/--[a-z0-9][a-z0-9-]*/g) ?? []);
    const known = new Set(knownLongOptions());
    const missing = [...listed].filter((o) => !known.has(o));
    assert.deepEqual(missing, []);
    assert.ok(listed.size > 100);
  });
});

// ---------------------------------------------------------------------------------------------
// Against duplicity's own parser.

interface OracleResult {
  exit?: number;
  crash?: string;
  [field: string]: unknown;
}

function duplicityPython(): string | undefined {
  if (!existsSync('/usr/bin/duplicity')) return undefined;
  const shebang = readFileSync('/usr/bin/duplicity', 'utf8').split('\n', 1)[0]!;
  const m = /^#!\s*(\S+)/.exec(shebang);
  return m ? m[1] : undefined;
}

const COMPARED_FIELDS = [
  'archiveDir',
  'volsize',
  'fileToRestore',
  'force',
  'dryRun',
  'progress',
  'progressRate',
  'verbosity',
  'filePrefix',
  'filePrefixArchive',
  'filePrefixManifest',
  'filePrefixSignature',
  'tempdir',
  'currentTime',
  'noEncryption',
  'noCompression',
  'encryptKeys',
  'hiddenEncryptKeys',
  'signKey',
  'gpgBinary',
  'gpgOptions',
  'useAgent',
  'allowSourceMismatch',
  'numericOwner',
  'doNotRestoreOwnership',
  'compareData',
  'maxBlocksize',
  'metadataSyncMode',
  'numRetries',
  'backendRetryDelay',
  'timeout',
  'nullSeparator',
  'printStatistics',
  'timeSeparator',
  'shortFilenames',
  'oldFilenames',
  's3UseDeepArchive',
  's3UseGlacier',
  's3UseGlacierIr',
  's3UseIa',
  's3UseOnezoneIa',
  's3UseRrs',
  's3EndpointUrl',
  's3RegionName',
  's3EuropeanBuckets',
  's3UseNewStyle',
  's3UseMultiprocessing',
  's3MultipartChunkSize',
  's3MultipartMaxProcs',
  's3MultipartMaxTimeout',
  's3UseServerSideEncryption',
  's3UseServerSideKmsEncryption',
  's3KmsKeyId',
  's3KmsGrant',
  's3UnencryptedConnection',
] as const;

describe('agreement with duplicity 0.8.22 (commandline.py run by python)', { skip: duplicityPython() === undefined }, () => {
  let root: string;
  let env: NodeJS.ProcessEnv;
  let context: ParseContext;
  const cases: string[][] = [];
  let results: OracleResult[] = [];

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'permafrost-cli-oracle-'));
    for (const d of ['home', 'cache', 'var', 'logfiles', 'mnt/backup/src/config', 'mnt/backup/src/data']) {
      mkdirSync(join(root, d), { recursive: true });
    }
    writeFileSync(join(root, 'list1'), 'a\n');
    writeFileSync(join(root, 'list2'), 'b\n');
    env = {
      PATH: process.env['PATH'],
      HOME: join(root, 'home'),
      XDG_CACHE_HOME: join(root, 'cache'),
      PF_DIR: join(root, 'var'),
      LANG: 'C.UTF-8',
    };
    context = { env, homedir: join(root, 'home') };
    const reroot = (s: string): string => s.replaceAll('/logfiles', `${root}/logfiles`).replaceAll('/mnt/backup', `${root}/mnt/backup`);
    const opts = [...splitShellWords(reroot(substituted(GUIDE_OPTIONS))), ...splitShellWords(reroot(substituted(GUIDE_OPTIONS_EXTRA)))];
    const src = join(root, 'mnt/backup/src/data');
    const l1 = join(root, 'list1');
    const l2 = join(root, 'list2');
    cases.push(
      [...opts, src, URL],
      [...opts, 'remove-all-but-n-full', '7', URL],
      [...opts, 'collection-status', URL],
      [...opts, 'list-current-files', URL],
      [...opts, 'restore', '--file-to-restore', 'smallfiles/', URL, join(root, 'recovered')],
      [...opts, 'remove-all-but-n-full', '7', URL, '--force'],
      ['inc', src, URL],
      ['incr', src, URL],
      ['f', src, URL],
      ['fu', src, URL],
      ['rest', URL, src],
      ['ver', URL, src],
      ['col', URL],
      ['cl', URL],
      ['list', URL],
      ['remove-o', '1D', URL],
      ['remove-all-b', '2', URL],
      ['remove-all-i', '3', URL],
      ['re', URL],
      ['c', URL],
      ['remove-all', '2', URL],
      ['rem', '2', URL],
      [src, URL],
      [URL, src],
      [src, src],
      [URL, URL],
      ['full', URL, src],
      ['verify', src, URL],
      ['inc', URL, src],
      ['remove-all-but-n-full', '0', URL],
      ['remove-all-but-n-full', URL],
      ['remove-all-but-n-full', ' 7 ', URL],
      ['remove-all-but-n-full', '1_0', URL],
      ['cleanup'],
      ['cleanup', URL, URL],
      ['--volsize=10', src, URL],
      ['--volsize', '10', src, URL],
      ['--vol=5', src, URL],
      ['--s3-use-deep', src, URL],
      ['--s3-use-g', src, URL],
      ['--bogus', src, URL],
      ['--force=yes', src, URL],
      [src, URL, '--volsize'],
      ['-vi', src, URL],
      ['-v', 'debug', src, URL],
      ['-v9', src, URL],
      ['-tnow', URL, src],
      ['-r', '/a/b/', URL, src],
      ['--', src, URL],
      ['--help'],
      ['-V'],
      ['--no-such', '--help'],
      ...[
        '0',
        '1',
        '5',
        '9',
        'e',
        'w',
        'n',
        'i',
        'd',
        'error',
        'warning',
        'notice',
        'info',
        'debug',
        'INFO',
        '10',
        '-1',
        'x',
        'verbose',
        '05',
      ].map((v) => ['--verbosity', v, src, URL]),
      ...['010', '0x10', '0X1f', '0b11', ' 5', '1_0', 'abc', '08', '0', '0o7', '1__0'].map((v) => ['--num-retries', v, src, URL]),
      ['--volsize', '010', src, URL],
      [
        '--exclude',
        '**/*.tmp',
        '--include',
        `${src}/x`,
        '--exclude-regexp',
        '.*\\.bak',
        '--include-filelist',
        l1,
        '--exclude-if-present',
        '.nobackup',
        '--exclude-other-filesystems',
        '--exclude-device-files',
        '--exclude-filelist',
        l2,
        '--include-regexp',
        'r',
        '--exclude-older-than',
        '2D',
        '--exclude',
        '**',
        src,
        URL,
      ],
      ['--exclude-filelist-stdin', '--include-globbing-filelist', l1, src, URL],
      [
        '--archive-dir',
        '~/cache2',
        '--tempdir',
        '$PF_DIR/tmp',
        '--log-file',
        '${PF_DIR}/x.log',
        '--gpg-binary',
        '$NOPE_UNSET/gpg',
        '~/src',
        URL,
      ],
      ['-r', '~/foo/', URL, '~/dst'],
      [
        '--encrypt-key',
        'AAAA',
        '--encrypt-key',
        'BBBB',
        '--hidden-encrypt-key',
        'CCCC',
        '--sign-key',
        '0x1234ABCD',
        '--gpg-options',
        '--a',
        '--gpg-options',
        '--b=1',
        '--use-agent',
        src,
        URL,
      ],
      ['--encrypt-sign-key', '1234ABCD12345678', src, URL],
      ['--sign-key', 'nothex', src, URL],
      [
        '--dry-run',
        '--force',
        '--progress',
        '--progress-rate',
        '7',
        '--allow-source-mismatch',
        '--numeric-owner',
        '--do-not-restore-ownership',
        '--compare-data',
        '--max-blocksize',
        '4096',
        '--metadata-sync-mode',
        'full',
        '--num-retries',
        '2',
        '--backend-retry-delay',
        '1',
        '--timeout',
        '9',
        '--null-separator',
        '--no-print-statistics',
        '--current-time',
        '1700000000',
        '--file-prefix',
        'p-',
        '--time-separator',
        '_',
        '--short-filenames',
        '--old-filenames',
        '--name',
        'mine',
        'verify',
        URL,
        src,
      ],
      ['--time-separator', '-', src, URL],
      ['--metadata-sync-mode', 'x', src, URL],
      [
        '--s3-use-glacier',
        '--s3-use-glacier-ir',
        '--s3-use-rrs',
        '--s3-endpoint-url',
        'http://127.0.0.1:9000',
        '--s3-region-name',
        'eu-west-1',
        '--s3-european-buckets',
        '--s3-use-new-style',
        '--s3-use-multiprocessing',
        '--s3-multipart-chunk-size',
        '10',
        '--s3-multipart-max-procs',
        '4',
        '--s3-multipart-max-timeout',
        '60',
        '--s3-use-server-side-encryption',
        '--s3-use-server-side-kms-encryption',
        '--s3-kms-key-id',
        'k',
        '--s3-kms-grant',
        'g',
        '--s3-unencrypted-connection',
        '--s3-use-onezone-ia',
        'collection-status',
        URL,
      ],
      ['--s3-use-rrs', '--s3-use-ia', src, URL],
      ['-r', 'x', src, URL],
      [
        '--ssh-options',
        '-oX',
        '--rename',
        'a',
        'b',
        '--par2-redundancy',
        '20',
        '--azure-blob-tier',
        'Cool',
        '--copy-links',
        '--ignore-errors',
        '--mp-segment-size',
        '20',
        '--file-changed',
        'x',
        '--show-changes-in-set',
        '1',
        '--ftp-regular',
        '--b2-hide-files',
        '--ssl-no-check-certificate',
        '--config-dir',
        join(root, 'cfg'),
        '--fail-on-volume',
        '2',
        '--skip-volume',
        '1',
        '--imap-mailbox',
        'x',
        '--cf-backend',
        'pyrax',
        '--encrypt-secret-keyring',
        'x',
        '--par2-volumes',
        '2',
        '--par2-options',
        '-q',
        '--rsync-options',
        '-z',
        '--scp-command',
        'scp',
        '--sftp-command',
        'sftp',
        '--swift-storage-policy',
        'p',
        '--azure-max-single-put-size',
        '1',
        '--azure-max-block-size',
        '1',
        '--azure-max-connections',
        '1',
        '--imap-full-address',
        '--ssh-askpass',
        '--ssl-cacert-file',
        'f',
        '--ssl-cacert-path',
        'p',
        '--mf-purge',
        '--no-files-changed',
        '--idr-fakeroot',
        '/x',
        '--ftp-passive',
        '--gio',
        '--pydevd',
        '--log-timestamp',
        src,
        URL,
      ],
      ['--fail-on-volume', 'x', src, URL],
    );
    const out = execFileSync(duplicityPython()!, [join(import.meta.dirname, 'duplicity-oracle.py')], {
      input: JSON.stringify(cases),
      env,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    results = JSON.parse(out) as OracleResult[];
  });

  after(() => removeTree(root));

  test('every case: same verdict, same verb, same fields', () => {
    assert.equal(results.length, cases.length);
    for (let i = 0; i < cases.length; i++) {
      const argv = cases[i]!;
      const want = results[i]!;
      const label = JSON.stringify(argv);
      let got: ParsedCommandLine | undefined;
      let error: unknown;
      try {
        got = parseCommandLine(argv, context);
      } catch (err) {
        error = err;
      }
      if (want.exit === 0) {
        assert.ok(got && (got.verb === 'help' || got.verb === 'version'), `${label}: duplicity printed help/version`);
        continue;
      }
      // duplicity dies with a traceback on some bad input (int('...') in remove-all-but-n-full)
      if (want.crash !== undefined) assert.match(want.crash, /^ValueError/, `${label}: the oracle itself failed`);
      if (want.exit !== undefined || want.crash !== undefined) {
        assert.ok(error instanceof PermafrostError, `${label}: duplicity refused it (${want.exit ?? want.crash}), we did not`);
        if (want.exit === 2) assert.equal(error.exitCode, 2, label);
        continue;
      }
      assert.ok(got, `${label}: we refused it (${String(error)}), duplicity did not`);
      assert.equal(got.verb, want['verb'], `${label}: verb`);
      assert.deepEqual(got.positionals, want['positionals'], `${label}: positionals`);
      assert.equal(got.keepCount, want['keepCount'] ?? undefined, `${label}: count`);
      assert.equal(got.removeTime !== undefined, want['hasRemoveTime'], `${label}: remove time`);
      assert.equal(got.options.time !== undefined, want['hasTime'], `${label}: --time`);
      assert.equal(got.options.fullIfOlderThan !== undefined, want['hasFullIfOlderThan'], `${label}: --full-if-older-than`);
      assert.equal(got.options.name ?? defaultBackupName(got.url!), want['backupName'], `${label}: backup name`);
      for (const f of COMPARED_FIELDS) {
        assert.deepEqual(got.options[f], want[f] ?? undefined, `${label}: ${f}`);
      }
      const sel = want['selection'] as { kind: string; value?: unknown }[];
      assert.deepEqual(
        got.options.selection.map((s) => (s.kind === 'exclude-older-than' ? { kind: s.kind } : s)),
        sel.map((s) => (s.kind === 'exclude-older-than' ? { kind: s.kind } : s)),
        `${label}: selection`,
      );
    }
  });
});

test('--progress-rate: whole seconds as duplicity reads them, or a decimal of at least 0.1 (permafrost)', () => {
  const rate = (v: string) => parse(['--progress-rate', v, 'collection-status', 'file:///t']).options.progressRate;
  assert.equal(rate('7'), 7);
  assert.equal(rate('0.5'), 0.5);
  assert.equal(rate('.25'), 0.25);
  assert.match(usageErrorOf(['--progress-rate', '0.05', 'collection-status', 'file:///t']).message, /at least 0\.1 seconds/);
  assert.match(usageErrorOf(['--progress-rate', 'soon', 'collection-status', 'file:///t']).message, /invalid integer value/);
});
