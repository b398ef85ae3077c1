/**
 * Starts `n` processes (test/support/lock-child.ts) that take one target lock at the same moment
 * (they wait for a start file), and returns what each printed: `won` or `locked: …`.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const CHILD = new URL('./lock-child.ts', import.meta.url).pathname;

export async function raceForLock(
  work: string,
  round: number,
  n: number,
  target: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<string[]> {
  const start = join(work, `go-${round}`);
  const runs = Array.from({ length: n }, () => {
    const child = spawn(process.execPath, [CHILD, start, '1500', ...target], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    return new Promise<string>((resolve, reject) =>
      child.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`lock child exit ${code}: ${out}${err}`)))),
    );
  });
  // let every child load and wait for the start file
  await new Promise((r) => setTimeout(r, 1500));
  writeFileSync(start, '');
  return Promise.all(runs);
}
