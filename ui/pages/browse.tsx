/** Browse: one directory of the backed-up tree at a chosen time, from the signatures (no volume is read). */
import { useState } from 'preact/hooks';
import { query, type FileListing, type TargetStatus } from '../api.ts';
import { Bytes, ErrorBox, Loading, TableBox } from '../components/common.tsx';
import { pickTarget, TargetPicker } from '../components/target-picker.tsx';
import { TimePicker } from '../components/time-picker.tsx';
import { formatTime, plural } from '../format.ts';
import { href, useApi } from '../hooks.ts';
import type { PageProps } from '../main.tsx';

const TYPE_NAMES: Readonly<Record<string, string>> = { reg: 'file', dir: 'directory', sym: 'symlink', fifo: 'fifo', sock: 'socket' };

export function BrowsePage({ overview, params }: PageProps) {
  const target = pickTarget(overview.targets, params);
  const time = params.get('time') ?? '';
  const dir = params.get('dir') ?? '';
  const status = useApi<TargetStatus>(target ? `api/targets/${target.id}/status` : null);
  const listing = useApi<FileListing>(target ? `api/targets/${target.id}/files${query({ time, dir })}` : null);
  const [picked, setPicked] = useState<ReadonlySet<string>>(new Set());
  if (!target) return <p>No job writes to a target yet.</p>;
  const go = (p: { time?: string; dir?: string }) => {
    location.hash = href('browse', { target: target.id, time: p.time ?? time, dir: p.dir ?? dir });
  };
  const parts = dir.split('/').filter(Boolean);
  const toggle = (path: string) =>
    setPicked((s) => {
      const n = new Set(s);
      if (n.has(path)) n.delete(path);
      else n.add(path);
      return n;
    });
  return (
    <>
      <div class="toolbar">
        <TargetPicker page="browse" targets={overview.targets} current={target} />
        <TimePicker id="browse-time" status={status.data} value={time} onChange={(v) => go({ time: v, dir })} />
      </div>
      <nav aria-label="Directory" class="crumbs">
        <ol>
          <li>
            <a href={href('browse', { target: target.id, time })}>(root)</a>
          </li>
          {parts.map((p, i) => (
            <li key={parts.slice(0, i + 1).join('/')}>
              <a
                href={href('browse', { target: target.id, time, dir: parts.slice(0, i + 1).join('/') })}
                aria-current={i === parts.length - 1 ? 'location' : undefined}
              >
                {p}
              </a>
            </li>
          ))}
        </ol>
      </nav>
      {listing.error && <ErrorBox message={listing.error} />}
      {!listing.data && !listing.error && <Loading what="the directory" />}
      {listing.data && (
        <>
          <p class="muted" data-listing-time>
            {plural(listing.data.entries.length, 'entry', 'entries')} as of{' '}
            {listing.data.time === null ? 'the latest backup' : formatTime(listing.data.time)}
          </p>
          <TableBox label="Directory entries">
            <table class="files">
              <thead>
                <tr>
                  <th scope="col">
                    <span class="sr-only">Pick for restore</span>
                  </th>
                  <th scope="col">Name</th>
                  <th scope="col">Type</th>
                  <th scope="col" class="num">
                    Size
                  </th>
                  <th scope="col">Modified</th>
                </tr>
              </thead>
              <tbody>
                {listing.data.entries.map((e) => (
                  <tr key={e.path} data-path={e.path}>
                    <td>
                      <input
                        type="checkbox"
                        aria-label={`Pick ${e.path} for restore`}
                        checked={picked.has(e.path)}
                        onChange={() => toggle(e.path)}
                      />
                    </td>
                    <th scope="row" class="name">
                      {e.type === 'dir' ? <a href={href('browse', { target: target.id, time, dir: e.path })}>{e.name}/</a> : e.name}
                    </th>
                    <td>{TYPE_NAMES[e.type] ?? e.type}</td>
                    <td class="num" data-size>
                      {e.type === 'reg' ? <Bytes n={e.size} /> : ''}
                    </td>
                    <td>{formatTime(e.mtime)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableBox>
          <p>
            <a
              class={picked.size > 0 ? 'button primary' : 'button'}
              href={`${href('restore', { target: target.id, time })}${picked.size > 0 ? `&${new URLSearchParams([...picked].map((p) => ['path', p])).toString()}` : dir ? `&path=${encodeURIComponent(dir)}` : ''}`}
            >
              {picked.size > 0
                ? `Plan a restore of ${plural(picked.size, 'path')}`
                : dir
                  ? `Plan a restore of ${dir}`
                  : 'Plan a restore of everything'}
            </a>
          </p>
        </>
      )}
    </>
  );
}
