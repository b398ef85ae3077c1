/**
 * A stack trace with its positions in the bundle (dist/bundle/, scripts/build-cli.mjs) turned
 * back into positions in src/, through the source map next to each file. Done when a stack is
 * shown (console-reporter.ts, at debug verbosity), rather than by Node's --enable-source-maps,
 * which reads and indexes the map of every module as it loads (~10 ms of every run's start,
 * docs/performance.md).
 */
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';

/** `file:///…/x.js:LINE:COLUMN` in a stack frame. */
const POSITION = /(file:\/\/\/[^\s()]+?\.js):(\d+):(\d+)/g;

export function sourceMappedStack(stack: string): string {
  if (!stack.includes('file:///')) return stack;
  const maps = new Map<string, SourceMap | null>();
  return stack.replace(POSITION, (whole, url: string, line: string, column: string) => {
    let map = maps.get(url);
    if (map === undefined) {
      map = readMap(url);
      maps.set(url, map);
    }
    const entry = map?.findEntry(Number(line) - 1, Number(column) - 1);
    if (!entry || !('originalSource' in entry)) return whole;
    return `${new URL(entry.originalSource, url).href}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
  });
}

/** The map of the file at `url` (its `.map` sibling), or null when it has none. */
function readMap(url: string): SourceMap | null {
  try {
    return new SourceMap(JSON.parse(readFileSync(new URL(`${url}.map`), 'utf8')));
  } catch {
    return null;
  }
}
