/**
 * The agent endpoint (`/v1/agent`): one WebSocket per agent, as a small state machine
 *   awaiting_hello → authenticating → ready → closed.
 * The collector speaks first with a challenge; the agent's first frame must be its signed hello; anything
 * unexpected or invalid closes the socket with a coded reason and a log line (docs/0001-protocol.md).
 */
import { randomBytes } from 'node:crypto';
import {
  type AgentHello,
  type AgentMessage,
  agentMessages,
  encodeMessage,
  isSequenced,
  MIN_PROTOCOL_VERSION,
  OutpostError,
  PROTOCOL_VERSION,
  TokenBucket,
} from '@outpost/shared';
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import type { Clock } from '../config.js';
import { FrameWindow } from '../http/frame-window.js';
import type { StreamIngest } from '../stream/index.js';
import type { ChannelRouter } from './channel-router.js';
import type { Presence } from './presence.js';
import { dispatchReady, type ReadyHandlers, type RequestDesk, readyHandlers } from './ready-handlers.js';
import { AgentConnection, type ConnectionRegistry, closeSocket } from './registry.js';
import type { Agents } from './service.js';

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
}

type State = 'awaiting_hello' | 'authenticating' | 'ready' | 'closed';

export type { ChannelReply, ChannelRouter } from './channel-router.js';

/** How long a socket closed for a flood is given to take the close frame before it is cut. */
const FLOOD_CLOSE_GRACE_MS = 500;

/** What the gateway is built from (one object: seven positional arguments were easy to swap). */
export interface GatewayOptions {
  agents: Agents;
  registry: ConnectionRegistry;
  ingest: StreamIngest;
  presence: Presence;
  clock: Clock;
  logger: Logger;
  limits: GatewayLimits;
}

/** Accepts agent sockets and runs each through the handshake into the registry. */
export class AgentGateway {
  #pending = 0;
  #stopping = false;
  #channels: ChannelRouter | undefined;
  #requestDesk: RequestDesk | undefined;
  readonly #readyListeners: ((conn: AgentConnection) => void)[] = [];
  readonly counters: GatewayCounters = { handshakes: 0, enrollments: 0, messages: 0, closesByCode: new Map() };

  private readonly agents: Agents;
  private readonly registry: ConnectionRegistry;
  private readonly ingest: StreamIngest;
  private readonly presence: Presence;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly limits: GatewayLimits;
  /** What a ready agent's unsequenced messages do, by type (ready-handlers.ts). */
  readonly #handlers: ReadyHandlers;

