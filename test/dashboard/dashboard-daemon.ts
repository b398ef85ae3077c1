/**
 * A real `permafrost daemon --listen` for the browser tests: started in a clean environment,
 * ready once it logs the address it bound (port 0: the kernel's choice), stopped with SIGTERM
 * when the test file ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { PERMAFROST_BIN } from '../support/permafrost.ts';
import type { AfterHook } from '../support/tmp.ts';

export interface DashboardDaemon {
  /** `http://host:port` */
  readonly url: string;
  readonly child: ChildProcess;
  /** what the daemon logged so far */
  stderr(): string;
  /** SIGTERM, and its exit code once it has exited (SIGKILL after 10 s) */
  stop(): Promise<number | null>;
}

export async function startDashboardDaemon(
  t: AfterHook,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  timeoutMs = 60_000,
): Promise<DashboardDaemon> {
  const child = spawn(process.execPath, [PERMAFROST_BIN, 'daemon', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async (): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill('SIGTERM');
    const done = await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 10_000))]);
    if (!done) child.kill('SIGKILL');
    return exited;
  };
  t.after(async () => {
    await stop();
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the daemon did not listen within ${timeoutMs / 1000} s:\n${stderr}`)), timeoutMs);
    child.stderr!.on('data', (b: Buffer) => {
      stderr += b.toString('utf8');
      const m = /dashboard: listening on (http:\/\/[^\s;]+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the daemon exited (${code}) before it listened:\n${stderr}`));
    });
  });
  return { url, child, stderr: () => stderr, stop };
}

/**
 * A 6-field cron expression (seconds first, as croner reads it) that fires at exactly these
 * instants of one minute, and then not again for a year: the test's runs happen when it says.
 */
export function cronAt(times: readonly Date[]): string {
  const first = times[0]!;
  for (const t of times)
    if (Math.floor(t.getTime() / 60_000) !== Math.floor(first.getTime() / 60_000))
      throw new Error('cronAt: the instants must share a minute');
  const seconds = times.map((t) => t.getUTCSeconds()).join(',');
  return `${seconds} ${first.getUTCMinutes()} ${first.getUTCHours()} ${first.getUTCDate()} ${first.getUTCMonth() + 1} *`;
}
