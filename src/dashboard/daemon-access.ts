/**
 * What the dashboard may see of the daemon, handed over by the daemon command (src/cli): its
 * configuration, its state, the status file, and its events. Read access only: nothing here can
 * start, stop or change a job.
 */
import type { DaemonConfig } from '../daemon/config.ts';
import type { DaemonEvents } from '../daemon/daemon-events.ts';
import type { DaemonState, StatusDocument } from '../daemon/status-file.ts';
import type { CliOptions } from '../command-line/cli-options.ts';
import type { TargetContext } from '../ops/context.ts';
import type { Reporter } from '../ops/reporter.ts';

export interface DaemonAccess {
  readonly config: DaemonConfig;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly events: DaemonEvents;
  state(): DaemonState;
  statusDocument(): StatusDocument;
}

/**
 * Opens a target as the CLI would for a job's command line (the CLI builds contexts; the dashboard
 * sits below it and is given this function).
 */
export type TargetOpener = (url: string, options: CliOptions, reporter: Reporter) => TargetContext;
