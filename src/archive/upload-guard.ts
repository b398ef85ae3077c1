import * as fsp from 'node:fs/promises';
import { BackendError, type Backend, type PutOptions, type UploadedObject } from '../backend/backend.ts';
import { BackendWrapper } from '../backend/backend-wrapper.ts';
import type { TargetLock } from './target-lock.ts';
import { LockedError } from './metadata-cache.ts';

/**
 * A backup's view of the target while it holds the target lock: every upload is remembered, and
 * none starts once the lock is lost. Before the manifest is written, `checkBeforeManifest` makes
 * sure the lock is still ours and that every object the set uploaded is still there at its size,
 * so that a manifest never names a volume that something deleted meanwhile.
 */
export class UploadGuard extends BackendWrapper {
  readonly #lock: TargetLock;
  readonly #uploaded = new Map<string, number>();

  constructor(inner: Backend, lock: TargetLock) {
    super(inner);
    this.#lock = lock;
  }

  override async putFile(localPath: string, name: string, options: PutOptions): Promise<UploadedObject | void> {
    const lost = this.#lock.lost;
    if (lost !== null) throw new LockedError(lost);
    // measured before: a consumed file is gone afterwards
    const size = (await fsp.stat(localPath)).size;
    const record = await this.inner.putFile(localPath, name, options);
    this.#uploaded.set(name, size);
    return record;
  }

  async checkBeforeManifest(): Promise<void> {
    await this.#lock.assertHeld();
    for (const [name, size] of this.#uploaded) {
      const found = await this.inner.head(name);
      if (found === null)
        throw new BackendError(
          'not-found',
          `${this.displayUrl}: ${name}, uploaded by this backup, is gone; no manifest is written (was cleanup or retention run on this target by a program that ignores the target lock?)`,
        );
      if (found.size !== size)
        throw new BackendError(
          'io',
          `${this.displayUrl}: ${name}, uploaded by this backup with ${size} bytes, now has ${found.size}; no manifest is written`,
        );
    }
  }
}
