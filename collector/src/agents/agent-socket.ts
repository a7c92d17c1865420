/**
 * One agent socket's life, in its phases: the challenge and the hello timer (`awaiting_hello`), the handshake that
 * authenticates or enrolls and answers with the welcome (`authenticating` → `ready`), the authenticated dispatch of
 * messages and channel frames under the rate limits (`ready`), and the close. Anything unexpected or invalid ends the
 * socket with a coded reason and a log line (docs/0001-protocol.md). The gateway admits sockets and builds one each.
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
import type { GatewayCounters, GatewayLimits } from './gateway-types.js';
import type { Presence } from './presence.js';
import { dispatchReady, type ReadyHandlers } from './ready-handlers.js';
import { AgentConnection, type ConnectionRegistry, closeSocket } from './registry.js';
import type { Agents } from './service.js';

type State = 'awaiting_hello' | 'authenticating' | 'ready' | 'closed';

/** How long a socket closed for a flood is given to take the close frame before it is cut. */
const FLOOD_CLOSE_GRACE_MS = 500;

/** What every agent socket shares with the gateway that admitted it. */
export interface SocketContext {
  agents: Agents;
  registry: ConnectionRegistry;
  ingest: StreamIngest;
  presence: Presence;
  clock: Clock;
  logger: Logger;
  limits: GatewayLimits;
  counters: GatewayCounters;
  /** What a ready agent's unsequenced messages do, by type (ready-handlers.ts). */
  handlers: ReadyHandlers;
  /** The sessions concern's channel router, once set. */
  channels(): ChannelRouter | undefined;
  /** Called for every connection right after its welcome. */
  readyListeners: readonly ((conn: AgentConnection) => void)[];
  /** The socket left the handshake (ready or gone): it no longer counts against `maxAgents` as pending. */
  leftPending(): void;
}

