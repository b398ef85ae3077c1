/**
 * What the daemon tells an observer as it works: a job starts, prints a line, ends; a run's report
 * is made. The dashboard (src/dashboard) listens; the daemon knows nothing of it. An instance is
 * passed in through DaemonOptions (no global emitter), so two daemons in one process (tests) stay
 * apart. A listener that throws is dropped from that event only: it cannot stop a backup.
 */
import type { JobOutcome } from './job-runner.ts';
import type { DaemonState } from './status-file.ts';

export type DaemonEvent =
  | {
      readonly type: 'job-start';
      readonly runId: string;
      readonly job: number;
      readonly period: string;
      /** the expanded command, secrets redacted */
      readonly command: string;
      readonly at: number;
    }
  /** one line of the job's output, redacted as the daemon's log gets it */
  | { readonly type: 'log'; readonly runId: string; readonly job: number; readonly line: string }
  | { readonly type: 'job-end'; readonly runId: string; readonly outcome: JobOutcome }
  /** the run's report, as mailed (or as it would have been when no mail is configured) */
  | {
      readonly type: 'report';
      readonly period: string;
      readonly jobs: readonly number[];
      readonly subject: string;
      readonly body: string;
      readonly sent: boolean;
      readonly at: number;
    }
  | { readonly type: 'state'; readonly state: DaemonState };

export type DaemonListener = (event: DaemonEvent) => void;

export class DaemonEvents {
  readonly #listeners = new Set<DaemonListener>();

  /** Adds a listener; the returned function removes it. */
  on(listener: DaemonListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(event: DaemonEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        /* an observer's failure is its own; the run goes on */
      }
    }
  }
}
