import type { InterruptHooks } from '../ops/context.ts';
import type { Reporter } from '../ops/reporter.ts';

/** How long the undo steps may take before the process ends anyway (a target that does not answer). */
const UNDO_LIMIT_MS = 15_000;
const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/**
 * Signal handling for one command line: only while something is registered (a run holding the
 * target lock) does a SIGTERM, SIGINT or SIGHUP first run the undo steps; then the process ends
 * by that same signal, as it would have without us, so that a parent (the daemon, a shell, a
 * container runtime) sees the signal. A second signal during the undo ends it at once: the
 * handlers are removed before the undo starts.
 */
export class SignalUndo implements InterruptHooks {
  readonly #reporter: Reporter;
  readonly #undo = new Set<() => Promise<void>>();
  readonly #handler = (signal: NodeJS.Signals) => {
    void this.#stopBy(signal);
  };
  #installed = false;

  constructor(reporter: Reporter) {
    this.#reporter = reporter;
  }

  onInterrupt(undo: () => Promise<void>): () => void {
    this.#undo.add(undo);
    this.#install();
    return () => {
      this.#undo.delete(undo);
      if (this.#undo.size === 0) this.#uninstall();
    };
  }

  async #stopBy(signal: NodeJS.Signals): Promise<void> {
    this.#uninstall();
    const steps = [...this.#undo];
    this.#undo.clear();
    this.#reporter.warning(`${signal}: stopping; giving up the target lock first`);
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, UNDO_LIMIT_MS);
    });
    await Promise.race([Promise.allSettled(steps.map((s) => s())), limit]);
    clearTimeout(timer);
    process.kill(process.pid, signal);
  }

  #install(): void {
    if (this.#installed) return;
    for (const s of SIGNALS) process.on(s, this.#handler);
    this.#installed = true;
  }

  #uninstall(): void {
    if (!this.#installed) return;
    for (const s of SIGNALS) process.off(s, this.#handler);
    this.#installed = false;
  }
}
