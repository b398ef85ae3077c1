import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CorruptVolumeError, VolumeHashError } from '../../src/archive/set-reader.ts';
import { BackendError } from '../../src/backend/backend.ts';
import { TargetUrlError } from '../../src/backend/target-url.ts';
import { parseCommandLine } from '../../src/cli/command-line.ts';
import { ConsoleReporter } from '../../src/cli/console-reporter.ts';
import { exitReportFor, reportFatal } from '../../src/cli/exit.ts';
import { UsageError } from '../../src/command-line/usage-error.ts';
import { ExitCode, PermafrostError } from '../../src/core/errors.ts';
import { tmpDir } from '../support/tmp.ts';

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  assert.fail('did not throw');
}

test('documented errors keep their exit code', () => {
  const usage = exitReportFor(thrownBy(() => parseCommandLine(['--bogus'])));
  assert.equal(usage.code, 2);
  assert.equal(usage.message, 'no such option: --bogus');
  assert.match(usage.hint ?? '', /--help/);
  assert.equal(exitReportFor(new PermafrostError(ExitCode.hashMismatch, 'volume 3 hash mismatch')).code, 21);
  assert.equal(exitReportFor(new TargetUrlError('unsupported URL scheme')).code, ExitCode.badUrl);
  assert.equal(exitReportFor(new BackendError('access', 'access denied')).code, ExitCode.backendError);
});

test('a damaged volume read by restore or verify is mapped by its type: SHA1 mismatch 21, corrupt 22, message unchanged', () => {
  const mismatch = new VolumeHashError('duplicity-full.20260101T000000Z.vol1.difftar.gz', 'a'.repeat(40), 'b'.repeat(40));
  assert.deepEqual([exitReportFor(mismatch).code, exitReportFor(mismatch).message], [ExitCode.hashMismatch, mismatch.message]);
  const corrupt = new CorruptVolumeError(
    'duplicity-full.20260101T000000Z.vol2.difftar.gz',
    'truncated or corrupt volume (unexpected end of file)',
  );
  assert.deepEqual([exitReportFor(corrupt).code, exitReportFor(corrupt).message], [ExitCode.corruptArchive, corrupt.message]);
});

test('a failed system call on a local path is exit 52 with the system message; an errno-less error stays internal', () => {
  const err = thrownBy(() => readFileSync('/nonexistent-dir-for-permafrost/file'));
  const r = exitReportFor(err);
  assert.equal(r.code, ExitCode.localIo);
  assert.equal(r.message, "ENOENT: no such file or directory, open '/nonexistent-dir-for-permafrost/file'");
  assert.equal(exitReportFor(Object.assign(new Error('odd'), { code: 'ERR_SOMETHING' })).code, ExitCode.internal);
});

test('anything else is an internal error, reported on one line with the stack kept for debug', () => {
  const r = exitReportFor(new TypeError('x is undefined\nsecond line'));
  assert.equal(r.code, 30);
  assert.equal(r.message, 'internal error: x is undefined');
  assert.match(r.detail ?? '', /second line/);
  assert.match(r.detail ?? '', /TypeError: x is undefined/);
  assert.equal(exitReportFor('a string').message, 'internal error: a string');
  const caused = exitReportFor(new PermafrostError(ExitCode.backendError, 'upload failed', { cause: new Error('ECONNRESET') }));
  assert.match(caused.detail ?? '', /Caused by: Error: ECONNRESET/);
});

test('reportFatal prints like duplicity FatalError: ERROR <code> in the log, stack only at debug', (t) => {
  const dir = tmpDir(t, 'exit');
  const run = (verbosity: number) => {
    const out: string[] = [];
    const err: string[] = [];
    const logFile = join(dir, `log-${verbosity}`);
    const reporter = new ConsoleReporter({
      verbosity,
      logFile,
      stdout: { write: (s: string) => out.push(s) },
      stderr: { write: (s: string) => err.push(s) },
    });
    const code = reportFatal(new Error('boom'), reporter);
    reporter.close();
    return { code, out: out.join(''), err: err.join(''), log: readFileSync(logFile, 'utf8') };
  };
  const quiet = run(3);
  assert.equal(quiet.code, 30);
  assert.equal(quiet.err, 'internal error: boom\n');
  assert.equal(quiet.out, '');
  assert.equal(quiet.log, 'ERROR 30\n. internal error: boom\n\n');
  const loud = run(9);
  assert.match(loud.out, /at .*exit\.test\.ts/);

  const usage: string[] = [];
  const r = new ConsoleReporter({
    verbosity: 3,
    stdout: { write: (s: string) => usage.push(s) },
    stderr: { write: (s: string) => usage.push(s) },
  });
  assert.equal(reportFatal(new UsageError('Command line error: Expected 2 args, got 1'), r), 2);
  assert.deepEqual(usage, ['Command line error: Expected 2 args, got 1\n', "Enter 'permafrost --help' for help.\n"]);
});
