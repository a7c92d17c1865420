/** Live agent connections on this collector node: at most one per agent identity. */
import { type CollectorMessage, encodeMessage, OutpostError } from '@outpost/shared';
import type { WebSocket } from 'ws';
import type { StreamPeer } from '../stream/index.js';

/** What AgentConnection is built from (one options object, not positional arguments). */
export interface AgentConnectionInit {
  agentId: string;
  clientId: string;
  siteId: string;
  socket: WebSocket;
  remoteIp: string;
  connectedAt: number;
}

/** One authenticated agent socket; also the stream's peer for this agent. */
export class AgentConnection implements StreamPeer {
  /** Highest sequence number accepted on this connection (queued or committed). */
  cursor = 0;
  /** A ping was sent and its pong has not arrived yet. */
  awaitingPong = false;
  lastHeartbeatAt: number;
  outboxPending = 0;

  readonly agentId: string;
  readonly clientId: string;
  readonly siteId: string;
  readonly socket: WebSocket;
  readonly remoteIp: string;
  readonly connectedAt: number;
  constructor(init: AgentConnectionInit) {
    const { agentId, clientId, siteId, socket, remoteIp, connectedAt } = init;
    this.agentId = agentId;
    this.clientId = clientId;
    this.siteId = siteId;
    this.socket = socket;
    this.remoteIp = remoteIp;
    this.connectedAt = connectedAt;
    this.lastHeartbeatAt = connectedAt;
  }

  get open(): boolean {
    return this.socket.readyState === this.socket.OPEN;
  }

  /** Sends a control message (dropped silently if the socket already closed: the agent resyncs on reconnect). */
  send(msg: CollectorMessage): void {
    if (this.open) this.socket.send(encodeMessage(msg));
  }

  /** Sends one binary channel frame (dropped if the socket already closed). */
  sendFrame(frame: Buffer): void {
    if (this.open) this.socket.send(frame, { binary: true });
  }

  /** Bytes queued on the socket, not yet handed to the kernel. */
  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  /** Stream acknowledgement: everything up to `seq` is committed. */
  ack(seq: number): void {
    this.send({ type: 'stream.ack', seq });
  }

  /** The stream could not commit this connection's messages: drop it so the agent resends. */
  fail(err: OutpostError): void {
    this.closeWith(err);
  }

  /** Closes with the catalogue close code and the error code as the reason. */
  closeWith(err: OutpostError, extra = ''): void {
    closeSocket(this.socket, err, extra);
  }
}

/** Closes a socket with a coded reason (≤ 123 bytes, as the WebSocket protocol allows). */
export function closeSocket(socket: WebSocket, err: OutpostError, extra = ''): void {
  if (socket.readyState === socket.CLOSED || socket.readyState === socket.CLOSING) return;
  socket.close(err.wsCloseCode, `${err.code}${extra ? ` ${extra}` : ''}`.slice(0, 123));
}

/** The registry of live connections. */
export class ConnectionRegistry {
  readonly #byAgent = new Map<string, AgentConnection>();
  readonly #listeners: ((conn: AgentConnection, online: boolean) => void)[] = [];

  /** Calls `fn` when an agent comes online (a connection registered) or goes offline (its connection removed). */
  onPresence(fn: (conn: AgentConnection, online: boolean) => void): void {
    this.#listeners.push(fn);
  }

  #emit(conn: AgentConnection, online: boolean): void {
    for (const fn of this.#listeners) fn(conn, online);
  }

  get size(): number {
    return this.#byAgent.size;
  }

  get(agentId: string): AgentConnection | undefined {
    return this.#byAgent.get(agentId);
  }

  /** Registers a connection; an older connection of the same agent is closed as replaced. */
  add(conn: AgentConnection): AgentConnection | undefined {
    const previous = this.#byAgent.get(conn.agentId);
    this.#byAgent.set(conn.agentId, conn);
    if (previous && previous !== conn) previous.closeWith(new OutpostError('OUTPOST_E_REPLACED'));
    this.#emit(conn, true);
    return previous;
  }

  /** Removes the connection if it is still the registered one. */
  remove(conn: AgentConnection): boolean {
    if (this.#byAgent.get(conn.agentId) !== conn) return false;
    this.#byAgent.delete(conn.agentId);
    this.#emit(conn, false);
    return true;
  }

  values(): IterableIterator<AgentConnection> {
    return this.#byAgent.values();
  }
}
