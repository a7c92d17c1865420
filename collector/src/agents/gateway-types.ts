/** The gateway's limits and counters, apart so the gateway and each agent socket import them without a cycle. */

/** Limits the gateway enforces per connection. */
export interface GatewayLimits {
  helloTimeoutMs: number;
  maxAgents: number;
  messagesPerSecond: number;
  messageBurst: number;
  /** Binary frames per second a connection may send at most, open channels included (a flood closes it, 4429). */
  framesPerSecond: number;
  heartbeatIntervalMs: number;
  /** Seconds an agent is told to wait before retrying when the collector is full or stopping. */
  retryAfterSec: number;
}

/** Figures for /metrics and the benchmark. */
export interface GatewayCounters {
  handshakes: number;
  enrollments: number;
  messages: number;
  closesByCode: Map<string, number>;
  /** Agents refused because the node held all it may (its capacity: limits.maxAgents within the open-files limit). */
  refusedFull: number;
}
