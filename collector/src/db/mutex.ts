/**
 * A first-come, first-served async lock. The SQLite handle has one connection, so while one transaction is open
 * every other caller must wait, or its statements would silently join (and roll back with) someone else's work.
 */
export class Mutex {
  #tail: Promise<void> = Promise.resolve();
  #held = false;

  /** True while someone holds the lock. */
  get held(): boolean {
    return this.#held;
  }

  /** Resolves with a release function once every earlier holder has released. */
  async acquire(): Promise<() => void> {
    const before = this.#tail;
    let release!: () => void;
    this.#tail = new Promise<void>((r) => {
      release = r;
    });
    await before;
    this.#held = true;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#held = false;
      release();
    };
  }

  /** Resolves when nobody holds the lock (a statement outside any transaction waits here, takes nothing). */
  async idle(): Promise<void> {
    while (this.#held) await this.#tail;
  }
}
