/**
 * When periods fire. A period is a name with a cron expression: docker-duplicity's named periods
 * (at that image's times, overridable with CRONTAB_<NAME>) and the cron expressions that jobs name
 * directly in JOB_<N>_WHEN. Times are wall-clock times in the configured time zone (TZ).
 */
import { Cron } from 'croner';

/** docker-duplicity's CRONTAB_* defaults (its Dockerfile): daily skips Sunday, when weekly runs. */
export const DEFAULT_PERIODS: Readonly<Record<string, string>> = {
  '15min': '*/15 * * * *',
  hourly: '0 * * * *',
  daily: '0 2 * * MON-SAT',
  weekly: '0 1 * * SUN',
  monthly: '0 5 1 * *',
};

export interface Period {
  /** the name in JOB_<N>_WHEN and in the report's subject: `daily`, or the cron expression itself */
  readonly name: string;
  readonly cron: string;
}

export interface Firing {
  readonly at: number;
  /** the periods due at that instant, in table order */
  readonly periods: readonly string[];
}

/** A cron expression checked once; throws a one-line Error naming what is wrong. */
export function compileCron(expression: string, timezone?: string): Cron {
  try {
    return new Cron(expression, { paused: true, ...(timezone ? { timezone } : {}) });
  } catch (err) {
    throw new Error(`not a cron expression: ${JSON.stringify(expression)} (${(err as Error).message})`);
  }
}

export class Schedule {
  readonly #entries: { readonly period: Period; readonly cron: Cron }[];

  constructor(periods: readonly Period[], timezone?: string) {
    this.#entries = periods.map((period) => ({ period, cron: compileCron(period.cron, timezone) }));
  }

  get periods(): readonly Period[] {
    return this.#entries.map((e) => e.period);
  }

  /** The first firing strictly after `after` (epoch ms), with every period due then; null when none ever fires. */
  next(after: number): Firing | null {
    let at = Infinity;
    let names: string[] = [];
    for (const e of this.#entries) {
      const t = e.cron.nextRun(new Date(after))?.getTime();
      if (t === undefined) continue;
      if (t < at) {
        at = t;
        names = [e.period.name];
      } else if (t === at) names.push(e.period.name);
    }
    return at === Infinity ? null : { at, periods: names };
  }

  /**
   * The periods that fired in (from, to], each once however often it fired, ordered by their
   * first firing: what a run that outlasted other firings owes afterwards.
   */
  due(from: number, to: number): { readonly period: string; readonly at: number }[] {
    const out: { period: string; at: number; order: number }[] = [];
    this.#entries.forEach((e, order) => {
      const t = e.cron.nextRun(new Date(from))?.getTime();
      if (t !== undefined && t <= to) out.push({ period: e.period.name, at: t, order });
    });
    return out.sort((a, b) => a.at - b.at || a.order - b.order).map(({ period, at }) => ({ period, at }));
  }
}
