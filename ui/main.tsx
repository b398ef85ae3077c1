/**
 * The dashboard: the session first (asking for the token when the daemon wants one), then the
 * page the hash names. Pages get the session, the overview (jobs and targets) and the event hub.
 */
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, ApiError, EventHub, onUnauthorized, storedToken, storeToken, type Overview, type Session } from './api.ts';
import { ErrorBox, Loading } from './components/common.tsx';
import { href, useApi, useEvents, useRoute } from './hooks.ts';
import { BrowsePage } from './pages/browse.tsx';
import { ChainsPage } from './pages/chains.tsx';
import { JobsPage } from './pages/jobs.tsx';
import { OverviewPage } from './pages/overview.tsx';
import { RestorePage } from './pages/restore.tsx';
import './app.css';

export interface PageProps {
  readonly session: Session;
  readonly overview: Overview;
  readonly reloadOverview: () => void;
  readonly hub: EventHub;
  readonly params: URLSearchParams;
}

const PAGES = [
  { id: 'overview', title: 'Overview', Page: OverviewPage },
  { id: 'chains', title: 'Chains', Page: ChainsPage },
  { id: 'browse', title: 'Browse', Page: BrowsePage },
  { id: 'restore', title: 'Restore', Page: RestorePage },
  { id: 'jobs', title: 'Jobs and logs', Page: JobsPage },
] as const;

type SessionState =
  | { kind: 'loading' }
  | { kind: 'token'; wrong: boolean }
  | { kind: 'ready'; session: Session }
  | { kind: 'error'; message: string };

function App() {
  const [state, setState] = useState<SessionState>({ kind: 'loading' });
  const hub = useMemo(() => new EventHub(), []);
  const load = () => {
    // (a 401 also clears the stored token, through onUnauthorized: remember whether one was sent)
    const hadToken = storedToken() !== null;
    api<Session>('api/session').then(
      (session) => {
        if (session.tokenRequired && !storedToken()) setState({ kind: 'token', wrong: false });
        else setState({ kind: 'ready', session });
      },
      (err: unknown) => {
        if (err instanceof ApiError && err.status === 401) {
          storeToken(null);
          setState({ kind: 'token', wrong: hadToken });
        } else setState({ kind: 'error', message: `The daemon did not answer: ${err instanceof Error ? err.message : String(err)}` });
      },
    );
  };
  useEffect(load, []);
  useEffect(
    () =>
      onUnauthorized(() => {
        storeToken(null);
        setState({ kind: 'token', wrong: true });
      }),
    [],
  );
  switch (state.kind) {
    case 'loading':
      return <Loading what="the session" />;
    case 'error':
      return <ErrorBox message={state.message} />;
    case 'token':
      return (
        <TokenPrompt
          wrong={state.wrong}
          onToken={(t) => {
            storeToken(t);
            hub.reset();
            setState({ kind: 'loading' });
            load();
          }}
        />
      );
    case 'ready':
      return <Shell session={state.session} hub={hub} />;
  }
}

function TokenPrompt({ wrong, onToken }: { wrong: boolean; onToken: (t: string) => void }) {
  const [value, setValue] = useState('');
  return (
    <main class="token-page">
      <form
        class="card token-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (value.trim()) onToken(value.trim());
        }}
      >
        <h1>permafrost</h1>
        <p>This daemon listens on a network address and needs its access token (PERMAFROST_UI_TOKEN).</p>
        {wrong && (
          <p class="error" role="alert">
            The daemon refused that token.
          </p>
        )}
        <label for="token">Access token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="off"
          required
          value={value}
          onInput={(e) => setValue((e.target as HTMLInputElement).value)}
        />
        <button type="submit" class="primary">
          Open the dashboard
        </button>
        <p class="muted small">Kept for this browser tab only (sessionStorage).</p>
      </form>
    </main>
  );
}

function Shell({ session, hub }: { session: Session; hub: EventHub }) {
  const route = useRoute();
  const overview = useApi<Overview>('api/overview');
  const [live, setLive] = useState(hub.open);
  useEffect(() => hub.onConnection(setLive), [hub]);
  useEvents(hub, (e) => {
    if (e.type === 'job-end' || e.type === 'job-start') overview.reload();
  });
  const page = PAGES.find((p) => p.id === route.page) ?? PAGES[0];
  useEffect(() => {
    document.title = `${page.title} · permafrost`;
  }, [page]);
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={href('overview')}>
          permafrost
        </a>
        <nav aria-label="Pages">
          <ul>
            {PAGES.map((p) => (
              <li key={p.id}>
                <a href={href(p.id)} aria-current={p.id === page.id ? 'page' : undefined}>
                  {p.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="session" title={`permafrost ${session.version}`}>
          <span class={live ? 'dot dot-on' : 'dot'} aria-hidden="true" />
          {live ? 'live' : 'not live'}
          {session.actionsEnabled ? ' · actions on' : ' · read-only'}
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        <h1 class="page-title">{page.title}</h1>
        {overview.error ? (
          <ErrorBox message={overview.error} />
        ) : !overview.data ? (
          <Loading what="jobs and targets" />
        ) : (
          <page.Page session={session} overview={overview.data} reloadOverview={overview.reload} hub={hub} params={route.params} />
        )}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
