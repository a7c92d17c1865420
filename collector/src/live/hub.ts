/**
 * The live hub: fans presence and incident changes out to the browsers watching them. A change is published once
 * and written to every subscriber whose client scope covers it; a subscriber that cannot keep up (its socket buffer
 * past a bound) is dropped rather than buffered without limit: the console reconnects and reloads what it shows.
 */
import type { Logger } from 'pino';

/** One change pushed to the console. Ids and states only: the page re-reads details through the API it already uses. */
export type LiveEvent =
  | { type: 'agent.presence'; agentId: string; clientId: string; status: 'online' | 'offline'; at: number }
  | { type: 'incident.changed'; incidentId: string; clientId: string; status: string; at: number };

/** A browser's stream: where to write, which clients it may see (undefined: all), how to end it. */
export interface LiveSubscriber {
  userId: string;
  clients: readonly string[] | undefined;
  /** Writes one SSE chunk; false when the socket's buffer is past its bound. */
  write(chunk: string): boolean;
  end(): void;
}

/** Publishes changes to the subscribers that may see them. */
export class LiveHub {
  readonly #subs = new Set<LiveSubscriber>();
  readonly counters = { published: 0, dropped: 0 };

  constructor(
    private readonly logger: Logger,
    private readonly limits: { perUser: number; total: number },
  ) {}

  get size(): number {
    return this.#subs.size;
  }

  /** Streams the user already holds (the per-user bound is checked by the route). */
  countFor(userId: string): number {
    let n = 0;
    for (const s of this.#subs) if (s.userId === userId) n++;
    return n;
  }

  /** True when one more stream for this user stays within the bounds. */
  admits(userId: string): boolean {
    return this.#subs.size < this.limits.total && this.countFor(userId) < this.limits.perUser;
  }

  subscribe(sub: LiveSubscriber): () => void {
    this.#subs.add(sub);
    return () => {
      this.#subs.delete(sub);
    };
  }

  publish(event: LiveEvent): void {
    this.counters.published++;
    const chunk = `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
    for (const s of this.#subs) {
      if (s.clients && !s.clients.includes(event.clientId)) continue;
      if (!s.write(chunk)) {
        this.counters.dropped++;
        this.logger.warn({ userId: s.userId, event: event.type }, 'live stream too slow; closing it');
        this.#subs.delete(s);
        s.end();
      }
    }
  }

  /** Ends a user's streams: their scope was computed under roles they no longer hold (or they were disabled). */
  endFor(userId: string): number {
    let ended = 0;
    for (const s of this.#subs) {
      if (s.userId !== userId) continue;
      this.#subs.delete(s);
      s.end();
      ended++;
    }
    return ended;
  }

  /** A comment line every subscriber gets, so proxies and the browser keep idle streams open. */
  keepAlive(): void {
    for (const s of this.#subs) s.write(': keep-alive\n\n');
  }

  /** Ends every stream (collector shutdown). */
  close(): void {
    for (const s of this.#subs) s.end();
    this.#subs.clear();
  }
}
