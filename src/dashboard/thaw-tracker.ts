/**
 * The thaws the dashboard follows. (Skeleton: the thaw action and resuming journals come next.)
 */
import type { DashboardModel } from './dashboard-model.ts';
import type { TargetReader } from './target-reader.ts';

export class ThawTracker {
  constructor(_o: { model: DashboardModel; reader: TargetReader; log: (line: string) => void; redact: (s: string) => string }) {}

  countsByTarget(): ReadonlyMap<string, Readonly<Record<string, number>>> {
    return new Map();
  }

  async resume(): Promise<void> {}

  stop(): void {}
}
