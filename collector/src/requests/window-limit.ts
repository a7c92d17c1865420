/**
 * A fixed-window counter per key (e-mail address, network address): at most `max` takes per `windowMs`. In memory:
 * a restart forgets it, which only gives a few more sign-in mails, each still going to the address's own mailbox.
 */
export class WindowLimit {
  readonly #windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  /** Counts one take for `key`: 0 when allowed, else how many ms until the window ends. */
  take(key: string, now: number): number {
    // Expired windows go first, so the map stays as small as the keys seen in the last window.
    if (this.#windows.size > 10_000)
      for (const [k, w] of this.#windows) if (now - w.start >= this.windowMs) this.#windows.delete(k);
    const w = this.#windows.get(key);
    if (!w || now - w.start >= this.windowMs) {
      this.#windows.set(key, { start: now, count: 1 });
      return 0;
    }
    if (w.count >= this.max) return w.start + this.windowMs - now;
    w.count += 1;
    return 0;
  }
}
