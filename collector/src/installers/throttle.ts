/** Per-source download budget for /install/: a token bucket per address, refilled each minute, memory bounded. */

/** Counts downloads per source address. */
export class DownloadThrottle {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number,
    private readonly maxSources = 10_000,
  ) {}

  /** Takes one download from `source`'s budget; returns the seconds to wait when there is none left, else 0. */
  take(source: string): number {
    const t = this.now();
    let b = this.#buckets.get(source);
    if (b) {
      b.tokens = Math.min(this.perMinute, b.tokens + ((t - b.at) / 60_000) * this.perMinute);
      b.at = t;
    } else {
      if (this.#buckets.size >= this.maxSources) this.#prune(t);
      b = { tokens: this.perMinute, at: t };
      this.#buckets.set(source, b);
    }
    if (b.tokens < 1) return Math.ceil(((1 - b.tokens) / this.perMinute) * 60);
    b.tokens -= 1;
    return 0;
  }

  /** Forgets full buckets (idle a minute or more); if still too many, the oldest half. */
  #prune(t: number): void {
    for (const [k, b] of this.#buckets) if (t - b.at >= 60_000) this.#buckets.delete(k);
    if (this.#buckets.size < this.maxSources) return;
    let n = Math.floor(this.#buckets.size / 2);
    for (const k of this.#buckets.keys()) {
      if (n-- <= 0) break;
      this.#buckets.delete(k);
    }
  }
}
