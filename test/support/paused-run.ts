/**
 * A permafrost process that a test stops (SIGSTOP) at a chosen point of its run and lets go on
 * later (SIGCONT): two runs side by side with a fixed interleaving, e.g. a second writer started
 * while the first holds the target lock with half of its volumes uploaded. Nothing is mocked: the
 * stopped process is a real run holding real locks and files.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { PERMAFROST_BIN } from './permafrost.ts';

export interface Finished {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface StartedRun {
  readonly pid: number;
  readonly child: ChildProcess;
  readonly done: Promise<Finished>;
  /** Whether the process has ended. */
  finished(): boolean;
  stop(): void;
  resume(): void;
}

export function startRun(args: readonly string[], env: Readonly<Record<string, string | undefined>> = process.env): StartedRun {
  const child = spawn(process.execPath, [PERMAFROST_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (b: Buffer) => out.push(b));
  child.stderr!.on('data', (b: Buffer) => err.push(b));
  let ended = false;
  const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
  const done = new Promise<Finished>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      ended = true;
      clearTimeout(timer);
      resolve({
        code: code ?? 128 + (signal ? constants.signals[signal] : 0),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
  return {
    pid: child.pid!,
    child,
    done,
    finished: () => ended,
    stop: () => {
      child.kill('SIGSTOP');
    },
    resume: () => {
      child.kill('SIGCONT');
    },
  };
}

/**
 * Polls `state` every few milliseconds and stops the run as soon as it is true. Returns false when
 * the run ended first (the caller then knows the point was not reached: it must not pass).
 */
export async function stopWhen(run: StartedRun, state: () => boolean | Promise<boolean>, timeoutMs = 120_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!run.finished()) {
    if (await state()) {
      run.stop();
      return true;
    }
    if (Date.now() > deadline) throw new Error(`the run did not reach the awaited point within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 3));
  }
  return false;
}

/** The lines a run wrote, stdout and stderr together, without empty ones. */
export function outputLines(r: Finished): string[] {
  return `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.trim() !== '');
}

export function describeFinished(r: Finished): string {
  return `exit ${r.code}\n--- stdout ---\n${r.stdout.slice(-3000)}\n--- stderr ---\n${r.stderr.slice(-3000)}`;
}
