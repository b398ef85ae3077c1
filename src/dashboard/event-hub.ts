/**
 * The dashboard's live events, fanned out to every open `/api/events` stream: `job-start`,
 * `job-end`, `progress`, `log` and `thaw`. Each event is a small JSON object built from what
 * the daemon already redacts; nothing here reads the environment.
 */
export type HubEvent =
  | { readonly event: 'job-start'; readonly data: { job: string; runId: string; period: string; command: string; start: string } }
  | { readonly event: 'job-end'; readonly data: { job: string; runId: string; run: unknown } }
  | {
      readonly event: 'progress';
      readonly data: {
        job: string;
        runId: string;
        phase: string;
        percent: number | null;
        done: string;
        total: string | null;
        rate: string | null;
        eta: string | null;
      };
    }
  | { readonly event: 'log'; readonly data: { job: string; runId: string; line: string } }
  | { readonly event: 'thaw'; readonly data: { target: string; volume: string; state: string; expiry?: string } };

export class EventHub {
  readonly #subscribers = new Set<(e: HubEvent) => void>();

  subscribe(fn: (e: HubEvent) => void): () => void {
    this.#subscribers.add(fn);
    return () => this.#subscribers.delete(fn);
  }

  publish(e: HubEvent): void {
    for (const fn of this.#subscribers) {
      try {
        fn(e);
      } catch {
        /* a closed stream: its own cleanup removes it */
      }
    }
  }

  get size(): number {
    return this.#subscribers.size;
  }
}

/**
 * A job's `--progress` line (`Progress (backup) 42%: 10/24 files  12.0 MiB/30.0 MiB  2.0 MiB/s  ETA 9s`,
 * src/cli/progress.ts) as its parts, or null for any other line.
 */
export function parseProgressLine(line: string): Omit<Extract<HubEvent, { event: 'progress' }>['data'], 'job' | 'runId'> | null {
  const m = /^Progress \(([^)]+)\)(?: (\d+)%)?: (.*)$/.exec(line.trim());
  if (!m) return null;
  const parts = m[3]!.split(/ {2}/);
  const bytes = parts.find((p) => /B(\/[\d.]+ \S*B)?$/.test(p) && !p.endsWith('/s')) ?? '';
  const [done, total] = bytes.includes('/') ? bytes.split('/') : [bytes, undefined];
  return {
    phase: m[1]!,
    percent: m[2] !== undefined ? Number(m[2]) : null,
    done: done ?? '',
    total: total ?? null,
    rate: parts.find((p) => p.endsWith('/s')) ?? null,
    eta: parts.find((p) => p.startsWith('ETA '))?.slice(4) ?? null,
  };
}
