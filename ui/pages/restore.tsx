/**
 * Restore: paths, a time and a retrieval tier give the thaw plan (volumes, bytes, requests, cost
 * and wait per tier, from `thaw --dry-run`); when the daemon allows actions, a confirmed thaw
 * starts here and each volume's state follows live (events, and a poll in case they stop).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, query, type RestorePlan, type TargetStatus, type ThawStatus, type Tier } from '../api.ts';
import { Badge, Bytes, ErrorBox, Loading, Section, TableBox, Usd, stateTone } from '../components/common.tsx';
import { pickTarget, TargetPicker } from '../components/target-picker.tsx';
import { TimePicker } from '../components/time-picker.tsx';
import { formatBytes, formatHours, formatTime, formatUsd, plural } from '../format.ts';
import { href, useApi, useEvents, useInterval } from '../hooks.ts';
import type { PageProps } from '../main.tsx';

const TIERS: readonly Tier[] = ['Bulk', 'Standard', 'Expedited'];

export function RestorePage({ session, overview, params, hub }: PageProps) {
  const target = pickTarget(overview.targets, params);
  const time = params.get('time') ?? '';
  const paths = params.getAll('path');
  const tierParam = params.get('tier');
  const tier: Tier = TIERS.includes(tierParam as Tier) ? (tierParam as Tier) : 'Standard';
  const status = useApi<TargetStatus>(target ? `api/targets/${target.id}/status` : null);
  const plan = useApi<RestorePlan>(target ? `api/targets/${target.id}/restore-plan${query({ time, path: paths, tier })}` : null);
  const [newPath, setNewPath] = useState('');
  if (!target) return <p>No job writes to a target yet.</p>;
  const go = (p: { time?: string; paths?: readonly string[]; tier?: Tier }) => {
    const q = new URLSearchParams({ target: target.id });
    const t = p.time ?? time;
    if (t) q.set('time', t);
    for (const x of p.paths ?? paths) q.append('path', x);
    q.set('tier', p.tier ?? tier);
    location.hash = `#/restore?${q.toString()}`;
  };
  return (
    <>
      <div class="toolbar">
        <TargetPicker page="restore" targets={overview.targets} current={target} />
        <TimePicker id="restore-time" status={status.data} value={time} onChange={(v) => go({ time: v })} />
      </div>
      <Section title="What to restore">
        {paths.length === 0 ? (
          <p data-paths>Everything (the whole backed-up tree).</p>
        ) : (
          <ul class="paths" data-paths>
            {paths.map((p) => (
              <li key={p}>
                <code>{p}</code>{' '}
                <button type="button" class="link" aria-label={`Remove ${p}`} onClick={() => go({ paths: paths.filter((x) => x !== p) })}>
                  remove
                </button>
              </li>
            ))}
          </ul>
        )}
        <form
          class="field inline"
          onSubmit={(e) => {
            e.preventDefault();
            const p = newPath.trim().replace(/^\/+/, '');
            if (p && !paths.includes(p)) go({ paths: [...paths, p] });
            setNewPath('');
          }}
        >
          <label for="add-path">Add a path</label>
          <input
            id="add-path"
            type="text"
            placeholder="projects/report.pdf"
            value={newPath}
            onInput={(e) => setNewPath((e.target as HTMLInputElement).value)}
          />
          <button type="submit">Add</button>
          <a href={href('browse', { target: target.id, time })}>or pick in Browse</a>
        </form>
      </Section>
      {plan.error && <ErrorBox message={plan.error} />}
      {!plan.data && !plan.error && <Loading what="the restore plan" />}
      {plan.data && <PlanView plan={plan.data} tier={tier} onTier={(t) => go({ tier: t })} />}
      <ThawView
        key={target.id}
        onSettled={plan.reload}
        targetId={target.id}
        plan={plan.data}
        request={{ time, paths, tier }}
        actionsEnabled={session.actionsEnabled}
        hub={hub}
      />
    </>
  );
}

function PlanView({ plan, tier, onTier }: { plan: RestorePlan; tier: Tier; onTier: (t: Tier) => void }) {
  const chosen = plan.quotes.find((q) => q.tier === plan.tier);
  const bytes = plan.volumes.reduce((n, v) => n + v.size, 0);
  return (
    <Section title="Plan">
      <div class="stats" data-plan>
        <div class="stat">
          <span class="stat-label">Restores the state of</span>
          <span class="stat-value">{formatTime(plan.setTime)}</span>
        </div>
        <div class="stat">
          <span class="stat-label">Volumes read</span>
          <span class="stat-value" data-plan-volumes>
            {plan.counts.total}
          </span>
          <span class="small muted">
            of {plural(plan.volumesInSets, 'volume')} in {plural(plan.sets, 'set')}
          </span>
        </div>
        <div class="stat">
          <span class="stat-label">Bytes read</span>
          <span class="stat-value" data-plan-bytes>
            <Bytes n={bytes} />
          </span>
        </div>
        <div class="stat">
          <span class="stat-label">Restore requests</span>
          <span class="stat-value" data-plan-requests>
            {plan.toRequest.objects}
          </span>
          <span class="small muted">
            <Bytes n={plan.toRequest.bytes} /> archived
          </span>
        </div>
        <div class="stat">
          <span class="stat-label">Cost ({plan.tier})</span>
          <span class="stat-value" data-plan-cost>
            <Usd v={chosen?.total ?? 0} />
          </span>
        </div>
        <div class="stat">
          <span class="stat-label">Expected wait</span>
          <span class="stat-value" data-plan-wait>
            {plan.toRequest.objects === 0 ? 'none' : `up to ${formatHours(plan.estimatedHours)}`}
          </span>
        </div>
      </div>
      {plan.toRequest.objects === 0 && <p data-plan-readable>Every volume this restore reads can be read now: no thaw is needed.</p>}
      <fieldset class="tiers">
        <legend>Retrieval tier</legend>
        <TableBox label="Cost and wait per retrieval tier">
          <table>
            <thead>
              <tr>
                <th scope="col">Tier</th>
                <th scope="col" class="num">
                  Cost
                </th>
                <th scope="col">Usual wait</th>
              </tr>
            </thead>
            <tbody>
              {TIERS.map((t) => {
                const q = plan.quotes.find((x) => x.tier === t);
                return (
                  <tr key={t} data-tier={t}>
                    <th scope="row">
                      <label>
                        <input type="radio" name="tier" value={t} checked={t === tier} onChange={() => onTier(t)} /> {t}
                      </label>
                    </th>
                    <td class="num" data-tier-cost>
                      {q ? <Usd v={q.total} /> : '—'}
                    </td>
                    <td>{q ? `${formatHours(q.typicalHours)}` : '—'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableBox>
        <p class="small muted">
          Restored copies are kept {plural(plan.days, 'day')} (billed as STANDARD meanwhile); downloading them is extra.
        </p>
      </fieldset>
      <details>
        <summary>{plural(plan.volumes.length, 'volume')} this restore reads</summary>
        <VolumeTable volumes={plan.volumes.map((v) => ({ ...v, expiry: v.expiry }))} label="Volumes of the plan" />
      </details>
    </Section>
  );
}

interface VolumeRow {
  readonly name: string;
  readonly size?: number | undefined;
  readonly storageClass?: string | undefined;
  readonly state: string;
  readonly expiry?: number | string | undefined;
}

function VolumeTable({ volumes, label }: { volumes: readonly VolumeRow[]; label: string }) {
  return (
    <TableBox label={label}>
      <table class="volumes">
        <thead>
          <tr>
            <th scope="col">Volume</th>
            <th scope="col">Storage class</th>
            <th scope="col" class="num">
              Size
            </th>
            <th scope="col">State</th>
          </tr>
        </thead>
        <tbody>
          {volumes.map((v) => (
            <tr key={v.name} data-volume={v.name} data-state={v.state}>
              <th scope="row" class="name">
                {v.name}
              </th>
              <td>{v.storageClass ?? '—'}</td>
              <td class="num">{v.size !== undefined ? <Bytes n={v.size} /> : '—'}</td>
              <td>
                <Badge tone={stateTone(v.state)}>{v.state}</Badge>
                {v.expiry !== undefined && <span class="small muted"> until {formatTime(v.expiry)}</span>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableBox>
  );
}

const DONE_STATES = new Set(['ready', 'readable', 'restored', 'expiring', 'expired']);

function ThawView(props: {
  targetId: string;
  /** called when a thaw has started or every volume of it is ready: the plan changes then */
  onSettled: () => void;
  plan: RestorePlan | null;
  request: { time: string; paths: readonly string[]; tier: Tier };
  actionsEnabled: boolean;
  hub: PageProps['hub'];
}) {
  const thaw = useApi<ThawStatus>(`api/targets/${props.targetId}/thaw`);
  const [states, setStates] = useState<ReadonlyMap<string, string>>(new Map());
  const [starting, setStarting] = useState(false);
  const [started, setStarted] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const dialog = useRef<HTMLDialogElement>(null);
  useEvents(props.hub, (e) => {
    if (e.type === 'thaw' && e.data.target === props.targetId) setStates((m) => new Map(m).set(e.data.volume, e.data.state));
  });
  // events carry changes; the journal is the truth: take it again (and drop what events said) on each load
  useEffect(() => setStates(new Map()), [thaw.data]);
  // the journal names the volumes; the plan knows their sizes and classes
  const planned = new Map((props.plan?.volumes ?? []).map((v) => [v.name, v]));
  const volumes: VolumeRow[] = (thaw.data?.volumes ?? []).map((v) => ({
    size: planned.get(v.name)?.size,
    storageClass: planned.get(v.name)?.storageClass,
    ...v,
    state: states.get(v.name) ?? v.state,
  }));
  for (const [name, state] of states) if (!volumes.some((v) => v.name === name)) volumes.push({ name, state });
  const active = volumes.length > 0 && volumes.some((v) => !DONE_STATES.has(v.state));
  const wasActive = useRef(false);
  useEffect(() => {
    if (wasActive.current && !active) props.onSettled();
    wasActive.current = active;
  }, [active]);
  // events say when a volume moves; the poll is for a stream that dropped
  useInterval(thaw.reload, active ? 5_000 : null);
  const plan = props.plan;
  const quote = plan?.quotes.find((q) => q.tier === plan.tier);
  const start = async () => {
    setStarting(true);
    setError(null);
    try {
      const body = {
        ...(props.request.time ? { time: /^\d+$/.test(props.request.time) ? Number(props.request.time) : props.request.time } : {}),
        paths: props.request.paths,
        tier: props.request.tier,
      };
      const res = await api<{ thawId: string }>(`api/targets/${props.targetId}/thaw`, { method: 'POST', body });
      setStarted(res.thawId);
      dialog.current?.close();
      thaw.reload();
      props.onSettled();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setStarting(false);
    }
  };
  const ready = volumes.filter((v) => DONE_STATES.has(v.state) && v.state !== 'expired').length;
  return (
    <Section title="Thaw">
      {plan && plan.toRequest.objects > 0 && (
        <>
          {active ? null : props.actionsEnabled ? (
            <p>
              <button type="button" class="primary" data-start-thaw onClick={() => dialog.current?.showModal()}>
                Start thaw…
              </button>
            </p>
          ) : (
            <p class="muted" data-actions-off>
              Starting a thaw costs money, so it is off on this daemon: it was started without enabling actions (see docs/dashboard.md). The
              plan above is what <code>permafrost thaw</code> would do.
            </p>
          )}
          <dialog ref={dialog} aria-labelledby="thaw-confirm-title" class="confirm">
            <h2 id="thaw-confirm-title">Start this thaw?</h2>
            <p data-confirm-cost>
              {plural(plan.toRequest.objects, 'restore request')} for {formatBytes(plan.toRequest.bytes)} with the {plan.tier} tier will
              cost about <strong>{formatUsd(quote?.total ?? 0)}</strong>, and the volumes should be readable in up to{' '}
              {formatHours(plan.estimatedHours)}. The restored copies are kept {plural(plan.days, 'day')}.
            </p>
            {error && <ErrorBox message={error} />}
            <div class="buttons">
              <button type="button" onClick={() => dialog.current?.close()}>
                Cancel
              </button>
              <button type="button" class="primary" data-confirm-thaw disabled={starting} onClick={start}>
                {starting ? 'Starting…' : `Start thaw (${formatUsd(quote?.total ?? 0)})`}
              </button>
            </div>
          </dialog>
        </>
      )}
      {started && (
        <p role="status" data-thaw-started>
          Thaw started ({started}).
        </p>
      )}
      {error && !dialog.current?.open && <ErrorBox message={error} />}
      {thaw.error && <ErrorBox message={thaw.error} />}
      {volumes.length === 0 ? (
        <p class="muted" data-thaw-none>
          No thaw is under way for this target.
        </p>
      ) : (
        <>
          <p data-thaw-summary aria-live="polite">
            {ready} of {plural(volumes.length, 'volume')} ready
            {thaw.data?.volumes[0]?.tier ? ` (${thaw.data.volumes[0].tier})` : ''}
            {thaw.data?.volumes[0]?.requestedAt ? `, requested ${formatTime(thaw.data.volumes[0].requestedAt)}` : ''}
            {thaw.data?.following ? '; the daemon follows it' : ''}.
          </p>
          <progress max={volumes.length} value={ready} aria-label="Volumes ready" />
          <VolumeTable volumes={volumes} label="Thaw state per volume" />
        </>
      )}
    </Section>
  );
}