/** One admitted agent socket, from the challenge to the close. */
export class AgentSocket {
  #state: State = 'awaiting_hello';
  #conn: AgentConnection | undefined;
  /** Set by the first failure: what arrives after it is neither handled nor logged again. */
  #closing = false;
  readonly #limiter: TokenBucket;
  // Channel frames are paced by credit in bytes, not in number: every binary frame counts against a frame window,
  // and one that no open channel takes (a channel nobody opened, a malformed frame) also against a stray-frame
  // bucket as large as the message budget. Not the message bucket itself: an agent draining its backlog paces
  // itself to that bucket, and a few frames still in flight for a channel that just closed must not cut it off.
  readonly #frames: FrameWindow;
  readonly #strays: TokenBucket;
  readonly #nonce = randomBytes(32).toString('base64url');
  #helloTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: SocketContext,
    private readonly socket: WebSocket,
    private readonly ip: string,
  ) {
    const { limits, clock } = ctx;
    this.#limiter = new TokenBucket(limits.messagesPerSecond, limits.messageBurst, clock.now());
    this.#frames = new FrameWindow(limits.framesPerSecond, 1000, () => clock.now());
    this.#strays = new TokenBucket(limits.messagesPerSecond, limits.messageBurst, clock.now());
  }

  /** Sends the challenge, starts the hello timer and follows the socket until it closes. */
  start(): void {
    const { clock, limits, logger } = this.ctx;
    this.socket.send(
      encodeMessage({
        type: 'collector.challenge',
        nonce: this.#nonce,
        protocolVersion: PROTOCOL_VERSION,
        minProtocolVersion: MIN_PROTOCOL_VERSION,
        serverTime: clock.now(),
      }),
    );
    this.#helloTimer = setTimeout(() => this.#fail(new OutpostError('OUTPOST_E_HELLO_TIMEOUT')), limits.helloTimeoutMs);
    this.socket.on('message', (data: RawData, isBinary: boolean) => this.#onMessage(data, isBinary));
    this.socket.on('pong', () => {
      if (this.#conn) {
        this.#conn.awaitingPong = false;
        this.ctx.presence.touch(this.#conn.agentId);
      }
    });
    this.socket.on('error', (err) =>
      logger.warn({ ip: this.ip, err, agentId: this.#conn?.agentId }, 'agent socket error'),
    );
    this.socket.on('close', (code: number, reason: Buffer) => this.#onClose(code, reason));
  }

  /** Closes the socket with the coded reason of the first failure, logged once with its context. */
  #fail(err: OutpostError, extra = ''): void {
    if (this.#state === 'closed' || this.#closing) return;
    this.#closing = true;
    const context = {
      ip: this.ip,
      agentId: this.#conn?.agentId,
      code: err.code,
      reason: err.message,
      details: err.details,
      state: this.#state,
    };
    // An internal error is a collector bug, not a misbehaving agent: log it as one, with the cause and its stack.
    if (err.code === 'OUTPOST_E_INTERNAL')
      this.ctx.logger.error({ ...context, err: err.cause ?? err }, 'closing agent socket');
    else this.ctx.logger.warn(context, 'closing agent socket');
    closeSocket(this.socket, err, extra);
    if (err.code === 'OUTPOST_E_RATE_LIMITED') {
      // A flooding peer need not answer the close: stop reading it, and cut it if it has not closed shortly.
      this.socket.pause();
      setTimeout(() => this.socket.terminate(), FLOOD_CLOSE_GRACE_MS).unref();
    }
  }

  #leavePending(): void {
    if (this.#state === 'awaiting_hello' || this.#state === 'authenticating') this.ctx.leftPending();
    clearTimeout(this.#helloTimer);
  }

  /** Every frame: channel frames of a ready agent, else one message checked against the state it arrives in. */
  #onMessage(data: RawData, isBinary: boolean): void {
    if (this.#state === 'closed' || this.#closing) return;
    const { clock } = this.ctx;
    try {
      this.ctx.counters.messages++;
      const channels = this.ctx.channels();
      if (isBinary && this.#state === 'ready' && channels) {
        if (!this.#frames.take())
          throw new OutpostError('OUTPOST_E_RATE_LIMITED', {
            message: `more than ${this.ctx.limits.framesPerSecond} binary frames in a second`,
          });
        if (!channels.onFrame(this.#conn!, data as Buffer) && this.#strays.take(clock.now()) > 0)
          throw new OutpostError('OUTPOST_E_RATE_LIMITED', { message: 'too many frames for no open channel' });
        return;
      }
      if (this.#limiter.take(clock.now()) > 0) throw new OutpostError('OUTPOST_E_RATE_LIMITED');
      if (this.#state === 'authenticating')
        throw new OutpostError('OUTPOST_E_UNEXPECTED_MESSAGE', { message: 'message before the welcome' });
      if (isBinary) {
        throw new OutpostError(
          this.#state === 'awaiting_hello' ? 'OUTPOST_E_HELLO_REQUIRED' : 'OUTPOST_E_UNEXPECTED_MESSAGE',
          { message: 'binary frame on a connection with no open channel' },
        );
      }
      const msg = agentMessages.decode(data.toString());
      if (this.#state === 'awaiting_hello') {
        if (msg.type !== 'agent.hello')
          throw new OutpostError('OUTPOST_E_HELLO_REQUIRED', { details: { type: msg.type } });
        this.#handshake(msg).catch((err: unknown) => this.#fail(asCoded(err)));
        return;
      }
      this.#dispatch(msg, this.#conn!);
    } catch (err) {
      this.#fail(asCoded(err));
    }
  }

  /** The hello: checks the protocol version, authenticates or enrolls, registers the connection and welcomes it. */
  async #handshake(hello: AgentHello): Promise<void> {
    this.#state = 'authenticating';
    if (hello.protocolVersion < MIN_PROTOCOL_VERSION || hello.protocolVersion > PROTOCOL_VERSION) {
      throw new OutpostError('OUTPOST_E_PROTOCOL_VERSION', {
        details: { agent: hello.protocolVersion, min: MIN_PROTOCOL_VERSION, max: PROTOCOL_VERSION },
      });
    }
    const { agents, ingest, clock } = this.ctx;
    const enrolling = hello.auth.method === 'enroll';
    const agent = enrolling
      ? await agents.enroll(hello, this.#nonce, this.ip)
      : await agents.authenticate(hello, this.#nonce, this.ip);
    const lastSeq = await ingest.cursorOf(agent.id);
    if ((this.#state as State) === 'closed') return; // the socket went away while we were checking
    this.#leavePending();
    const conn = new AgentConnection({
      agentId: agent.id,
      clientId: agent.clientId,
      siteId: agent.siteId,
      socket: this.socket,
      remoteIp: this.ip,
      connectedAt: clock.now(),
    });
    this.#conn = conn;
    conn.cursor = lastSeq;
    this.#state = 'ready';
    this.ctx.registry.add(conn);
    this.ctx.presence.touch(agent.id);
    this.ctx.counters.handshakes++;
    if (enrolling) this.ctx.counters.enrollments++;
    this.#welcome(conn, hello, lastSeq, enrolling);
    this.ctx.logger.debug(
      { ip: this.ip, agentId: agent.id, hostname: agent.facts.hostname, lastSeq, enrolling },
      'agent connected',
    );
    for (const fn of this.ctx.readyListeners) {
      try {
        fn(conn);
      } catch (err) {
        this.ctx.logger.error({ err, agentId: agent.id }, 'agent-ready listener failed');
      }
    }
  }

  /** The welcome: the agent's identity, where its stream resumes, and the limits it must pace itself to. */
  #welcome(conn: AgentConnection, hello: AgentHello, lastSeq: number, enrolling: boolean): void {
    const { limits, clock } = this.ctx;
    const channels = this.ctx.channels();
    conn.send({
      type: 'collector.welcome',
      agentId: conn.agentId,
      protocolVersion: Math.min(PROTOCOL_VERSION, hello.protocolVersion),
      lastSeq,
      heartbeatIntervalMs: limits.heartbeatIntervalMs,
      messagesPerSecond: limits.messagesPerSecond,
      messageBurst: limits.messageBurst,
      serverTime: clock.now(),
      enrolled: enrolling,
      clientId: conn.clientId,
      siteId: conn.siteId,
      ...(channels ? { sessionKey: channels.sessionKey } : {}),
    });
  }

  /** A ready agent's message: sequenced ones go to the stream, the others to their handler. */
  #dispatch(msg: AgentMessage, c: AgentConnection): void {
    if (isSequenced(msg)) this.ctx.ingest.submit(c, msg);
    else dispatchReady(this.ctx.handlers, msg, c);
  }

  #onClose(code: number, reason: Buffer): void {
    this.#leavePending();
    this.#state = 'closed';
    const { counters } = this.ctx;
    const key = String(code);
    counters.closesByCode.set(key, (counters.closesByCode.get(key) ?? 0) + 1);
    const conn = this.#conn;
    if (conn) {
      this.ctx.channels()?.onClose(conn);
      this.ctx.registry.remove(conn);
      this.ctx.presence.touch(conn.agentId);
      this.ctx.logger.debug(
        { ip: this.ip, agentId: conn.agentId, code, reason: reason.toString() },
        'agent disconnected',
      );
    }
  }
}

/** A coded error as is; anything else is a collector bug, wrapped as internal with its cause. */
function asCoded(err: unknown): OutpostError {
  return err instanceof OutpostError ? err : new OutpostError('OUTPOST_E_INTERNAL', { cause: err });
}
