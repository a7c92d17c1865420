/**
 * A first-come, first-served async lock. The SQLite handle has one connection, so while one transaction is open
 * every other caller must wait, or its statements would silently join (and roll back with) someone else's work.
 * An uncontended acquire takes the lock at once (no promise hop before it is held): it sits on every SQLite
 * transaction, which the embedded default must not pay for.
 */
export class Mutex {
  #held = false;
  readonly #waiters: (() => void)[] = [];
  readonly #idlers: (() => void)[] = [];

  /** True while someone holds the lock. */
  get held(): boolean {
    return this.#held;
  }

  /** Resolves with a release function once every earlier holder has released. */
  acquire(): Promise<() => void> {
    if (!this.#held) {
      this.#held = true;
      return Promise.resolve(this.#releaser());
    }
    return new Promise((resolve) => this.#waiters.push(() => resolve(this.#releaser())));
  }

  /** A release function that works once: the lock passes to the next waiter, or becomes free. */
  #releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.#waiters.shift();
      if (next) return next();
      this.#held = false;
      for (const idle of this.#idlers.splice(0)) idle();
    };
  }

  /** Resolves when nobody holds the lock (a statement outside any transaction waits here, takes nothing). */
  async idle(): Promise<void> {
    while (this.#held) await new Promise<void>((r) => this.#idlers.push(r));
  }
}
