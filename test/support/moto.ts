/**
 * moto's S3 server (PyPI `moto[server]`, installed in .cache/moto by scripts/install-test-deps.sh),
 * started on a free loopback port for one test file and stopped when it ends. A missing moto fails
 * the test with the command that installs it: no S3 test is skipped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { PROJECT_ROOT } from './duplicity.ts';
import type { AfterHook } from './tmp.ts';

export const MOTO_SERVER = `${PROJECT_ROOT}.cache/moto/bin/moto_server`;
export const MOTO_PYTHON = `${PROJECT_ROOT}.cache/moto/bin/python`;

/** Keys that moto accepts when it does not check credentials (its default). */
export const TEST_CREDENTIALS = { accessKeyId: 'AKIAPERMAFROSTTEST', secretAccessKey: 'permafrost-test-secret' } as const;

export interface MotoServer {
  /** `http://127.0.0.1:PORT` */
  readonly endpoint: string;
  readonly port: number;
  /** Drops every bucket and object (moto's reset API). */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export interface MotoOptions {
  /** Extra environment, e.g. INITIAL_NO_AUTH_ACTION_COUNT to make moto check credentials. */
  readonly env?: Readonly<Record<string, string>>;
}

export async function startMoto(t: AfterHook, options: MotoOptions = {}): Promise<MotoServer> {
  if (!existsSync(MOTO_SERVER)) {
    throw new Error(
      `moto_server is not installed at ${MOTO_SERVER}: run \`bash scripts/install-test-deps.sh\` (it installs moto[server] in .cache/moto)`,
    );
  }
  let lastError: unknown;
  for (let tries = 0; tries < 3; tries++) {
    const port = await freePort();
    try {
      const server = await launch(port, options);
      t.after(() => server.stop());
      return server;
    } catch (err) {
      lastError = err; // most likely the port was taken between the probe and the bind
    }
  }
  throw lastError;
}

async function launch(port: number, options: MotoOptions): Promise<MotoServer> {
  const child = spawn(MOTO_SERVER, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString('utf8')).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const state = await Promise.race([exited.then((code) => ({ code })), sleep(100).then(() => null)]);
    if (state) throw new Error(`moto_server exited (code ${state.code}) before it was ready:\n${stderr}`);
    try {
      const res = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status < 500) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await kill(child, exited);
      throw new Error(`moto_server did not answer on ${endpoint} within 30 s:\n${stderr}`);
    }
  }
  let stopped = false;
  return {
    endpoint,
    port,
    async reset() {
      const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`moto reset failed: HTTP ${res.status}`);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill(child, exited);
    },
  };
}

async function kill(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const done = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
  if (!done) {
    child.kill('SIGKILL');
    await exited;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Runs Python in moto's venv (it has boto3): used to set up moto's IAM users for the credential
 * tests, the way an administrator would with the AWS CLI.
 */
export function motoPython(script: string, args: readonly string[] = []): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(MOTO_PYTHON, ['-c', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new Error(`python in moto's venv failed (${code}):\n${Buffer.concat(err).toString('utf8')}`));
    });
  });
}

/**
 * How long moto's restores take (its state manager, model `s3::keyrestore`: none → IN_PROGRESS →
 * RESTORED). `{ progression: 'time', seconds: S }` moves one step per S seconds after the key's
 * last step (its upload, at first); `immediate` (the default) restores at once.
 */
export async function setRestoreTransition(
  endpoint: string,
  transition: { readonly progression: 'immediate' } | { readonly progression: 'time'; readonly seconds: number },
): Promise<void> {
  const res = await fetch(`${endpoint}/moto-api/state-manager/set-transition`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model_name: 's3::keyrestore', transition }),
  });
  if (res.status !== 201) throw new Error(`moto set-transition answered ${res.status}: ${await res.text()}`);
}
