/**
 * What a long-running part of the collector brings to the composition root: a `start()` that arms its own timers
 * (periods from its config or its own constants) and a `stop()` that disarms them and waits for work in flight.
 * The root starts them after the routes are ready and stops them in the order listed, so a concern that feeds
 * another (sessions, then the gateway, then the stream ingest…) stops before the one it feeds.
 */

/** One part with a lifetime. */
export interface Component {
  /** For the log line when a stop fails. */
  readonly name: string;
  start?(): void;
  stop(): void | Promise<void>;
}

/** Starts every component in list order. */
export function startAll(components: readonly Component[]): void {
  for (const c of components) c.start?.();
}

/**
 * Stops every component in list order; one that fails is reported and the others still stop (a failed timer must not
 * leave the database open). Returns the failures so the caller can still fail once everything is down.
 */
export async function stopAll(
  components: readonly Component[],
  onError: (name: string, err: unknown) => void,
): Promise<unknown[]> {
  const failures: unknown[] = [];
  for (const c of components) {
    try {
      await c.stop();
    } catch (err) {
      onError(c.name, err);
      failures.push(err);
    }
  }
  return failures;
}
