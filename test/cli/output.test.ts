/**
 * src/cli/output.ts on collecting sinks: what reaches stdout in text and --json runs, the error
 * document (also after part of a streamed document), and --json found in a command line that
 * does not parse.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExitCode } from '../../src/core/errors.ts';
import { asksForJson, CliOutput } from '../../src/cli/output.ts';
import { assertMatchesSchema } from '../support/json-schemas.ts';

function sinks() {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    streams: { stdout: { write: (s: string) => stdout.push(s) }, stderr: { write: (s: string) => stderr.push(s) } },
    out: () => stdout.join(''),
    err: () => stderr.join(''),
  };
}

test('text runs: log messages and text on stdout as duplicity; --json runs: only the document on stdout', () => {
  const t = sinks();
  const text = new CliOutput(false, t.streams);
  text.log.write('Starting full backup\n');
  text.text('Collection Status');
  assert.equal(t.out(), 'Starting full backup\nCollection Status\n');
  assert.equal(t.err(), '');

  const j = sinks();
  const json = new CliOutput(true, j.streams);
  json.log.write('Options without effect here: --s3-use-multiprocessing\n');
  json.text('not for stdout');
  json.document({ a: 1 });
  assert.deepEqual(JSON.parse(j.out()), { a: 1 });
  assert.equal(j.err(), 'Options without effect here: --s3-use-multiprocessing\nnot for stdout\n');
  assert.throws(() => json.document({ b: 2 }), /second --json document/);
  json.failed({ code: ExitCode.backendError, message: 'closing failed' });
  assert.deepEqual(JSON.parse(j.out()), { a: 1 }, 'a failure after the document adds nothing');
});

test('a failed --json run: the error document, with the exit code name and a URL password removed', () => {
  const j = sinks();
  new CliOutput(true, j.streams).failed({ code: ExitCode.noChain, message: 'no backup chain found at s3://user:pw@host/b' });
  const doc = JSON.parse(j.out()) as unknown;
  assert.deepEqual(doc, { error: { code: 12, name: 'noChain', message: 'no backup chain found at s3://user:***@host/b' } });
  assertMatchesSchema('error', doc);
  const t = sinks();
  new CliOutput(false, t.streams).failed({ code: 12, message: 'x' });
  assert.equal(t.out(), '', 'text runs print no document');
});

test('a streamed array: one document; cut short by a failure, it ends with the error member', () => {
  const a = sinks();
  const ok = new CliOutput(true, a.streams);
  const files = ok.jsonArray('files');
  files.push({ path: '.' });
  files.push({ path: 'a' });
  files.end();
  assert.deepEqual(JSON.parse(a.out()), { files: [{ path: '.' }, { path: 'a' }] });
  assert.equal(a.out().split('\n').length, 5, 'one element per line');

  const e = sinks();
  new CliOutput(true, e.streams).jsonArray('files').end();
  assert.deepEqual(JSON.parse(e.out()), { files: [] });

  const b = sinks();
  const cut = new CliOutput(true, b.streams);
  cut.jsonArray('files').push({ path: '.' });
  cut.failed({ code: ExitCode.corruptArchive, message: 'signature file broken' });
  assert.deepEqual(JSON.parse(b.out()), {
    files: [{ path: '.' }],
    error: { code: 22, name: 'corruptArchive', message: 'signature file broken' },
  });

  const c = sinks();
  const early = new CliOutput(true, c.streams);
  early.jsonArray('files');
  early.failed({ code: ExitCode.noChain, message: 'no backup chain found' });
  assert.deepEqual(
    JSON.parse(c.out()),
    { error: { code: 12, name: 'noChain', message: 'no backup chain found' } },
    'nothing written yet: the plain error document',
  );
});

test('finish: a non-zero exit without a document gets the error document; a success without one is a bug (30)', () => {
  const a = sinks();
  assert.equal(
    new CliOutput(true, a.streams).finish(ExitCode.thawInProgress, () => 'archived volumes are still being restored'),
    75,
  );
  assert.deepEqual(JSON.parse(a.out()), {
    error: { code: 75, name: 'thawInProgress', message: 'archived volumes are still being restored' },
  });
  const b = sinks();
  assert.equal(
    new CliOutput(true, b.streams).finish(ExitCode.ok, () => ''),
    ExitCode.internal,
  );
  assert.equal((JSON.parse(b.out()) as { error: { code: number } }).error.code, 30);
  assert.match(b.err(), /wrote no --json document/);
  const c = sinks();
  const done = new CliOutput(true, c.streams);
  done.document({ differences: ['x'] });
  assert.equal(
    done.finish(ExitCode.differences, () => 'unused'),
    1,
  );
  assert.deepEqual(JSON.parse(c.out()), { differences: ['x'] });
});

test('--json in a command line that does not parse: the option, its unique prefixes, not after --', () => {
  assert.equal(asksForJson(['--json', 'colection-status', 'file:///x']), true);
  assert.equal(asksForJson(['collection-status', '--jso', 'file:///x']), true);
  assert.equal(asksForJson(['--json=1']), true);
  assert.equal(asksForJson(['collection-status', 'file:///x']), false);
  assert.equal(asksForJson(['--', '--json']), false);
  assert.equal(asksForJson(['-v', 'info', 'x']), false);
});
