/**
 * A TargetContext built by hand, for running the operations (backup, restore, verify...) in this
 * process on any backend, usually the in-memory one: no CLI, no spawned process. The clock is a
 * number the test moves, like --current-time; messages are collected for assertions.
 */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { Backend } from '../../src/backend/backend.ts';
import { MetadataCache } from '../../src/archive/metadata-cache.ts';
import { NO_PREFIXES } from '../../src/codec/remote-name.ts';
import type { Encryption } from '../../src/crypto/encryption.ts';
import type { TargetContext } from '../../src/ops/context.ts';
import type { Reporter } from '../../src/ops/reporter.ts';

/** Every message an operation gave, as `level: text` lines in order. */
export class CollectingReporter implements Reporter {
  readonly lines: string[] = [];
  error(m: string): void {
    this.lines.push(`error: ${m}`);
  }
  warning(m: string): void {
    this.lines.push(`warning: ${m}`);
  }
  notice(m: string): void {
    this.lines.push(`notice: ${m}`);
  }
  info(m: string): void {
    this.lines.push(`info: ${m}`);
  }
  debug(m: string): void {
    this.lines.push(`debug: ${m}`);
  }
  /** The messages of one level, without the level. */
  at(level: 'error' | 'warning' | 'notice' | 'info' | 'debug'): string[] {
    const p = `${level}: `;
    return this.lines.filter((l) => l.startsWith(p)).map((l) => l.slice(p.length));
  }
}

export interface OpContextOptions {
  /** The cache directory (the archive dir of one backup name); a fresh one per context is a machine that lost its cache. */
  readonly cacheDir: string;
  /** Where volumes are staged. */
  readonly tempRoot: string;
  readonly encryption?: Encryption | null;
  readonly compress?: boolean;
}

/** A context on `backend` whose clock reads `clock.now` (whole seconds), fixed like --current-time. */
export function opContext(backend: Backend, clock: { now: number }, o: OpContextOptions): TargetContext & { reporter: CollectingReporter } {
  mkdirSync(o.tempRoot, { recursive: true });
  return {
    backend,
    cache: new MetadataCache(o.cacheDir),
    prefixes: NO_PREFIXES,
    reporter: new CollectingReporter(),
    now: () => clock.now,
    clockFixed: true,
    tempRoot: o.tempRoot,
    compress: o.compress ?? true,
    encryption: o.encryption ?? null,
  };
}

/** A fresh cache directory and temp root under `work`, named by `label`. */
export function contextDirs(work: string, label: string): OpContextOptions {
  return { cacheDir: join(work, `cache-${label}`), tempRoot: join(work, `tmp-${label}`) };
}
