import type { ProgressState, Reporter } from './reporter.ts';

/**
 * Sends an operation's progress to its reporter at a bounded rate: `tick()` may be called for
 * every 64 KiB read or every file, and costs a clock read when nothing is due (nothing at all
 * without a progress display). The display decides what it draws and when; this only keeps the
 * states it receives few and current.
 */
export class ProgressTicker {
  readonly #reporter: Reporter;
  readonly #state: () => ProgressState;
  readonly #everyMs: number;
  #sentAt = Number.NEGATIVE_INFINITY;

  constructor(reporter: Reporter, state: () => ProgressState, everyMs = 100) {
    this.#reporter = reporter;
    this.#state = state;
    this.#everyMs = everyMs;
  }

  get active(): boolean {
    return this.#reporter.progress !== undefined;
  }

  /** Sends the current state if the last one is older than the period. */
  tick(): void {
    if (!this.#reporter.progress) return;
    const t = performance.now();
    if (t - this.#sentAt < this.#everyMs) return;
    this.#sentAt = t;
    this.#reporter.progress(this.#state());
  }

  /** Sends the current state now (a phase starts, or the work is complete). */
  send(): void {
    if (!this.#reporter.progress) return;
    this.#sentAt = performance.now();
    this.#reporter.progress(this.#state());
  }

  /** The last state, and the end of the display: what is printed next comes after it. */
  done(): void {
    this.send();
    this.#reporter.progressDone?.();
  }
}
