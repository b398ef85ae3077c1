/** The target a page shows, kept in the hash (`?target=ID`) so a link or a reload keeps it. */
import type { TargetSummary } from '../api.ts';
import { href } from '../hooks.ts';

export function pickTarget(targets: readonly TargetSummary[], params: URLSearchParams): TargetSummary | undefined {
  const id = params.get('target');
  return targets.find((t) => t.id === id) ?? targets[0];
}

export function TargetPicker({ page, targets, current }: { page: string; targets: readonly TargetSummary[]; current: TargetSummary }) {
  if (targets.length < 2) return <p class="target-url">{current.url}</p>;
  return (
    <p class="field">
      <label for="target-pick">Target</label>
      <select
        id="target-pick"
        value={current.id}
        onChange={(e) => {
          location.hash = href(page, { target: (e.target as HTMLSelectElement).value });
        }}
      >
        {targets.map((t) => (
          <option key={t.id} value={t.id}>
            {t.url}
          </option>
        ))}
      </select>
    </p>
  );
}
