/**
 * The daemon's JSON API (docs/dashboard.md; the shapes of the operations' --json), the token, and
 * the one EventSource the pages share. Every request goes to the page's own origin.
 */

export interface Session {
  readonly tokenRequired: boolean;
  readonly actionsEnabled: boolean;
  readonly version: string;
  readonly now: string;
}

export type ApiTime = number | string;

export interface Run {
  readonly id: string;
  readonly job: string;
  readonly start: ApiTime;
  readonly end: ApiTime | null;
  readonly durationSeconds: number | null;
  readonly exitCode: number | null;
  readonly result: string;
  readonly kind?: string;
}

export interface Job {
  readonly name: string;
  readonly command: string;
  readonly schedule: string;
  readonly running: boolean;
  readonly lastRun: Run | null;
  readonly lastSuccess: ApiTime | null;
  readonly nextRun: ApiTime | null;
  readonly overdue: boolean;
  readonly failing: boolean;
}

export interface TargetSummary {
  readonly id: string;
  readonly url: string;
  readonly jobs: readonly string[];
  readonly storedBytes: Readonly<Record<string, number>>;
  readonly monthlyCostUsd: number | null;
  /** when the daemon last read the target */
  readonly readAt?: string | null;
  /** why the daemon could not read the target */
  readonly error?: string;
}

export interface Overview {
  readonly jobs: readonly Job[];
  readonly targets: readonly TargetSummary[];
}

export interface SetStatus {
  readonly type: 'full' | 'inc';
  readonly startTime: number;
  readonly endTime: number;
  readonly time: string;
  readonly volumes: number;
  readonly bytes: number;
  readonly encrypted: boolean;
  readonly compressed: boolean;
  readonly missingVolumes: readonly number[];
  readonly volumesCheckedBy?: string;
  readonly minimumStorageUntil?: ApiTime;
  readonly earlyDeletionUsdIfDeletedNow?: number;
  readonly storageClass?: string;
  /** what `verify` last said of the set, when the daemon knows */
  readonly verify?: string | { readonly status: string; readonly time?: ApiTime; readonly mode?: string } | null;
}

export interface ChainStatus {
  readonly primary: boolean;
  readonly startTime: number;
  readonly endTime: number;
  readonly sets: readonly SetStatus[];
}

export interface ClassCost {
  readonly storageClass: string;
  readonly objects: number;
  readonly bytes: number;
  readonly monthly: number;
}

export interface VolumeStorage {
  readonly name: string;
  readonly size: number;
  readonly storageClass: string;
  readonly restore: string;
  readonly expiry?: number;
}

export interface TargetStatus {
  readonly target: string;
  readonly chains: readonly ChainStatus[];
  readonly orphanedSets: readonly SetStatus[];
  readonly incompleteSets: readonly SetStatus[];
  readonly lastFullTime: number | null;
  readonly volumes?: readonly VolumeStorage[];
  readonly costs?: {
    readonly byClass: readonly ClassCost[];
    readonly monthly: number;
    readonly earlyDeletion: { readonly objects: number; readonly total: number };
    readonly pricing?: { readonly region: string; readonly asOf: string };
  };
}

export interface RetentionPreview {
  readonly keepFull: number;
  readonly deletes: readonly {
    readonly setTime: ApiTime;
    readonly kind: string;
    readonly volumes: number;
    readonly bytes: number;
    readonly storageClass: string;
    readonly earlyDeletionUsd: number;
  }[];
  readonly earlyDeletionUsd: number;
}

export interface FileEntry {
  readonly name: string;
  readonly path: string;
  readonly type: string;
  readonly size: number;
  readonly mtime: ApiTime;
}

export interface FileListing {
  /** null: the latest backup */
  readonly time: ApiTime | null;
  readonly dir: string;
  readonly entries: readonly FileEntry[];
}

export type Tier = 'Bulk' | 'Standard' | 'Expedited';

export interface TierQuote {
  readonly tier: Tier;
  readonly total: number;
  readonly typicalHours: readonly [number, number];
  readonly parts: readonly { readonly storageClass: string; readonly objects: number; readonly bytes: number; readonly total: number }[];
}

export interface PlannedVolume {
  readonly name: string;
  readonly size: number;
  readonly storageClass: string;
  readonly state: string;
  readonly expiry?: number;
}

/** `thaw --dry-run --json` */
export interface RestorePlan {
  readonly setTime: number;
  readonly path: string;
  readonly sets: number;
  readonly volumesInSets: number;
  readonly bytesInSets: number;
  readonly tier: Tier;
  readonly days: number;
  readonly estimatedHours: number;
  readonly toRequest: { readonly objects: number; readonly bytes: number };
  readonly counts: { readonly total: number; readonly ready: number; readonly inProgress: number; readonly archived: number };
  readonly quotes: readonly TierQuote[];
  readonly volumes: readonly PlannedVolume[];
}

