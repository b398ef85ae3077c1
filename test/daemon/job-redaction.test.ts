/**
 * What the daemon redacts in a job's output (issue 13): any program's output has the secrets
 * replaced where they stand as whole words; permafrost's own output, which holds no secret, is
 * left whole, so that a passphrase that is a word ("chain") does not cut it out of the messages.
 * Real child processes through startJob.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startJob } from '../../src/daemon/job-runner.ts';
import { secretsOf } from '../../src/daemon/log-excerpt.ts';
import type { JobSpec } from '../../src/daemon/config.ts';
import { fileUrl } from '../support/cli.ts';
import { tmpDir } from '../support/tmp.ts';

const SECRET = 'chain';

function job(what: string): JobSpec {
  return { n: 1, what, periods: ['daily'], pingsFor: () => ({}) };
}

async function run(what: string, home: string) {
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home, PASSPHRASE: SECRET };
  const lines: string[] = [];
  const outcome = await startJob(job(what), 'daily', { env, excerptBytes: 16384, redact: secretsOf(env), onLine: (l) => lines.push(l) })
    .done;
  return { outcome, lines: lines.join('\n') };
}

test("a permafrost job's own message keeps the word its passphrase is", async (t) => {
  const work = tmpDir(t, 'job-redaction');
  const { outcome, lines } = await run(
    `dup restore --archive-dir ${join(work, 'archive')} ${fileUrl(join(work, 'none'))} ${join(work, 'out')}`,
    work,
  );
  assert.equal(outcome.exitCode, 12, outcome.log);
  assert.match(outcome.log, /no backup chain found at file:\/\//);
  assert.match(lines, /no backup chain found at file:\/\//);
});

test("any other program's output has the passphrase replaced where it stands as a word", async (t) => {
  const work = tmpDir(t, 'job-redaction');
  const { outcome, lines } = await run('printenv PASSPHRASE; echo "chains and a chain-link"', work);
  assert.equal(outcome.exitCode, 0, outcome.log);
  for (const text of [outcome.log, lines]) {
    assert.match(text, /^\[redacted\]$/m);
    assert.match(text, /chains and a \[redacted\]-link/);
  }
});
