/** Waiting that a stop can cut short: the agent never sleeps through its own shutdown. */

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * The agent's clock: every decision that compares with the time of day (a command's expiry, a job's duration, an
 * update's deadline, a silent collector) reads it, so tests drive time instead of sleeping. Timers that wait for
 * real processes or sockets stay on real time.
 */
export interface Clock {
  now(): number;
}

/** The real clock. */
export const systemClock: Clock = { now: () => Date.now() };
