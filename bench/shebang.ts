import { readFileSync } from 'node:fs';

/**
 * What bin/permafrost.js's `#!/usr/bin/env -S [VAR=value ...] node [flags ...]` line runs, as the
 * benchmarks must run it: the environment it sets and the Node options it passes.
 */
export function shebangOf(bin: string): { env: Record<string, string>; nodeFlags: string[] } {
  const first = readFileSync(bin, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\S*env -S (.*)$/.exec(first);
  const words = m ? m[1]!.trim().split(/\s+/).filter(Boolean) : [];
  const env: Record<string, string> = {};
  while (words.length > 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0]!)) {
    const w = words.shift()!;
    env[w.slice(0, w.indexOf('='))] = w.slice(w.indexOf('=') + 1);
  }
  if (words[0] !== 'node') return { env: {}, nodeFlags: [] };
  return { env, nodeFlags: words.slice(1) };
}
