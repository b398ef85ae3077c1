/**
 * Chains: per target, each chain's sets on a timeline with their minimum-storage windows, a table
 * of the sets, and what `remove-all-but-n-full N` would delete with its early-deletion charge.
 */
import { useState } from 'preact/hooks';
import type { ChainStatus, RetentionPreview, SetStatus, TargetStatus } from '../api.ts';
import { Badge, Bytes, ErrorBox, Loading, Section, TableBox, Usd } from '../components/common.tsx';
import { pickTarget, TargetPicker } from '../components/target-picker.tsx';
import { formatDay, formatTime, formatUsd, plural, toSeconds } from '../format.ts';
import { href, useApi } from '../hooks.ts';
import type { PageProps } from '../main.tsx';

/** Minimum storage durations (docs/glacier-semantics.md): used when the server gives no date. */
const MINIMUM_DAYS: Readonly<Record<string, number>> = {
  GLACIER: 90,
  GLACIER_IR: 90,
  DEEP_ARCHIVE: 180,
  STANDARD_IA: 30,
  ONEZONE_IA: 30,
};

export function ChainsPage({ session, overview, params }: PageProps) {
  const target = pickTarget(overview.targets, params);
  const status = useApi<TargetStatus>(target ? `api/targets/${target.id}/status` : null);
  if (!target) return <p>No job writes to a target yet.</p>;
  const now = toSeconds(session.now) ?? Math.floor(Date.now() / 1000);
  return (
    <>
      <TargetPicker page="chains" targets={overview.targets} current={target} />
      {status.error && <ErrorBox message={status.error} />}
      {!status.data && !status.error && <Loading what="the chains" />}
      {status.data && (
        <>
          <Summary status={status.data} />
          {status.data.chains.length === 0 && <p>The target holds no backup chain yet.</p>}
          {status.data.chains.map((c, i) => (
            <ChainView
              key={c.startTime}
              chain={c}
              index={i}
              status={status.data!}
              now={now}
              isFile={target.url.startsWith('file:')}
              targetId={target.id}
            />
          ))}
          <Retention targetId={target.id} fulls={status.data.chains.length} />
        </>
      )}
    </>
  );
}

function Summary({ status }: { status: TargetStatus }) {
  const costs = status.costs;
  const sets = status.chains.reduce((n, c) => n + c.sets.length, 0);
  return (
    <div class="stats" data-summary>
      <div class="stat">
        <span class="stat-label">Chains</span>
        <span class="stat-value" data-chains>
          {status.chains.length}
        </span>
      </div>
      <div class="stat">
        <span class="stat-label">Backup sets</span>
        <span class="stat-value" data-sets>
          {sets}
        </span>
      </div>
      <div class="stat">
        <span class="stat-label">Last full</span>
        <span class="stat-value">{formatDay(status.lastFullTime)}</span>
      </div>
      {costs && (
        <>
          <div class="stat">
            <span class="stat-label">Per month</span>
            <span class="stat-value" data-monthly>
              <Usd v={costs.monthly} />
            </span>
          </div>
          <div class="stat">
            <span class="stat-label">Early deletion if all deleted today</span>
            <span class="stat-value" data-early-deletion>
              <Usd v={costs.earlyDeletion.total} />
            </span>
          </div>
        </>
      )}
    </div>
  );
}

/** The storage class of a set: the server's, else that of its volumes in the listing (S3), else file. */
function classOf(set: SetStatus, status: TargetStatus, isFile: boolean): string {
  if (set.storageClass) return set.storageClass;
  const marker = set.type === 'full' ? `full.${set.time}.vol` : `.to.${set.time}.vol`;
  const classes = new Set((status.volumes ?? []).filter((v) => v.name.includes(marker)).map((v) => v.storageClass));
  if (classes.size > 0) return [...classes].join(', ');
  return isFile ? 'file' : '—';
}

function windowEnd(set: SetStatus, cls: string): number {
  const given = toSeconds(set.minimumStorageUntil);
  if (given !== null) return given;
  const days = Math.max(0, ...cls.split(', ').map((c) => MINIMUM_DAYS[c] ?? 0));
  return set.endTime + days * 86400;
}

