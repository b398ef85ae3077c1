/** "At" a backup set's time: the sets of the target's chains, newest first, or the latest state. */
import type { TargetStatus } from '../api.ts';
import { formatTime } from '../format.ts';

export function setTimes(status: TargetStatus | null): { time: number; label: string }[] {
  if (!status) return [];
  return status.chains
    .flatMap((c) => c.sets)
    .map((s) => ({ time: s.endTime, label: `${formatTime(s.endTime)} (${s.type === 'full' ? 'full' : 'incremental'})` }))
    .sort((a, b) => b.time - a.time);
}

export function TimePicker(props: { id: string; status: TargetStatus | null; value: string; onChange: (v: string) => void }) {
  const times = setTimes(props.status);
  return (
    <p class="field">
      <label for={props.id}>Point in time</label>
      <select id={props.id} value={props.value} onChange={(e) => props.onChange((e.target as HTMLSelectElement).value)}>
        <option value="">latest</option>
        {times.map((t) => (
          <option key={t.time} value={String(t.time)}>
            {t.label}
          </option>
        ))}
      </select>
    </p>
  );
}