  constructor(opts: GatewayOptions) {
    this.agents = opts.agents;
    this.registry = opts.registry;
    this.ingest = opts.ingest;
    this.presence = opts.presence;
    this.clock = opts.clock;
    this.logger = opts.logger;
    this.limits = opts.limits;
    this.#handlers = readyHandlers({
      clock: opts.clock,
      presence: opts.presence,
      channels: () => this.#channels,
      requestDesk: () => this.#requestDesk,
    });
  }

  /** Routes binary frames and channel replies to the sessions concern. */
  /** Calls `fn` for every connection right after its welcome (e.g. to push the checks it must run). */
  onReady(fn: (conn: AgentConnection) => void): void {
    this.#readyListeners.push(fn);
  }

  setChannelRouter(router: ChannelRouter): void {
    this.#channels = router;
  }

  /** Answers an agent asking for the status of a user's request it filed (the requests concern, docs/0014). */
  setRequestDesk(desk: RequestDesk): void {
    this.#requestDesk = desk;
  }

  /** Takes over a freshly upgraded socket. */
  handle(socket: WebSocket, ip: string): void {
    // No child logger per socket: at 15k agents its bindings alone would cost megabytes; `ip` goes in each line.
    const log = this.logger;
    let state: State = 'awaiting_hello';
    let conn: AgentConnection | undefined;
    /** Set by the first failure: what arrives after it is neither handled nor logged again. */
    let closing = false;
    const limiter = new TokenBucket(this.limits.messagesPerSecond, this.limits.messageBurst, this.clock.now());
    // Channel frames are paced by credit in bytes, not in number: every binary frame counts against a frame window,
    // and one that no open channel takes (a channel nobody opened, a malformed frame) also against a stray-frame
    // bucket as large as the message budget. Not the message bucket itself: an agent draining its backlog paces
    // itself to that bucket, and a few frames still in flight for a channel that just closed must not cut it off.
    const frames = new FrameWindow(this.limits.framesPerSecond, 1000, () => this.clock.now());
    const strays = new TokenBucket(this.limits.messagesPerSecond, this.limits.messageBurst, this.clock.now());

    const fail = (err: OutpostError, extra = '') => {
      if (state === 'closed' || closing) return;
      closing = true;
      const context = { ip, agentId: conn?.agentId, code: err.code, reason: err.message, details: err.details, state };
      // An internal error is a collector bug, not a misbehaving agent: log it as one, with the cause and its stack.
      if (err.code === 'OUTPOST_E_INTERNAL') log.error({ ...context, err: err.cause ?? err }, 'closing agent socket');
      else log.warn(context, 'closing agent socket');
      closeSocket(socket, err, extra);
      if (err.code === 'OUTPOST_E_RATE_LIMITED') {
        // A flooding peer need not answer the close: stop reading it, and cut it if it has not closed shortly.
        socket.pause();
        setTimeout(() => socket.terminate(), FLOOD_CLOSE_GRACE_MS).unref();
      }
    };

    if (this.#stopping || this.registry.size + this.#pending >= this.limits.maxAgents) {
      closeSocket(socket, new OutpostError('OUTPOST_E_UNAVAILABLE'), `retry_after=${this.limits.retryAfterSec}`);
      return;
    }
    this.#pending++;
    const nonce = randomBytes(32).toString('base64url');
    socket.send(
      encodeMessage({
        type: 'collector.challenge',
        nonce,
        protocolVersion: PROTOCOL_VERSION,
        minProtocolVersion: MIN_PROTOCOL_VERSION,
        serverTime: this.clock.now(),
      }),
    );
    const helloTimer = setTimeout(() => fail(new OutpostError('OUTPOST_E_HELLO_TIMEOUT')), this.limits.helloTimeoutMs);

    const leavePending = () => {
      if (state === 'awaiting_hello' || state === 'authenticating') this.#pending--;
      clearTimeout(helloTimer);
    };

    const onHello = async (hello: AgentHello) => {
      state = 'authenticating';
      if (hello.protocolVersion < MIN_PROTOCOL_VERSION || hello.protocolVersion > PROTOCOL_VERSION) {
        throw new OutpostError('OUTPOST_E_PROTOCOL_VERSION', {
          details: { agent: hello.protocolVersion, min: MIN_PROTOCOL_VERSION, max: PROTOCOL_VERSION },
        });
      }
      const enrolling = hello.auth.method === 'enroll';
      const agent = enrolling
        ? await this.agents.enroll(hello, nonce, ip)
        : await this.agents.authenticate(hello, nonce, ip);
      const lastSeq = await this.ingest.cursorOf(agent.id);
      if ((state as State) === 'closed') return; // the socket went away while we were checking
      leavePending();
      conn = new AgentConnection(agent.id, agent.clientId, agent.siteId, socket, ip, this.clock.now());
      conn.cursor = lastSeq;
      state = 'ready';
      this.registry.add(conn);
      this.presence.touch(agent.id);
      this.counters.handshakes++;
      if (enrolling) this.counters.enrollments++;
      conn.send({
        type: 'collector.welcome',
        agentId: agent.id,
        protocolVersion: Math.min(PROTOCOL_VERSION, hello.protocolVersion),
        lastSeq,
        heartbeatIntervalMs: this.limits.heartbeatIntervalMs,
        messagesPerSecond: this.limits.messagesPerSecond,
        messageBurst: this.limits.messageBurst,
        serverTime: this.clock.now(),
        enrolled: enrolling,
        clientId: agent.clientId,
        siteId: agent.siteId,
        ...(this.#channels ? { sessionKey: this.#channels.sessionKey } : {}),
      });
      log.debug({ ip, agentId: agent.id, hostname: agent.facts.hostname, lastSeq, enrolling }, 'agent connected');
      for (const fn of this.#readyListeners) {
        try {
          fn(conn);
        } catch (err) {
          log.error({ err, agentId: agent.id }, 'agent-ready listener failed');
        }
      }
    };

    const onReady = (msg: AgentMessage, c: AgentConnection) => {
      if (isSequenced(msg)) this.ingest.submit(c, msg);
      else dispatchReady(this.#handlers, msg, c);
    };

    socket.on('message', (data: RawData, isBinary: boolean) => {
      if (state === 'closed' || closing) return;
      try {
        this.counters.messages++;
        if (isBinary && state === 'ready' && this.#channels) {
          if (!frames.take())
            throw new OutpostError('OUTPOST_E_RATE_LIMITED', {
              message: `more than ${this.limits.framesPerSecond} binary frames in a second`,
            });
          if (!this.#channels.onFrame(conn!, data as Buffer) && strays.take(this.clock.now()) > 0)
            throw new OutpostError('OUTPOST_E_RATE_LIMITED', { message: 'too many frames for no open channel' });
          return;
        }
        if (limiter.take(this.clock.now()) > 0) throw new OutpostError('OUTPOST_E_RATE_LIMITED');
        if (state === 'authenticating')
          throw new OutpostError('OUTPOST_E_UNEXPECTED_MESSAGE', { message: 'message before the welcome' });
        if (isBinary) {
          throw new OutpostError(
            state === 'awaiting_hello' ? 'OUTPOST_E_HELLO_REQUIRED' : 'OUTPOST_E_UNEXPECTED_MESSAGE',
            { message: 'binary frame on a connection with no open channel' },
          );
        }
        const msg = agentMessages.decode(data.toString());
        if (state === 'awaiting_hello') {
          if (msg.type !== 'agent.hello')
            throw new OutpostError('OUTPOST_E_HELLO_REQUIRED', { details: { type: msg.type } });
          onHello(msg).catch((err: unknown) =>
            fail(err instanceof OutpostError ? err : new OutpostError('OUTPOST_E_INTERNAL', { cause: err })),
          );
          return;
        }
        onReady(msg, conn!);
      } catch (err) {
        fail(err instanceof OutpostError ? err : new OutpostError('OUTPOST_E_INTERNAL', { cause: err }));
      }
    });

    socket.on('pong', () => {
      if (conn) {
        conn.awaitingPong = false;
        this.presence.touch(conn.agentId);
      }
    });

    socket.on('error', (err) => log.warn({ ip, err, agentId: conn?.agentId }, 'agent socket error'));

    socket.on('close', (code: number, reason: Buffer) => {
      leavePending();
      state = 'closed';
      const key = String(code);
      this.counters.closesByCode.set(key, (this.counters.closesByCode.get(key) ?? 0) + 1);
      if (conn) {
        this.#channels?.onClose(conn);
        this.registry.remove(conn);
        this.presence.touch(conn.agentId);
        log.debug({ ip, agentId: conn.agentId, code, reason: reason.toString() }, 'agent disconnected');
      }
    });
  }

  /** Refuses new agents and tells connected ones to come back later (graceful shutdown). */
  stop(): void {
    this.#stopping = true;
    for (const conn of this.registry.values())
      conn.closeWith(new OutpostError('OUTPOST_E_UNAVAILABLE'), `retry_after=${this.limits.retryAfterSec}`);
  }
}