function verifyText(v: SetStatus['verify']): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  const details = [v.time !== undefined ? formatDay(v.time) : null, v.mode === 'compare-data' ? 'data compared' : null].filter(
    (x) => x !== null,
  );
  return details.length > 0 ? `${v.status} (${details.join(', ')})` : v.status;
}

interface Row {
  readonly set: SetStatus;
  readonly cls: string;
  readonly until: number;
}

function ChainView(props: { chain: ChainStatus; index: number; status: TargetStatus; now: number; isFile: boolean; targetId: string }) {
  const { chain, status, now, isFile } = props;
  const rows: Row[] = chain.sets.map((set) => {
    const cls = classOf(set, status, isFile);
    return { set, cls, until: windowEnd(set, cls) };
  });
  const bytes = chain.sets.reduce((n, s) => n + s.bytes, 0);
  const title = `Chain from ${formatDay(chain.startTime)}${chain.primary ? ' (current)' : ''}`;
  return (
    <Section title={title}>
      <p class="muted">
        {plural(chain.sets.length, 'set')},{' '}
        {plural(
          chain.sets.reduce((n, s) => n + s.volumes, 0),
          'volume',
        )}
        , <Bytes n={bytes} />; {formatTime(chain.startTime)} to {formatTime(chain.endTime)}
      </p>
      <Timeline rows={rows} now={now} />
      <TableBox label={`Sets of the ${title.toLowerCase()}`}>
        <table class="sets" data-chain={props.index}>
          <thead>
            <tr>
              <th scope="col">Set</th>
              <th scope="col">Kind</th>
              <th scope="col" class="num">
                Volumes
              </th>
              <th scope="col" class="num">
                Size
              </th>
              <th scope="col">Storage class</th>
              <th scope="col">Minimum storage until</th>
              <th scope="col" class="num">
                Early deletion today
              </th>
              <th scope="col">Verify</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(({ set, cls, until }) => {
              const inside = until > now;
              const verify = verifyText(set.verify);
              return (
                <tr key={set.time} data-set={set.time}>
                  <th scope="row">
                    <a href={href('browse', { target: props.targetId, time: set.time })}>{formatTime(set.endTime)}</a>
                  </th>
                  <td data-kind>{set.type === 'full' ? 'full' : 'incremental'}</td>
                  <td class="num" data-volumes>
                    {set.volumes}
                    {set.missingVolumes.length > 0 && (
                      <div>
                        <Badge tone="bad">missing {set.missingVolumes.join(', ')}</Badge>
                      </div>
                    )}
                  </td>
                  <td class="num" data-size>
                    <Bytes n={set.bytes} />
                  </td>
                  <td data-class>{cls}</td>
                  <td data-until>
                    {until > set.endTime ? (
                      <>
                        {formatDay(until)} {inside ? <Badge tone="warn">inside</Badge> : <Badge tone="ok">past</Badge>}
                      </>
                    ) : (
                      'none'
                    )}
                  </td>
                  <td class="num" data-early>
                    {set.earlyDeletionUsdIfDeletedNow !== undefined ? <Usd v={set.earlyDeletionUsdIfDeletedNow} /> : '—'}
                  </td>
                  <td data-verify>
                    {verify ? (
                      <Badge tone={/^(ok|pass)/i.test(verify) ? 'ok' : 'bad'}>{verify}</Badge>
                    ) : (
                      <span title="the daemon knows no verify result for this set">—</span>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </TableBox>
    </Section>
  );
}

/** One lane per set: its time as a mark, its minimum-storage window as a bar, and today as a line. */
function Timeline({ rows, now }: { rows: readonly Row[]; now: number }) {
  if (rows.length === 0) return null;
  const start = Math.min(...rows.map((r) => r.set.startTime));
  const end = Math.max(now, ...rows.map((r) => r.until)) + 86400;
  const W = 1000;
  const lane = 16;
  const top = 22;
  const x = (t: number) => 110 + ((t - start) / (end - start)) * (W - 120);
  const H = top + rows.length * lane + 6;
  const inside = rows.filter((r) => r.until > now).length;
  return (
    <svg
      class="timeline"
      viewBox={`0 0 ${W} ${H}`}
      role="img"
      aria-label={`Timeline of ${rows.length} sets from ${formatDay(start)}; ${inside} still inside their minimum storage window`}
    >
      {x(now) - 110 > 90 && (
        <text x={110} y={14} class="tl-axis">
          {formatDay(start)}
        </text>
      )}
      {W - 10 - x(now) > 90 && (
        <text x={W - 10} y={14} class="tl-axis" text-anchor="end">
          {formatDay(end)}
        </text>
      )}
      <line x1={x(now)} x2={x(now)} y1={18} y2={H} class="tl-now" />
      <text x={x(now)} y={14} class="tl-axis" text-anchor="middle">
        today
      </text>
      {rows.map((r, i) => {
        const y = top + i * lane;
        const full = r.set.type === 'full';
        return (
          <g key={r.set.time}>
            <text x={4} y={y + 11} class="tl-label">
              {full ? 'full' : 'inc'} {formatDay(r.set.endTime)}
            </text>
            {r.until > r.set.endTime && (
              <rect x={x(r.set.endTime)} y={y + 3} width={Math.max(1, x(r.until) - x(r.set.endTime))} height={lane - 6} class="tl-window">
                <title>
                  {r.cls}: minimum storage until {formatDay(r.until)}
                </title>
              </rect>
            )}
            <rect x={x(r.set.endTime) - 3} y={y + 1} width={6} height={lane - 2} class={full ? 'tl-full' : 'tl-inc'}>
              <title>
                {full ? 'full' : 'incremental'} {formatTime(r.set.endTime)}, {r.set.volumes} volumes
              </title>
            </rect>
          </g>
        );
      })}
    </svg>
  );
}

function Retention({ targetId, fulls }: { targetId: string; fulls: number }) {
  const [n, setN] = useState(Math.max(1, fulls - 1));
  const preview = useApi<RetentionPreview>(`api/targets/${targetId}/retention?keepFull=${n}`);
  return (
    <Section title="Retention preview">
      <p class="field inline">
        <label for="keep-full">
          <code>remove-all-but-n-full</code> N =
        </label>
        <input
          id="keep-full"
          type="number"
          min={1}
          step={1}
          value={n}
          onChange={(e) => {
            const v = Number((e.target as HTMLInputElement).value);
            if (Number.isInteger(v) && v >= 1) setN(v);
          }}
        />
      </p>
      {preview.error && <ErrorBox message={preview.error} />}
      {!preview.data && !preview.error && <Loading what="the preview" />}
      {preview.data && preview.data.keepFull === n && (
        <div data-retention={n}>
          {preview.data.deletes.length === 0 ? (
            <p data-retention-none>Keeping {plural(n, 'full backup')} deletes nothing.</p>
          ) : (
            <>
              <p>
                Keeping {plural(n, 'full backup')} deletes {plural(preview.data.deletes.length, 'set')} (
                <Bytes n={preview.data.deletes.reduce((a, d) => a + d.bytes, 0)} />
                ); early-deletion charge{' '}
                <strong data-retention-charge>
                  <Usd v={preview.data.earlyDeletionUsd} />
                </strong>
                .
              </p>
              <TableBox label="Sets the retention change would delete">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Set</th>
                      <th scope="col">Kind</th>
                      <th scope="col" class="num">
                        Volumes
                      </th>
                      <th scope="col" class="num">
                        Size
                      </th>
                      <th scope="col">Storage class</th>
                      <th scope="col" class="num">
                        Early deletion
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {preview.data.deletes.map((d) => (
                      <tr key={String(d.setTime)} data-delete={String(d.setTime)}>
                        <th scope="row">{formatTime(d.setTime)}</th>
                        <td>{d.kind === 'inc' ? 'incremental' : d.kind}</td>
                        <td class="num">{d.volumes}</td>
                        <td class="num">
                          <Bytes n={d.bytes} />
                        </td>
                        <td>{d.storageClass}</td>
                        <td class="num">{d.earlyDeletionUsd > 0 ? formatUsd(d.earlyDeletionUsd) : 'none'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableBox>
            </>
          )}
        </div>
      )}
    </Section>
  );
}
