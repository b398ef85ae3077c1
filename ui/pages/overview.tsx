/** Overview: each job's last and next run with alerts, each target's stored bytes and monthly bill, and their history. */
import { useMemo, useState } from 'preact/hooks';
import type { History, Job, ProgressEvent } from '../api.ts';
import { Badge, Bytes, ErrorBox, Section, TableBox, Usd, stateTone } from '../components/common.tsx';
import { alignSeries, Plot } from '../components/plot.tsx';
import { formatBytes, formatDuration, formatRelative, formatTime, formatUsd, toSeconds } from '../format.ts';
import { href, useApi, useEvents } from '../hooks.ts';
import type { PageProps } from '../main.tsx';

export function OverviewPage({ session, overview, hub }: PageProps) {
  const now = Date.parse(session.now) || Date.now();
  const [progress, setProgress] = useState<ReadonlyMap<string, ProgressEvent>>(new Map());
  useEvents(hub, (e) => {
    if (e.type === 'progress') setProgress((m) => new Map(m).set(e.data.job, e.data));
    else if (e.type === 'job-end')
      setProgress((m) => {
        const n = new Map(m);
        n.delete(e.data.job);
        return n;
      });
  });
  const alerts = overview.jobs.filter((j) => j.overdue || j.failing);
  return (
    <>
      {alerts.length > 0 && (
        <div class="alerts" role="alert">
          <h2>Needs attention</h2>
          <ul>
            {alerts.map((j) => (
              <li key={j.name} data-alert={j.name}>
                <a href={href('jobs', { job: j.name })}>Job {j.name}</a>{' '}
                {j.failing && (
                  <>
                    failed its last run (exit {j.lastRun?.exitCode ?? '?'}, {formatTime(j.lastRun?.end ?? j.lastRun?.start)})
                  </>
                )}
                {j.failing && j.overdue && '; '}
                {j.overdue && <>is overdue: last success {j.lastSuccess ? formatRelative(j.lastSuccess, now) : 'never'}</>}
              </li>
            ))}
          </ul>
        </div>
      )}
      <Section title="Jobs">
        <TableBox label="Jobs">
          <table class="jobs">
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Schedule</th>
                <th scope="col">Last run</th>
                <th scope="col">Result</th>
                <th scope="col">Duration</th>
                <th scope="col">Next run</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {overview.jobs.map((j) => (
                <JobRow key={j.name} job={j} now={now} progress={progress.get(j.name)} />
              ))}
            </tbody>
          </table>
        </TableBox>
      </Section>
      <Section title="Targets">
        <TableBox label="Targets">
          <table class="targets">
            <thead>
              <tr>
                <th scope="col">Target</th>
                <th scope="col">Jobs</th>
                <th scope="col">Stored, by storage class</th>
                <th scope="col" class="num">
                  Total
                </th>
                <th scope="col" class="num">
                  Per month
                </th>
              </tr>
            </thead>
            <tbody>
              {overview.targets.map((t) => {
                const total = Object.values(t.storedBytes).reduce((a, b) => a + b, 0);
                return (
                  <tr key={t.id} data-target={t.id}>
                    <th scope="row" class="url">
                      {t.url}
                      <div class="row-links">
                        <a href={href('chains', { target: t.id })}>chains</a> · <a href={href('browse', { target: t.id })}>files</a> ·{' '}
                        <a href={href('restore', { target: t.id })}>restore</a>
                      </div>
                    </th>
                    <td>{t.jobs.join(', ')}</td>
                    <td>
                      <ul class="classes">
                        {Object.entries(t.storedBytes).map(([cls, n]) => (
                          <li key={cls} data-class={cls}>
                            <span class="cls">{cls}</span> <Bytes n={n} />
                          </li>
                        ))}
                      </ul>
                    </td>
                    <td class="num" data-total>
                      <Bytes n={total} />
                    </td>
                    <td class="num" data-monthly>
                      {t.monthlyCostUsd !== null ? <Usd v={t.monthlyCostUsd} /> : '—'}
                      {t.error && (
                        <div>
                          <Badge tone="bad">cannot read: {t.error}</Badge>
                        </div>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableBox>
      </Section>
      <HistoryPlots targets={overview.targets} />
    </>
  );
}

function JobRow({ job, now, progress }: { job: Job; now: number; progress: ProgressEvent | undefined }) {
  const r = job.lastRun;
  const state = job.running ? 'running' : job.failing ? 'failing' : job.overdue ? 'overdue' : r ? 'ok' : 'not run yet';
  return (
    <tr data-job={job.name}>
      <th scope="row">
        <a href={href('jobs', { job: job.name })}>{job.name}</a>
        <div class="command">
          <code>{job.command}</code>
        </div>
      </th>
      <td>{job.schedule}</td>
      <td data-last-run>{r ? formatTime(r.start) : 'never'}</td>
      <td>{r ? <Badge tone={stateTone(r.result)}>{r.result}</Badge> : '—'}</td>
      <td data-duration>{formatDuration(r?.durationSeconds)}</td>
      <td data-next-run>
        {formatTime(job.nextRun)}
        {job.nextRun && <div class="muted small">{formatRelative(job.nextRun, now)}</div>}
      </td>
      <td>
        <Badge tone={state === 'running' ? 'info' : state === 'ok' ? 'ok' : state === 'not run yet' ? 'neutral' : 'bad'}>{state}</Badge>
        {progress && <ProgressLine job={job.name} progress={progress} />}
      </td>
    </tr>
  );
}

/** A job's latest progress line: a bar when it has a percentage, and its words. */
function ProgressLine({ job, progress }: { job: string; progress: ProgressEvent }) {
  const show = (v: string | number | null | undefined) => (typeof v === 'number' ? formatBytes(v) : (v ?? ''));
  const words = [
    progress.phase,
    progress.total ? `${show(progress.done)} of ${show(progress.total)}` : show(progress.done),
    typeof progress.rate === 'number' ? `${formatBytes(progress.rate)}/s` : progress.rate,
    typeof progress.eta === 'number' ? `${formatDuration(progress.eta)} left` : progress.eta ? `ETA ${progress.eta}` : null,
  ].filter(Boolean);
  return (
    <div class="progress-line" data-progress={job}>
      {typeof progress.percent === 'number' && <progress max={100} value={progress.percent} aria-label={`Job ${job} progress`} />}
      <span class="small">{words.join(', ')}</span>
    </div>
  );
}

function HistoryPlots({ targets }: { targets: PageProps['overview']['targets'] }) {
  const history = useApi<History>('api/history');
  const plots = useMemo(() => {
    if (!history.data) return null;
    const label = (id: string) => targets.find((t) => t.id === id || t.url === id)?.url ?? id;
    const bytes = new Map<string, [number, number][]>();
    const cost = new Map<string, [number, number][]>();
    for (const p of history.data.points) {
      const t = toSeconds(p.time);
      if (t === null) continue;
      const name = label(p.target);
      (bytes.get(name) ?? bytes.set(name, []).get(name)!).push([t, p.storedBytes]);
      (cost.get(name) ?? cost.set(name, []).get(name)!).push([t, p.monthlyCostUsd]);
    }
    return { bytes: alignSeries(bytes), cost: alignSeries(cost) };
  }, [history.data, targets]);
  if (history.error) return <ErrorBox message={`History: ${history.error}`} />;
  if (!plots) return null;
  return (
    <div class="grid-2">
      <Section title="Stored bytes over time">
        <Plot label="Stored bytes per target over time" x={plots.bytes.x} series={plots.bytes.series} format={formatBytes} />
      </Section>
      <Section title="Monthly cost over time">
        <Plot label="Monthly storage cost per target over time" x={plots.cost.x} series={plots.cost.series} format={formatUsd} />
      </Section>
    </div>
  );
}
