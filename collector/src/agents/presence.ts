/**
 * Presence: which agents are alive. Keep-alive pings go out on one sweep for all connections (not a timer per
 * socket, which matters at 15k agents); a connection that missed its previous pong is terminated. Last-seen times
 * are collected in memory and written in one transaction per flush interval.
 */
import type { Logger } from 'pino';
import type { Clock } from '../config.js';
import type { ConnectionRegistry } from './registry.js';

/** Where presence writes last-seen times. */
export interface LastSeenSink {
  touchMany(seen: ReadonlyMap<string, number>): Promise<void>;
}

/** What presence works with: the live connections, where last-seen times go, its clock and periods. */
export interface PresenceInit {
  registry: ConnectionRegistry;
  sink: LastSeenSink;
  clock: Clock;
  logger: Logger;
  options: { pingIntervalMs: number; lastSeenFlushMs: number };
}

/** Ping sweep and batched last-seen writes. */
export class Presence {
  #seen = new Map<string, number>();
  readonly #timers: NodeJS.Timeout[] = [];
  pongTimeouts = 0;

  private readonly registry: ConnectionRegistry;
  private readonly sink: LastSeenSink;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly options: { pingIntervalMs: number; lastSeenFlushMs: number };

  constructor(init: PresenceInit) {
    this.registry = init.registry;
    this.sink = init.sink;
    this.clock = init.clock;
    this.logger = init.logger;
    this.options = init.options;
  }

  start(): void {
    this.#timers.push(setInterval(() => this.sweep(), this.options.pingIntervalMs).unref());
    this.#timers.push(setInterval(() => void this.flush(), this.options.lastSeenFlushMs).unref());
  }

  /** Records that an agent was heard from now. */
  touch(agentId: string): void {
    this.#seen.set(agentId, this.clock.now());
  }

  /** One keep-alive round: terminate connections that did not answer the previous ping, ping the others. */
  sweep(): void {
    for (const conn of this.registry.values()) {
      if (conn.awaitingPong) {
        this.pongTimeouts++;
        this.logger.warn({ agentId: conn.agentId, ip: conn.remoteIp }, 'agent missed a keep-alive pong; terminating');
        conn.socket.terminate();
        continue;
      }
      conn.awaitingPong = true;
      conn.socket.ping();
    }
  }

  /** Writes collected last-seen times. */
  async flush(): Promise<void> {
    if (this.#seen.size === 0) return;
    const seen = this.#seen;
    this.#seen = new Map();
    try {
      await this.sink.touchMany(seen);
    } catch (err) {
      this.logger.error({ err, agents: seen.size }, 'writing last-seen times failed; will retry');
      for (const [id, t] of seen) if (!this.#seen.has(id)) this.#seen.set(id, t);
    }
  }

  async stop(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    this.#timers.length = 0;
    await this.flush();
  }
}
