/**
 * A token bucket: `burst` messages at once, refilled at `rate` per second. The collector enforces its per-connection
 * limit with it and the agent paces itself with the same arithmetic, so both sides agree on what "too fast" means.
 */
export class TokenBucket {
  #tokens: number;
  #last: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number,
  ) {
    this.#tokens = burst;
    this.#last = now;
  }

  /** Takes one token and returns 0, or takes none and returns the milliseconds until one is available. */
  take(now: number): number {
    this.#tokens = Math.min(this.burst, this.#tokens + (Math.max(0, now - this.#last) / 1000) * this.rate);
    this.#last = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.#tokens) / this.rate) * 1000);
  }
}
