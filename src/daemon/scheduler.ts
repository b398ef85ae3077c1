/**
 * The daemon's loop: sleep until the next firing, run the periods due, repeat. Runs never overlap:
 * a period that fires while another run goes on runs once after it (however often it fired
 * meanwhile), in the order of its first firing. The clock is injected, so the loop can be tested
 * on a simulated week.
 */
import type { Schedule } from './schedule.ts';

export interface Clock {
  now(): number;
  /** Resolves at `at` or when `signal` aborts, whichever comes first. */
  sleepUntil(at: number, signal: AbortSignal): Promise<void>;
}

/** Wakes at least once a minute to look at the wall clock again: sleeps survive clock changes and suspends. */
const MAX_NAP_MS = 60_000;

export const systemClock: Clock = {
  now: () => Date.now(),
  async sleepUntil(at, signal) {
    while (!signal.aborted) {
      const left = at - Date.now();
      if (left <= 0) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(left, MAX_NAP_MS));
        function done() {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          resolve();
        }
        signal.addEventListener('abort', done, { once: true });
      });
    }
  },
};

export interface LoopOptions {
  readonly schedule: Schedule;
  readonly clock: Clock;
  /** aborts the loop: no further run starts */
  readonly signal: AbortSignal;
  /** runs one period; `at` is the firing it is for */
  readonly run: (period: string, at: number) => Promise<void>;
  /** told each time the loop goes to sleep */
  readonly onIdle?: (next: { readonly at: number; readonly periods: readonly string[] } | null) => void;
}

export async function schedulerLoop(o: LoopOptions): Promise<void> {
  let cursor = o.clock.now();
  while (!o.signal.aborted) {
    const next = o.schedule.next(cursor);
    o.onIdle?.(next);
    if (next === null) {
      // Nothing will ever fire (e.g. only `0 0 30 2 *`): wait for the stop.
      await o.clock.sleepUntil(Infinity, o.signal);
      return;
    }
    if (next.at > o.clock.now()) await o.clock.sleepUntil(next.at, o.signal);
    if (o.signal.aborted) return;
    const now = o.clock.now();
    const due = o.schedule.due(cursor, now);
    cursor = now;
    for (const { period, at } of due) {
      if (o.signal.aborted) return;
      await o.run(period, at);
    }
  }
}
