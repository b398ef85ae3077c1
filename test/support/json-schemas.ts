/**
 * The published --json schemas (docs/schemas/*.schema.json, JSON Schema draft 2020-12), compiled
 * with ajv, for checking what the CLI really prints against what docs/output.md promises.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { fileURLToPath } from 'node:url';

/** The repository's root (not from duplicity.ts: this helper serves the quick tier, which starts no process). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SCHEMA_DIR = join(ROOT, 'docs/schemas');

/** Every schema file: name (without .schema.json) → parsed JSON. */
export function schemaFiles(): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const f of readdirSync(SCHEMA_DIR).sort()) {
    if (!f.endsWith('.schema.json')) continue;
    out.set(f.slice(0, -'.schema.json'.length), JSON.parse(readFileSync(join(SCHEMA_DIR, f), 'utf8')) as Record<string, unknown>);
  }
  return out;
}

/** An ajv with every schema added (they refer to common.schema.json and to each other by file name). */
export function schemaValidator(): Ajv2020 {
  // strict: a keyword ajv does not know, or a schema it cannot check, fails instead of passing
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  for (const s of schemaFiles().values()) ajv.addSchema(s);
  return ajv;
}

let shared: Ajv2020 | undefined;

/** Asserts that `value` is valid against docs/schemas/<name>.schema.json. */
export function assertMatchesSchema(name: string, value: unknown, context = ''): void {
  shared ??= schemaValidator();
  const validate = shared.getSchema(`${name}.schema.json`);
  assert.ok(validate, `no schema docs/schemas/${name}.schema.json`);
  if (!validate(value)) {
    const errors = shared.errorsText(validate.errors, { separator: '\n  ' });
    assert.fail(
      `${context ? `${context}: ` : ''}the output does not match ${name}.schema.json:\n  ${errors}\n${JSON.stringify(value).slice(0, 2000)}`,
    );
  }
}
