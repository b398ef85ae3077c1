import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConsoleReporter, formatLogRecord, redact, type TextSink } from '../../src/cli/console-reporter.ts';
import { UsageError } from '../../src/command-line/usage-error.ts';
import { tmpDir } from '../support/tmp.ts';

class Sink implements TextSink {
  text = '';
  write(chunk: string): void {
    this.text += chunk;
  }
}

type Call =
  | { method: 'error' | 'warning' | 'notice' | 'info' | 'debug'; message: string }
  | { method: 'record'; level: 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR'; code: number; extra: string; message: string };

const LEVEL = { ERROR: 0, WARNING: 2, NOTICE: 3, INFO: 5, DEBUG: 9 } as const;

/** The same call as duplicity makes it: log.Log(message, level, code, extra, force_print). */
function asDuplicityCall(c: Call): [string, number, number, string, boolean] {
  if (c.method === 'record') {
    // list-current-files (10) and collection-status (3) pass force_print=True in dup_main.py
    return [c.message, LEVEL[c.level], c.code, c.extra, c.code === 10 || c.code === 3];
  }
  return [c.message, LEVEL[c.method.toUpperCase() as keyof typeof LEVEL], 1, '', false];
}

const CALLS: Call[] = [
  { method: 'notice', message: 'Local and Remote metadata are synchronized, no sync needed.' },
  { method: 'info', message: 'A etc/passwd' },
  { method: 'debug', message: 'Selection: examining path /etc' },
  { method: 'warning', message: 'Error accessing possibly locked file /x\nsecond line' },
  { method: 'error', message: 'Giving up after 5 attempts. 100% done' },
  { method: 'notice', message: '' },
  { method: 'info', message: 'Ünïcödé – file' },
  { method: 'record', level: 'INFO', code: 10, extra: "20231114T224640Z 'a b/c' reg", message: 'Tue Nov 14 22:46:40 2023 a b/c' },
  {
    method: 'record',
    level: 'INFO',
    code: 3,
    extra: '\nbackend BackendWrapper\narchive-dir (. dir)\nchain-complete\n full 20231114T232000Z 1 noenc',
    message: 'Collection Status\n-----------------\n\nFound 0 secondary backup chains.',
  },
  { method: 'record', level: 'WARNING', code: 10, extra: "'x'", message: 'Error reading file x' },
  { method: 'record', level: 'ERROR', code: 21, extra: '', message: 'Invalid data - SHA1 hash mismatch' },
  { method: 'record', level: 'NOTICE', code: 1, extra: '', message: '' },
];

function duplicityPython(): string | undefined {
  if (!existsSync('/usr/bin/duplicity')) return undefined;
  return /^#!\s*(\S+)/.exec(readFileSync('/usr/bin/duplicity', 'utf8').split('\n', 1)[0]!)?.[1];
}

function runOurs(verbosity: number, logFile: string): { out: string; err: string; log: string } {
  const stdout = new Sink();
  const stderr = new Sink();
  const r = new ConsoleReporter({ verbosity, logFile, stdout, stderr });
  for (const c of CALLS) {
    if (c.method === 'record') r.record(c.level, c.code, c.extra, c.message);
    else r[c.method](c.message);
  }
  r.close();
  return { out: stdout.text, err: stderr.text, log: readFileSync(logFile, 'utf8') };
}

describe('console reporter', () => {
  test('same console streams and --log-file bytes as duplicity log.py, at each verbosity', { skip: !duplicityPython() }, (t) => {
    const dir = tmpDir(t, 'console-reporter');
    const verbosities = [0, 2, 3, 5, 8, 9];
    const out = execFileSync(duplicityPython()!, [join(import.meta.dirname, 'duplicity-log-oracle.py')], {
      input: JSON.stringify(verbosities.map((verbosity) => ({ verbosity, calls: CALLS.map(asDuplicityCall) }))),
      encoding: 'utf8',
    });
    const expected = JSON.parse(out) as { out: string; err: string; log: string }[];
    verbosities.forEach((v, i) => {
      const ours = runOurs(v, join(dir, `log-${v}`));
      assert.deepEqual(ours, expected[i], `verbosity ${v}`);
    });
    // not vacuous: at notice the file list and the error are there, the info line is not
    assert.match(expected[2]!.log, /^INFO 10 20231114T224640Z 'a b\/c' reg\n\. Tue Nov 14/m);
    assert.doesNotMatch(expected[2]!.log, /A etc\/passwd/);
  });

  test('the log-file record format of docs/duplicity-format.md §9', () => {
    assert.equal(
      formatLogRecord('INFO', 3, '\nbackend BackendWrapper', 'Collection Status\n\nx'),
      'INFO 3 \nbackend BackendWrapper\n. Collection Status\n. \n. x\n\n',
    );
    assert.equal(formatLogRecord('NOTICE', 1, '', ''), 'NOTICE 1\n\n');
    assert.equal(formatLogRecord('ERROR', 21, '', 'bad'), 'ERROR 21\n. bad\n\n');
  });

  test('appends to an existing log file and keeps record order across buffered levels', (t) => {
    const file = join(tmpDir(t, 'console-reporter'), 'log');
    const a = new ConsoleReporter({ verbosity: 9, logFile: file, stdout: new Sink(), stderr: new Sink() });
    a.notice('first');
    a.close();
    const b = new ConsoleReporter({ verbosity: 9, logFile: file, stdout: new Sink(), stderr: new Sink() });
    b.info('second');
    b.debug('third');
    b.warning('fourth');
    assert.equal(readFileSync(file, 'utf8'), 'NOTICE 1\n. first\n\nINFO 1\n. second\n\nDEBUG 1\n. third\n\nWARNING 1\n. fourth\n\n');
    b.info('fifth');
    b.close();
    assert.match(readFileSync(file, 'utf8'), /fifth\n\n$/);
  });

  test('an unwritable log file is a usage error', (t) => {
    const dir = tmpDir(t, 'console-reporter');
    assert.throws(
      () => new ConsoleReporter({ verbosity: 3, logFile: join(dir, 'missing', 'log'), stdout: new Sink(), stderr: new Sink() }),
      UsageError,
    );
  });

  test('URL passwords never reach the console or the log file; our own words are left whole', (t) => {
    const file = join(tmpDir(t, 'console-reporter'), 'log');
    const stdout = new Sink();
    const stderr = new Sink();
    const r = new ConsoleReporter({ verbosity: 9, logFile: file, stdout, stderr });
    r.error('cannot reach ftp://bob:s3cret@host/dir');
    r.record('INFO', 10, 'x s3://u:pw2@b/p', 'about');
    r.error('manifest.gpg: wrong passphrase; nothing was uploaded');
    r.close();
    const all = stdout.text + stderr.text + readFileSync(file, 'utf8');
    assert.doesNotMatch(all, /s3cret|pw2/);
    assert.match(all, /ftp:\/\/bob:\*\*\*@host\/dir/);
    assert.match(all, /manifest\.gpg: wrong passphrase; nothing was uploaded/);
    assert.equal(redact('s3://bucket/p and file:///x'), 's3://bucket/p and file:///x');
  });

  test('--log-timestamp prefixes console lines like log.py DetailFormatter', () => {
    const stdout = new Sink();
    const now = new Date(2024, 0, 2, 3, 4, 5, 6);
    const r = new ConsoleReporter({ verbosity: 3, logTimestamp: true, stdout, stderr: new Sink(), now: () => now });
    r.notice('hello');
    assert.equal(stdout.text, '2024-01-02 03:04:05,006 NOTICE hello\n');
  });
});
