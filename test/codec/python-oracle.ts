/**
 * Runs duplicity 0.8.22's own Python modules as a test oracle: one python3 process per call,
 * fed a JSON batch on stdin, answering JSON on stdout. Bytes cross as hex.
 */
import { spawnSync } from 'node:child_process';

export const PYTHON = process.env['PERMAFROST_PYTHON'] ?? '/usr/bin/python3';

const PRELUDE = `
import sys, json, os, time, io
from duplicity import log, config, dup_time, file_naming, manifest
log.setup()
log.setverbosity(log.ERROR)
def unhex(h): return bytes.fromhex(h)
def tohex(b): return b.hex()
def set_tz(tz):
    os.environ['TZ'] = tz
    time.tzset()
data = json.loads(sys.stdin.buffer.read())
`;

/** `script` sees `data` (the parsed input) and must assign `result`. */
export function runPython<T>(script: string, input: unknown, env: Record<string, string> = {}): T {
  const r = spawnSync(PYTHON, ['-c', `${PRELUDE}\n${script}\nsys.stdout.write(json.dumps(result))\n`], {
    input: JSON.stringify(input),
    env: { ...process.env, TZ: 'UTC', LC_ALL: 'C.UTF-8', ...env },
    maxBuffer: 512 * 1024 * 1024,
    encoding: 'utf8',
  });
  if (r.error) throw new Error(`cannot run ${PYTHON}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`python oracle failed (exit ${r.status}):\n${r.stderr.slice(-4000)}`);
  return JSON.parse(r.stdout) as T;
}

/** Runs `fn` with process.env.TZ set (node re-reads it on assignment), then restores it. */
export function withTz<T>(tz: string, fn: () => T): T {
  const saved = process.env['TZ'];
  process.env['TZ'] = tz;
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env['TZ'];
    else process.env['TZ'] = saved;
  }
}
