/**
 * The agent endpoint (`/v1/agent`): one WebSocket per agent, as a small state machine
 *   awaiting_hello → authenticating → ready → closed.
 * The collector speaks first with a challenge; the agent's first frame must be its signed hello; anything
 * unexpected or invalid closes the socket with a coded reason and a log line (docs/0001-protocol.md). The gateway
 * admits sockets (capacity, shutdown); each admitted one runs its phases in `agent-socket.ts`.
 */
import { OutpostError } from '@outpost/shared';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { Clock } from '../config.js';
import type { StreamIngest } from '../stream/index.js';
import { AgentSocket, type SocketContext } from './agent-socket.js';
import { agentCapacity, ownOpenFilesLimit } from './capacity.js';
import type { ChannelRouter } from './channel-router.js';
import type { GatewayCounters, GatewayLimits } from './gateway-types.js';
import type { Presence } from './presence.js';
import { type ReadyHandlers, type RequestDesk, readyHandlers } from './ready-handlers.js';
import { type AgentConnection, type ConnectionRegistry, closeSocket } from './registry.js';
import type { Agents } from './service.js';

export type { AgentLink, ChannelReply, ChannelRouter } from './channel-router.js';
export type { GatewayCounters, GatewayLimits } from './gateway-types.js';

/** What the gateway is built from (one object: seven positional arguments were easy to swap). */
export interface GatewayOptions {
  agents: Agents;
  registry: ConnectionRegistry;
  ingest: StreamIngest;
  presence: Presence;
  clock: Clock;
  logger: Logger;
  limits: GatewayLimits;
  /** This process's open-files limit (tests set it; by default read from /proc/self/limits). */
  openFiles?: number | undefined;
}

/** At most one log line per this many ms about agents refused at capacity (a full node sees them in floods). */
const REFUSAL_LOG_MS = 10_000;

/** Accepts agent sockets and runs each through the handshake into the registry. */
export class AgentGateway {
  #pending = 0;
  #stopping = false;
  #channels: ChannelRouter | undefined;
  #requestDesk: RequestDesk | undefined;
  readonly #readyListeners: ((conn: AgentConnection) => void)[] = [];
  readonly counters: GatewayCounters = {
    handshakes: 0,
    enrollments: 0,
    messages: 0,
    closesByCode: new Map(),
    refusedFull: 0,
  };
  /** The agents this process may hold: `maxAgents`, within its open-files limit (capacity.ts). */
  readonly capacity: number;
  #refusalLoggedAt = Number.NEGATIVE_INFINITY;
  #refusedSinceLog = 0;
  readonly #logger: Logger;

  private readonly registry: ConnectionRegistry;
  private readonly limits: GatewayLimits;
  /** What a ready agent's unsequenced messages do, by type (ready-handlers.ts). */
  readonly #handlers: ReadyHandlers;
  /** What every agent socket shares with the gateway (one object, not one closure per socket). */
  readonly #socketContext: SocketContext;

  constructor(opts: GatewayOptions) {
    this.registry = opts.registry;
    this.limits = opts.limits;
    this.#logger = opts.logger;
    const openFiles = 'openFiles' in opts ? opts.openFiles : ownOpenFilesLimit();
    this.capacity = agentCapacity(opts.limits.maxAgents, openFiles);
    if (this.capacity < opts.limits.maxAgents)
      this.#logger.info(
        { capacity: this.capacity, openFiles, maxAgents: opts.limits.maxAgents },
        'agents held at most: the open-files limit allows fewer than limits.maxAgents',
      );
    this.#handlers = readyHandlers({
      clock: opts.clock,
      presence: opts.presence,
      channels: () => this.#channels,
      requestDesk: () => this.#requestDesk,
    });
    this.#socketContext = {
      ...opts,
      counters: this.counters,
      handlers: this.#handlers,
      channels: () => this.#channels,
      readyListeners: this.#readyListeners,
      leftPending: () => {
        this.#pending--;
      },
    };
  }

  /** Calls `fn` for every connection right after its welcome (e.g. to push the checks it must run). */
  onReady(fn: (conn: AgentConnection) => void): void {
    this.#readyListeners.push(fn);
  }

  /** Routes binary frames and channel replies to the sessions concern. */
  setChannelRouter(router: ChannelRouter): void {
    this.#channels = router;
  }

  /** Answers an agent asking for the status of a user's request it filed (the requests concern, docs/0014). */
  setRequestDesk(desk: RequestDesk): void {
    this.#requestDesk = desk;
  }

  /** Takes over a freshly upgraded socket: refused while full or stopping, else run through its phases. */
  handle(socket: WebSocket, ip: string): void {
    if (this.#stopping || this.registry.size + this.#pending >= this.capacity) {
      if (!this.#stopping) this.#refusedFull(ip);
      closeSocket(socket, new OutpostError('OUTPOST_E_UNAVAILABLE'), `retry_after=${this.limits.retryAfterSec}`);
      return;
    }
    this.#pending++;
    new AgentSocket(this.#socketContext, socket, ip).start();
  }

  /** Counts an agent refused because the node holds all it may, and says so at most every REFUSAL_LOG_MS. */
  #refusedFull(ip: string): void {
    this.counters.refusedFull++;
    this.#refusedSinceLog++;
    const now = performance.now();
    if (now - this.#refusalLoggedAt < REFUSAL_LOG_MS) return;
    this.#logger.warn(
      {
        code: 'OUTPOST_E_UNAVAILABLE',
        ip,
        held: this.registry.size,
        pending: this.#pending,
        capacity: this.capacity,
        refused: this.#refusedSinceLog,
      },
      'agent refused: this node holds all the agents its open-files limit allows (limits.maxAgents, ulimit -n)',
    );
    this.#refusalLoggedAt = now;
    this.#refusedSinceLog = 0;
  }

  /** Refuses new agents and tells connected ones to come back later (graceful shutdown). */
  stop(): void {
    this.#stopping = true;
    for (const conn of this.registry.values())
      conn.closeWith(new OutpostError('OUTPOST_E_UNAVAILABLE'), `retry_after=${this.limits.retryAfterSec}`);
  }
}
