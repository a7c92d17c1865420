/** Full-jitter capped exponential backoff (the AWS architecture blog's "full jitter"), with the randomness injected. */

/** Backoff settings. */
export interface BackoffOptions {
  baseMs: number;
  capMs: number;
  random?: () => number;
}

/** The delay before attempt number `attempt` (0-based): uniform in [0, min(cap, base·2^attempt)). */
export function backoffDelay(attempt: number, opts: BackoffOptions): number {
  const ceiling = Math.min(opts.capMs, opts.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor((opts.random ?? Math.random)() * ceiling);
}

/** Seconds from a `retry_after=N` close reason, if present. */
export function retryAfterMs(reason: string): number | undefined {
  const m = /retry_after=(\d{1,6})/.exec(reason);
  return m ? Number(m[1]) * 1000 : undefined;
}
