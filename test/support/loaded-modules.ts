/**
 * The source modules a run of the CLI loaded, from the URLs a module resolve hook wrote down. The
 * CLI runs as a bundle (scripts/build-cli.mjs, dist/bundle/): each of its files stands for the
 * src/ modules that dist/bundle/modules.json lists for it. A file of tsc's dist/ (what
 * bin/permafrost.js runs when the bundle is older) stands for its src/ module. Other URLs (npm
 * packages, node: built-ins) are kept as they are.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from './duplicity.ts';

const ROOT_URL = pathToFileURL(PROJECT_ROOT).href;
const BUNDLE_URL = `${ROOT_URL}dist/bundle/`;
const DIST_URL = `${ROOT_URL}dist/`;

/** The URL of the bundle's entry point, which bin/permafrost.js loads. */
export const BUNDLE_MAIN_URL = `${BUNDLE_URL}main.js`;

let contents: Record<string, string[]> | undefined;
function bundleContents(): Record<string, string[]> {
  contents ??= JSON.parse(readFileSync(new URL('modules.json', BUNDLE_URL), 'utf8')) as Record<string, string[]>;
  return contents;
}

/** `urls` with each project file replaced by the URLs of the src/ modules it holds. */
export function sourceModules(urls: readonly string[]): string[] {
  return urls.flatMap((u) => {
    if (u.startsWith(BUNDLE_URL)) {
      const held = bundleContents()[u.slice(BUNDLE_URL.length)];
      if (!held) throw new Error(`${u} is not in dist/bundle/modules.json: run npm run build`);
      return held.map((m) => `${ROOT_URL}${m}`);
    }
    if (u.startsWith(DIST_URL) && u.endsWith('.js')) return [`${ROOT_URL}src/${u.slice(DIST_URL.length, -3)}.ts`];
    return [u];
  });
}
