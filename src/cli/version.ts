import { readFileSync } from 'node:fs';

/**
 * permafrost's version: package.json's, read when asked so that the two never disagree. The
 * compiled module (dist/cli/) and its source (src/cli/) both sit two folders below package.json.
 */
export function permafrostVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string') throw new Error('package.json has no version');
  return pkg.version;
}
