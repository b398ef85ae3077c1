/**
 * Real parts for the dashboard tests: the daemon run as `node bin/permafrost.js daemon --listen
 * 127.0.0.1:0` (the port it bound is read from its log), an HTTP client that keeps every answer
 * (so that a test can look for secrets in all of them), an event-stream reader, a job period that
 * fires once a few seconds from now, and Prometheus's own text-format parser (prometheus_client in
 * .cache/prometheus-client, made by scripts/install-test-deps.sh).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { PROJECT_ROOT } from '../support/duplicity.ts';
import { spawnDaemon, waitFor, type DaemonProcess } from '../daemon/helpers.ts';

/** A parsed answer: the tests check it field by field against the CLI's own --json output. */
// biome-ignore lint/suspicious/noExplicitAny: one alias for what JSON.parse returns, instead of a cast at every field
export type Json = any;

export interface Dashboard {
  readonly url: string;
  readonly daemon: DaemonProcess;
  /** every body this test read from the server, for the secret checks */
  readonly bodies: string[];
  get(
    path: string,
    init?: { token?: string; headers?: Record<string, string> },
  ): Promise<{ status: number; text: string; json: () => Json }>;
  post(path: string, body: unknown, token?: string): Promise<{ status: number; text: string; json: () => Json }>;
  /** SIGTERM, and the daemon's exit */
  stop(): Promise<{ code: number; stderr: string }>;
}

/** Starts the daemon with `--listen 127.0.0.1:0` (or `listen`) and waits for its dashboard. */
export async function startDashboard(
  env: Readonly<Record<string, string>>,
  extraArgs: readonly string[] = [],
  listen = '127.0.0.1:0',
): Promise<Dashboard> {
  const daemon = spawnDaemon(['--listen', listen, ...extraArgs], env);
  const url = await waitFor(
    'the dashboard to listen',
    () => {
      const m = /dashboard: listening on (http:\/\/[^\s;]+)/.exec(daemon.stderr());
      if (m) return m[1]!;
      if (daemon.child.exitCode !== null) throw new Error(`the daemon ended (${daemon.child.exitCode}):\n${daemon.stderr()}`);
      return undefined;
    },
    60_000,
  );
  const bodies: string[] = [];
  const answer = async (res: Response) => {
    const text = await res.text();
    bodies.push(text);
    return { status: res.status, text, json: () => JSON.parse(text) };
  };
  let stopped: Promise<{ code: number; stderr: string }> | null = null;
  return {
    url,
    daemon,
    bodies,
    async get(path, init = {}) {
      const headers: Record<string, string> = { ...(init.headers ?? {}) };
      if (init.token !== undefined) headers['authorization'] = `Bearer ${init.token}`;
      return answer(await fetch(`${url}${path}`, { headers }));
    },
    async post(path, body, token) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
      return answer(await fetch(`${url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) }));
    },
    stop() {
      stopped ??= (async () => {
        daemon.child.kill('SIGTERM');
        const r = await daemon.done;
        return { code: r.code, stderr: r.stderr };
      })();
      return stopped;
    },
  };
}

export interface SseEvent {
  readonly event: string;
  readonly data: Json;
}

/** Reads `/api/events` as a browser's EventSource would; `raw` keeps the text for the secret checks. */
export function readEvents(url: string, query = ''): { events: SseEvent[]; raw: () => string; close: () => void; opened: Promise<void> } {
  const events: SseEvent[] = [];
  const abort = new AbortController();
  let raw = '';
  let openedResolve: () => void = () => {};
  const opened = new Promise<void>((r) => {
    openedResolve = r;
  });
  void (async () => {
    try {
      const res = await fetch(`${url}/api/events${query}`, { signal: abort.signal });
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        const chunk = decoder.decode(value, { stream: true });
        raw += chunk;
        buffer += chunk;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
          }
          if (data.length > 0) {
            events.push({ event, data: JSON.parse(data.join('\n')) });
            if (event === 'hello') openedResolve();
          }
          end = buffer.indexOf('\n\n');
        }
      }
    } catch {
      /* closed */
    }
  })();
  return { events, raw: () => raw, close: () => abort.abort(), opened };
}

/**
 * A 6-field cron expression (with seconds) that fires once, `seconds` from now (UTC: the daemon
 * runs with TZ=UTC), so that a job runs exactly once during a test.
 */
export function onceIn(seconds: number): string {
  const d = new Date(Date.now() + seconds * 1000);
  return `${d.getUTCSeconds()} ${d.getUTCMinutes()} ${d.getUTCHours()} ${d.getUTCDate()} ${d.getUTCMonth() + 1} *`;
}

export const PROMETHEUS_PYTHON = `${PROJECT_ROOT}.cache/prometheus-client/bin/python`;

export interface MetricFamily {
  readonly name: string;
  readonly type: string;
  readonly documentation: string;
  readonly samples: { readonly name: string; readonly labels: Record<string, string>; readonly value: number }[];
}

const PARSE = `
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": f.name, "type": f.type, "documentation": f.documentation,
                "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]})
print(json.dumps(out))
`;

/** Parses Prometheus text format with prometheus_client's parser (the official Python client's). */
export function parsePrometheus(text: string): Promise<MetricFamily[]> {
  if (!existsSync(PROMETHEUS_PYTHON))
    throw new Error(`${PROMETHEUS_PYTHON} is missing: run bash scripts/install-test-deps.sh (it makes the prometheus_client venv)`);
  return new Promise((resolve, reject) => {
    const child = spawn(PROMETHEUS_PYTHON, ['-c', PARSE], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(JSON.parse(Buffer.concat(out).toString('utf8')) as MetricFamily[]);
      else reject(new Error(`prometheus_client could not parse /metrics (${code}):\n${Buffer.concat(err).toString('utf8')}`));
    });
    child.stdin.end(text);
  });
}

/** The families' `# HELP` and `# TYPE` lines, by name, straight from the text. */
export function helpAndType(text: string): Map<string, { help?: string; type?: string }> {
  const out = new Map<string, { help?: string; type?: string }>();
  for (const line of text.split('\n')) {
    const m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (!m) continue;
    const entry = out.get(m[2]!) ?? {};
    if (m[1] === 'HELP') entry.help = m[3]!;
    else entry.type = m[3]!;
    out.set(m[2]!, entry);
  }
  return out;
}