export interface ThawVolumeState {
  readonly name: string;
  /** requested, in-progress, ready, expiring, expired */
  readonly state: string;
  readonly tier?: Tier;
  readonly requestedAt?: ApiTime;
  readonly expiry?: ApiTime;
  readonly size?: number;
  readonly storageClass?: string;
}

/** The target's thaw journal: every volume a thaw asked for, and whether the daemon follows it now. */
export interface ThawStatus {
  readonly following?: boolean;
  readonly volumes: readonly ThawVolumeState[];
  readonly counts?: Readonly<Record<string, number>>;
}

export interface History {
  readonly points: readonly {
    readonly time: ApiTime;
    readonly target: string;
    readonly storedBytes: number;
    readonly monthlyCostUsd: number;
  }[];
  readonly runs: readonly Run[];
}

export interface Report {
  readonly subject: string;
  readonly body: string;
}

const TOKEN_KEY = 'permafrost.token';

/** The token lives in this tab's sessionStorage only: never in the URL bar, never in localStorage. */
export function storedToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function storeToken(token: string | null): void {
  if (token === null) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

/** An answer other than 2xx; `status` 401 means the token is missing or wrong. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Listeners told when a request answers 401, so the app can ask for the token again. */
const unauthorizedListeners = new Set<() => void>();
export function onUnauthorized(f: () => void): () => void {
  unauthorizedListeners.add(f);
  return () => unauthorizedListeners.delete(f);
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = storedToken();
  if (token) headers['authorization'] = `Bearer ${token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    credentials: 'same-origin',
    cache: 'no-store',
  });
  const text = await res.text();
  if (!res.ok) {
    if (res.status === 401) for (const f of unauthorizedListeners) f();
    let message = `${res.status} ${res.statusText}`;
    try {
      const body = JSON.parse(text) as { error?: string; message?: string };
      message = body.error ?? body.message ?? message;
    } catch {
      if (text.trim() && text.length < 300) message = text.trim();
    }
    throw new ApiError(res.status, message);
  }
  return (text ? JSON.parse(text) : null) as T;
}

/** `a=1&b=x&b=y`, skipping undefined and empty values. */
export function query(params: Record<string, string | number | readonly string[] | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) for (const x of v) q.append(k, x);
    else q.append(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** A running job's progress line, as the daemon parsed it (`done`, `total`, `rate`, `eta` are for people). */
export interface ProgressEvent {
  readonly job: string;
  readonly phase?: string;
  readonly percent?: number | null;
  readonly done?: string | number;
  readonly total?: string | number | null;
  readonly rate?: string | number | null;
  readonly eta?: string | number | null;
}

export type ServerEvent =
  | { readonly type: 'job-start'; readonly data: { readonly job: string; readonly runId?: string } }
  | { readonly type: 'job-end'; readonly data: { readonly job: string; readonly runId?: string; readonly run?: Run } }
  | { readonly type: 'progress'; readonly data: ProgressEvent }
  | { readonly type: 'log'; readonly data: { readonly job: string; readonly line: string; readonly runId?: string } }
  | { readonly type: 'thaw'; readonly data: { readonly target: string; readonly volume: string; readonly state: string } };

const EVENT_TYPES = ['job-start', 'job-end', 'progress', 'log', 'thaw'] as const;

/**
 * One EventSource for the whole app (browsers allow few connections per origin). EventSource
 * cannot send headers, so the token goes in `?token=` here and nowhere else.
 */
export class EventHub {
  private source: EventSource | null = null;
  private readonly listeners = new Set<(e: ServerEvent) => void>();
  private readonly connectionListeners = new Set<(open: boolean) => void>();
  open = false;

  subscribe(f: (e: ServerEvent) => void): () => void {
    this.listeners.add(f);
    this.connect();
    return () => this.listeners.delete(f);
  }

  onConnection(f: (open: boolean) => void): () => void {
    this.connectionListeners.add(f);
    return () => this.connectionListeners.delete(f);
  }

  connect(): void {
    if (this.source) return;
    const token = storedToken();
    const source = new EventSource(`api/events${token ? query({ token }) : ''}`);
    this.source = source;
    const setOpen = (open: boolean) => {
      this.open = open;
      for (const f of this.connectionListeners) f(open);
    };
    source.onopen = () => setOpen(true);
    source.onerror = () => setOpen(source.readyState === EventSource.OPEN);
    for (const type of EVENT_TYPES) {
      source.addEventListener(type, (ev: MessageEvent<string>) => {
        let data: unknown;
        try {
          data = JSON.parse(ev.data);
        } catch {
          return;
        }
        for (const f of this.listeners) f({ type, data } as ServerEvent);
      });
    }
  }

  /** After the token changed: reconnect with the new one. */
  reset(): void {
    this.source?.close();
    this.source = null;
    if (this.listeners.size > 0) this.connect();
  }
}
