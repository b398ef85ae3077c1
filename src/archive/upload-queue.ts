/**
 * Runs uploads in the background while the next volume is packed, with a bound on how many
 * finished volumes may wait (and so on temp space). The first failure is kept and rethrown to
 * whoever enqueues or drains next, so a failed upload stops the backup before its manifest.
 */
export class UploadQueue {
  readonly #limit: number;
  readonly #running = new Set<Promise<void>>();
  #failure: unknown = null;

  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }

  /** Starts `task` and resolves once there is room for another one. */
  async enqueue(task: () => Promise<void>): Promise<void> {
    this.#throwIfFailed();
    const p: Promise<void> = task().then(
      () => {
        this.#running.delete(p);
      },
      (err: unknown) => {
        this.#running.delete(p);
        if (this.#failure === null) this.#failure = err ?? new Error('upload failed');
      },
    );
    this.#running.add(p);
    while (this.#running.size >= this.#limit) {
      await Promise.race(this.#running);
      this.#throwIfFailed();
    }
  }

  /** Waits for every upload; rethrows the first failure. */
  async drain(): Promise<void> {
    while (this.#running.size > 0) await Promise.race(this.#running);
    this.#throwIfFailed();
  }

  /** Waits for every upload without throwing: for clean-up paths. */
  async settle(): Promise<void> {
    while (this.#running.size > 0) await Promise.race(this.#running);
  }

  #throwIfFailed(): void {
    if (this.#failure !== null) throw this.#failure;
  }
}
