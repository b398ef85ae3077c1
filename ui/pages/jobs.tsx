/** Jobs and logs: a job's run history and durations, a run's log (live while it runs), and the last report e-mail. */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Job, Report, Run } from '../api.ts';
import { Badge, ErrorBox, Loading, Section, TableBox, stateTone } from '../components/common.tsx';
import { Plot } from '../components/plot.tsx';
import { formatDuration, formatTime, toSeconds } from '../format.ts';
import { href, useApi, useEvents } from '../hooks.ts';
import type { PageProps } from '../main.tsx';

/** The live log keeps this many lines; the rest is in the run's log once it ends. */
const LIVE_LINES = 2000;

export function JobsPage({ overview, params, hub }: PageProps) {
  const job = overview.jobs.find((j) => j.name === params.get('job')) ?? overview.jobs[0];
  if (!job) return <p>The daemon has no jobs.</p>;
  return (
    <div class="jobs-layout">
      <nav aria-label="Jobs" class="job-list">
        <ul>
          {overview.jobs.map((j) => (
            <li key={j.name}>
              <a href={href('jobs', { job: j.name })} aria-current={j.name === job.name ? 'page' : undefined}>
                <span>Job {j.name}</span>
                <Badge tone={j.running ? 'info' : j.failing ? 'bad' : j.lastRun ? 'ok' : 'neutral'}>
                  {j.running ? 'running' : j.failing ? 'failing' : j.lastRun ? 'ok' : 'not run'}
                </Badge>
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <div>
        <JobView key={job.name} job={job} runId={params.get('run')} hub={hub} />
      </div>
    </div>
  );
}

function JobView({ job, runId, hub }: { job: Job; runId: string | null; hub: PageProps['hub'] }) {
  const runs = useApi<{ runs: readonly Run[] }>(`api/jobs/${encodeURIComponent(job.name)}/runs`);
  const report = useApi<Report>(`api/jobs/${encodeURIComponent(job.name)}/report`);
  useEvents(hub, (e) => {
    if ((e.type === 'job-end' || e.type === 'job-start') && e.data.job === job.name) {
      runs.reload();
      if (e.type === 'job-end') report.reload();
    }
  });
  const list = runs.data?.runs ?? [];
  const selected = list.find((r) => r.id === runId) ?? list[0];
  const durations = useMemo(() => {
    const done = list.filter((r) => r.durationSeconds !== null).reverse();
    return { x: done.map((r) => toSeconds(r.start) ?? 0), series: [{ label: 'Duration', values: done.map((r) => r.durationSeconds) }] };
  }, [runs.data]);
  return (
    <>
      <Section title={`Job ${job.name}`}>
        <dl class="facts">
          <dt>Command</dt>
          <dd>
            <code data-command>{job.command}</code>
          </dd>
          <dt>Schedule</dt>
          <dd>{job.schedule}</dd>
          <dt>Next run</dt>
          <dd>{formatTime(job.nextRun)}</dd>
          <dt>Last success</dt>
          <dd>{formatTime(job.lastSuccess)}</dd>
        </dl>
      </Section>
      <Section title="Runs">
        {runs.error && <ErrorBox message={runs.error} />}
        {!runs.data && !runs.error && <Loading what="the runs" />}
        {runs.data && list.length === 0 && <p>No run yet.</p>}
        {list.length > 0 && (
          <TableBox label={`Runs of job ${job.name}`}>
            <table class="runs">
              <thead>
                <tr>
                  <th scope="col">Started</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Result</th>
                  <th scope="col" class="num">
                    Exit code
                  </th>
                  <th scope="col" class="num">
                    Duration
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.map((r) => (
                  <tr key={r.id} data-run={r.id} class={r.id === selected?.id ? 'selected' : undefined}>
                    <th scope="row">
                      <a href={href('jobs', { job: job.name, run: r.id })} aria-current={r.id === selected?.id ? 'true' : undefined}>
                        {formatTime(r.start, true)}
                      </a>
                    </th>
                    <td>{r.kind ?? '—'}</td>
                    <td>
                      <Badge tone={stateTone(r.result)}>{r.result}</Badge>
                    </td>
                    <td class="num">{r.exitCode ?? '—'}</td>
                    <td class="num" data-duration>
                      {formatDuration(r.durationSeconds)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableBox>
        )}
      </Section>
      {durations.x.length > 0 && (
        <Section title="Duration per run">
          <Plot label={`Duration of each run of job ${job.name}`} x={durations.x} series={durations.series} format={formatDuration} bars />
        </Section>
      )}
      {selected && <RunLog key={`${selected.id} ${selected.result}`} run={selected} hub={hub} />}
      <Section title="Last report e-mail">
        {report.error && <p class="muted">{report.error}</p>}
        {report.data && (
          <div data-report>
            <p>
              <strong>Subject:</strong> <span data-report-subject>{report.data.subject}</span>
            </p>
            <pre class="log" data-report-body>
              {report.data.body}
            </pre>
          </div>
        )}
      </Section>
    </>
  );
}

/**
 * A run's log: what the daemon kept, and while the run is running, each new line as the daemon
 * sends it (the view follows the end unless scrolled up).
 */
function RunLog({ run, hub }: { run: Run; hub: PageProps['hub'] }) {
  const running = run.result === 'RUNNING';
  const log = useApi<{ lines: readonly string[] }>(`api/runs/${encodeURIComponent(run.id)}/log`);
  const [live, setLive] = useState<readonly string[]>([]);
  const box = useRef<HTMLPreElement>(null);
  const follow = useRef(true);
  useEvents(hub, (e) => {
    if (running && e.type === 'log' && e.data.runId === run.id) setLive((l) => [...l, e.data.line].slice(-LIVE_LINES));
  });
  // lines that came as events before the kept log was read are in both: show them once
  const kept = log.data?.lines ?? [];
  const lines = [...kept, ...live.slice(overlap(kept, live))];
  useEffect(() => {
    const el = box.current;
    if (el && follow.current) el.scrollTop = el.scrollHeight;
  }, [lines.length]);
  return (
    <Section title={`${running ? 'Live log' : 'Log'} of the run at ${formatTime(run.start, true)}`}>
      {log.error && <ErrorBox message={log.error} />}
      {!log.data && !log.error && <Loading what="the log" />}
      {log.data && (
        <pre
          class="log"
          ref={box}
          data-run-log={run.id}
          onScroll={(e) => {
            const el = e.currentTarget;
            follow.current = el.scrollTop + el.clientHeight >= el.scrollHeight - 8;
          }}
        >
          {lines.length > 0 ? lines.join('\n') : running ? 'Waiting for output…' : '(empty)'}
        </pre>
      )}
    </Section>
  );
}

/** How many lines at the start of `live` are already the last lines of `kept`. */
function overlap(kept: readonly string[], live: readonly string[]): number {
  for (let n = Math.min(kept.length, live.length); n > 0; n--) {
    let same = true;
    for (let i = 0; i < n && same; i++) same = kept[kept.length - n + i] === live[i];
    if (same) return n;
  }
  return 0;
}
