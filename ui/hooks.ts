/** Small hooks the pages share: a GET that reloads, the hash route, the server's events. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type EventHub, type ServerEvent } from './api.ts';

export interface Loaded<T> {
  readonly data: T | null;
  readonly error: string | null;
  readonly loading: boolean;
  reload(): void;
}

/** GETs `path` (null: nothing yet) and again whenever it changes or `reload()` is called. */
export function useApi<T>(path: string | null): Loaded<T> {
  // the answer is kept with the path it answers: a new path never shows the old path's data
  const [state, setState] = useState<{ path: string | null; data: T | null; error: string | null; loading: boolean }>({
    path,
    data: null,
    error: null,
    loading: path !== null,
  });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (path === null) {
      setState({ path, data: null, error: null, loading: false });
      return;
    }
    let live = true;
    // a reload of the same path keeps showing what it had until the new answer comes
    setState((s) => (s.path === path ? { ...s, loading: true, error: null } : { path, data: null, error: null, loading: true }));
    api<T>(path).then(
      (data) => live && setState({ path, data, error: null, loading: false }),
      (err: unknown) => live && setState({ path, data: null, error: err instanceof Error ? err.message : String(err), loading: false }),
    );
    return () => {
      live = false;
    };
  }, [path, tick]);
  const current = state.path === path;
  return {
    data: current ? state.data : null,
    error: current ? state.error : null,
    loading: current ? state.loading : path !== null,
    reload: () => setTick((t) => t + 1),
  };
}

export interface Route {
  readonly page: string;
  readonly params: URLSearchParams;
}

function parseHash(): Route {
  const h = location.hash.replace(/^#\/?/, '');
  const [page = '', q = ''] = h.split('?', 2);
  return { page: page || 'overview', params: new URLSearchParams(q) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(parseHash);
  useEffect(() => {
    const f = () => setRoute(parseHash());
    addEventListener('hashchange', f);
    return () => removeEventListener('hashchange', f);
  }, []);
  return route;
}

/** `#/page?k=v`, skipping empty values. */
export function href(page: string, params: Record<string, string | number | undefined | null> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return `#/${page}${s ? `?${s}` : ''}`;
}

/** Calls `f` for each server event while the component is mounted. */
export function useEvents(hub: EventHub, f: (e: ServerEvent) => void): void {
  const ref = useRef(f);
  ref.current = f;
  useEffect(() => hub.subscribe((e) => ref.current(e)), [hub]);
}

/** Calls `f` every `ms` while mounted (a fallback when events stop). */
export function useInterval(f: () => void, ms: number | null): void {
  const ref = useRef(f);
  ref.current = f;
  useEffect(() => {
    if (ms === null) return;
    const id = setInterval(() => ref.current(), ms);
    return () => clearInterval(id);
  }, [ms]);
}
