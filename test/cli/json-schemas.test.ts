/**
 * The published --json schemas (docs/schemas/) are themselves valid draft 2020-12 schemas, every
 * verb the CLI dispatches has one (so that a new verb cannot ship without), the error document's
 * names are ExitCode's, and docs/output.md links each one. Output is checked against them where the
 * commands really run (test/cli/json-contract.test.ts, test/s3/json-contract.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode } from '../../src/core/errors.ts';
import { assertMatchesSchema, ROOT as PROJECT_ROOT, schemaFiles, schemaValidator } from '../support/json-schemas.ts';

const DRAFT = 'https://json-schema.org/draft/2020-12/schema';

/** The verbs `dispatch()` in src/cli/run.ts runs: each `case '<verb>':`. */
function dispatchedVerbs(): string[] {
  const source = readFileSync(join(PROJECT_ROOT, 'src/cli/run.ts'), 'utf8');
  const body = source.slice(source.indexOf('async function dispatch('));
  const verbs = [...body.slice(0, body.indexOf('\n}\n')).matchAll(/case '([a-z-]+)':/g)].map((m) => m[1]!);
  assert.ok(verbs.length >= 14, `found only ${verbs.join(', ')} in dispatch()`);
  return verbs;
}

test('every schema file is a valid draft 2020-12 schema with its file name as $id, and compiles', () => {
  const files = schemaFiles();
  assert.ok(files.size >= 16);
  const ajv = schemaValidator();
  for (const [name, schema] of files) {
    assert.equal(schema['$schema'], DRAFT, name);
    assert.equal(schema['$id'], `${name}.schema.json`, name);
    assert.equal(typeof schema['title'], 'string', name);
    assert.equal(ajv.validateSchema(schema), true, `${name}: ${ajv.errorsText(ajv.errors)}`);
    assert.ok(ajv.getSchema(`${name}.schema.json`), `${name} does not compile`);
  }
});

test('no schema leaves a known shape open: every object says additionalProperties', () => {
  const walk = (node: unknown, where: string): void => {
    if (Array.isArray(node)) {
      for (const [i, n] of node.entries()) walk(n, `${where}[${i}]`);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    if (o['type'] === 'object') {
      assert.ok('additionalProperties' in o, `${where}: an object without additionalProperties`);
      assert.notEqual(o['additionalProperties'], true, `${where}: additionalProperties true`);
    }
    for (const [k, v] of Object.entries(o)) walk(v, `${where}/${k}`);
  };
  for (const [name, schema] of schemaFiles()) walk(schema, name);
});

test('every verb the CLI runs has docs/schemas/<verb>.schema.json, except help', () => {
  const files = schemaFiles();
  for (const verb of dispatchedVerbs()) {
    if (verb === 'help') continue;
    assert.ok(files.has(verb), `the verb ${verb} has no docs/schemas/${verb}.schema.json`);
  }
});

test("the error document's names are ExitCode's names, every one but ok", () => {
  const error = schemaFiles().get('error')!;
  const names = (error['$defs'] as { error: { properties: { name: { enum: string[] } } } }).error.properties.name.enum;
  assert.deepEqual(
    [...names].sort(),
    Object.keys(ExitCode)
      .filter((n) => n !== 'ok')
      .sort(),
  );
  assertMatchesSchema('error', { error: { code: 12, name: 'noChain', message: 'no backup chain found at file:///x' } });
  assert.throws(() => assertMatchesSchema('error', { error: { code: 12, name: 'noChain', message: 'two\nlines' } }));
  assert.throws(() => assertMatchesSchema('error', { error: { code: 12, name: 'noChain', message: 'x' }, files: [] }));
});

test('the schemas reject what they should: a missing field, a wrong type, an unknown member', () => {
  const restore = { files: 3, bytes: 10, volumesRead: 1, setTime: 1_800_000_000 };
  assertMatchesSchema('restore', restore);
  assert.throws(() => assertMatchesSchema('restore', { ...restore, files: undefined }), /files/);
  assert.throws(() => assertMatchesSchema('restore', { ...restore, bytes: '10' }), /bytes/);
  assert.throws(() => assertMatchesSchema('restore', { ...restore, surprise: 1 }), /additional/);
  // the aliases: full and incremental are the backup document, remove-* the retention plan
  assert.throws(() => assertMatchesSchema('full', restore), /backup|required/);
  // formats are checked (ajv-formats): the target lock's `since` is an ISO date-time
  const status = {
    target: 'file:///t',
    archiveDir: '/c',
    chains: [],
    orphanedSets: [],
    incompleteSets: [],
    orphanedSignatures: [],
    lastFullTime: null,
  };
  const lock = { host: 'h', pid: 12, operation: 'backup', refreshed: 1_800_000_000 };
  assertMatchesSchema('collection-status', { ...status, targetLock: { ...lock, since: '2027-01-15T08:00:00.000Z' } });
  assert.throws(() => assertMatchesSchema('collection-status', { ...status, targetLock: { ...lock, since: 'yesterday' } }), /date-time/);
});

test('docs/output.md links every schema', () => {
  const doc = readFileSync(join(PROJECT_ROOT, 'docs/output.md'), 'utf8');
  for (const name of schemaFiles().keys()) assert.ok(doc.includes(`(schemas/${name}.schema.json)`), `docs/output.md does not link ${name}`);
});

test('the sharded shapes (sharded.schema.json) are exact too: each verb accepts them, and nothing half sharded', () => {
  const worker = { generation: 1, shard: 0, shards: 2, run: 'full', complete: false, planMadeHere: true, planMs: 3, catalogueMs: 1 };
  // a full recorded rather than made has no set members; a set has all of them or none
  assertMatchesSchema('full', worker);
  assert.throws(() => assertMatchesSchema('full', { ...worker, type: 'full' }), /must have propert/);
  assert.throws(() => assertMatchesSchema('backup', { ...worker, uploadedBytes: 5 }), /must have propert/);
  const restore = { files: 3, bytes: 10, volumesRead: 1, setTime: 1_800_000_000 };
  assertMatchesSchema('restore', { ...restore, generation: 1, shards: [0, 1] });
  assert.throws(() => assertMatchesSchema('restore', { ...restore, generation: 1 }), /shards/);
  const generation = {
    generation: 1,
    shards: 2,
    plan: 'plan-1.json',
    started: 1_800_000_000,
    done: {},
    missing: [0, 1],
    state: 'incomplete',
  };
  assertMatchesSchema('collection-status', { sharded: true, current: null, generations: [generation] });
  const done = { '0': { full: 1_800_000_000, last: 1_800_000_000 }, '1': { full: 1_800_000_000, last: 1_800_000_000 } };
  const complete = { ...generation, done, missing: [], state: 'complete' };
  assertMatchesSchema('collection-status', { sharded: true, current: 1, generations: [{ ...complete, complete: 1_800_000_100 }] });
  assert.throws(() => assertMatchesSchema('collection-status', { sharded: true, current: 1, generations: [complete] }), /complete/);
  assert.throws(() => assertMatchesSchema('collection-status', { sharded: true, current: 1, generations: [], chains: [] }), /additional/);
  assert.throws(() => assertMatchesSchema('verify', { generation: 1, shards: [], differences: 0 }), /array/);
  assertMatchesSchema('remove-older-than', { keptFrom: null, generations: [], incrementalsOnly: false, shards: [], deleted: false });
});
