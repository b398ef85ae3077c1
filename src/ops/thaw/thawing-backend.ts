import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { BackendError, type Backend } from '../../backend/backend.ts';
import { BackendWrapper } from '../../backend/backend-wrapper.ts';
import { isReady, type ThawWaiter, type VolumeThaw } from './thaw.ts';

/** Volumes downloaded ahead of the restore at most: bounds the disk a long wait can fill. */
const PREFETCH_AHEAD = 4;

/**
 * The target as a restore sees it while volumes thaw: reading a planned volume waits until its
 * restored copy exists (never a GET before), and a copy that expired is requested again.
 * Volumes that become readable while the restore waits for an earlier one are downloaded ahead,
 * a few at a time, so the download overlaps with the wait and no copy expires unread. Everything
 * else (puts, listings, the optional capabilities) passes through to the target unchanged.
 */
export class ThawingBackend extends BackendWrapper {
  readonly #waiter: ThawWaiter;
  readonly #order: readonly VolumeThaw[];
  readonly #dir: string;
  readonly #ahead = new Map<string, Promise<string | null>>();
  readonly #consumed = new Set<string>();

  /** `prefetchDir`: an empty private directory for downloads ahead; the caller removes it. */
  constructor(inner: Backend, waiter: ThawWaiter, order: readonly VolumeThaw[], prefetchDir: string) {
    super(inner);
    this.#waiter = waiter;
    this.#order = order;
    this.#dir = prefetchDir;
    waiter.onPoll(() => this.#prefetch());
  }

  override async get(name: string): Promise<AsyncIterable<Buffer>> {
    for (;;) {
      await this.#waiter.ready(name);
      try {
        return await this.inner.get(name);
      } catch (err) {
        if (!this.#expired(err, name)) throw err;
        await this.#waiter.expired(name);
      }
    }
  }

  override async getToFile(name: string, localPath: string): Promise<void> {
    const ahead = this.#ahead.get(name);
    if (ahead) {
      this.#ahead.delete(name);
      this.#consumed.add(name);
      const file = await ahead;
      this.#prefetch();
      if (file !== null) {
        await fsp.rename(file, localPath);
        return;
      }
    }
    this.#consumed.add(name);
    this.#prefetch();
    for (;;) {
      await this.#waiter.ready(name);
      try {
        await this.inner.getToFile(name, localPath);
        return;
      } catch (err) {
        if (!this.#expired(err, name)) throw err;
        await fsp.rm(localPath, { force: true });
        await this.#waiter.expired(name);
      }
    }
  }

  override async close(): Promise<void> {
    this.#waiter.stop();
    // downloads ahead that nobody took: let them end before the caller removes their directory
    await Promise.allSettled(this.#ahead.values());
    await this.inner.close();
  }

  /** A GET of an archived object whose copy is gone: the restore must wait for a new copy. */
  #expired(err: unknown, name: string): boolean {
    return err instanceof BackendError && err.code === 'archived' && this.#waiter.knows(name);
  }

  /** Starts downloads of the next ready volumes in restore order, up to PREFETCH_AHEAD unread. */
  #prefetch(): void {
    for (const v of this.#order) {
      if (this.#ahead.size >= PREFETCH_AHEAD) return;
      const name = v.volume.name;
      if (this.#consumed.has(name) || this.#ahead.has(name)) continue;
      // only volumes that needed a thaw: the others can be read whenever the restore gets there
      if (!v.volume.archived || !isReady(v)) continue;
      const file = path.join(this.#dir, `ahead-${this.#ahead.size}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`);
      // a failed download ahead is not an error: the restore reads the volume itself later; a copy
      // found expired is requested again now, so that the wait for it starts at once
      this.#ahead.set(
        name,
        this.inner.getToFile(name, file).then(
          () => file,
          async (err: unknown) => {
            await fsp.rm(file, { force: true });
            if (this.#expired(err, name)) await this.#waiter.expired(name).catch(() => {});
            return null;
          },
        ),
      );
    }
  }
}
