/**
 * The channel relay: which peer (a live shell, a live transfer, or an opening still waiting for the agent's answer)
 * owns each channel id on each agent socket, and the routing of the agent's channel frames and replies to it.
 */
import { type ChannelFrame, decodeFrame, type ErrorCode, OutpostError } from '@outpost/shared';
import type { Logger } from 'pino';
import type { AgentLink, ChannelReply } from '../agents/index.js';
import { LiveShell } from './live.js';
import { LiveTransfer } from './live-transfer.js';
import { RelayedChannel, RemoteAgentLink } from './remote.js';

/** A channel waiting for the agent's answer to shell.open (only a reply naming its session counts). */
export interface Pending {
  sessionId: string;
  resolve(msg: ChannelReply): void;
}

/** What may own a channel: a session here, an opening, or (agent's node) a session on another node. */
export type ChannelPeer = LiveShell | LiveTransfer | Pending | RelayedChannel;

/** Channel ids per agent socket, and the relay of what the agent sends on them. */
export class ChannelRelay {
  readonly #byChannel = new Map<AgentLink, Map<number, ChannelPeer>>();
  readonly #nextChannel = new WeakMap<AgentLink, number>();
  /** Malformed channel frames dropped per agent connection (for the log's throttle). */
  readonly #malformedFrames = new WeakMap<AgentLink, number>();

  constructor(private readonly logger: Logger) {}

  /** Gives a peer the next free channel id on an agent socket. */
  allocate(conn: AgentLink, peer: ChannelPeer): number {
    let map = this.#byChannel.get(conn);
    if (!map) {
      map = new Map();
      this.#byChannel.set(conn, map);
    }
    let id = this.#nextChannel.get(conn) ?? 1;
    while (map.has(id)) id = id >= 0xfffffffe ? 1 : id + 1;
    this.#nextChannel.set(conn, id >= 0xfffffffe ? 1 : id + 1);
    map.set(id, peer);
    return id;
  }

  /** Hands a channel to a new owner (the opened shell replaces its pending opening); no-op once the socket closed. */
  replace(conn: AgentLink, channel: number, peer: ChannelPeer): void {
    this.#byChannel.get(conn)?.set(channel, peer);
  }

  /** Frees a channel id; a link to another node carries one session, so it closes with it. */
  release(conn: AgentLink, channel: number): void {
    this.#byChannel.get(conn)?.delete(channel);
    if (conn instanceof RemoteAgentLink) {
      this.#byChannel.delete(conn);
      conn.close();
    }
  }

  /** An agent channel frame to its shell or transfer; false when it is malformed or names no live channel. */
  onFrame(conn: AgentLink, data: Buffer): boolean {
    let frame: ChannelFrame;
    try {
      frame = decodeFrame(data);
    } catch (err) {
      // Logged without a stack and at most ten times per connection (then every thousandth): an agent must not be
      // able to fill the collector's log with frames that cost it nothing to send.
      const n = (this.#malformedFrames.get(conn) ?? 0) + 1;
      this.#malformedFrames.set(conn, n);
      if (n <= 10 || n % 1000 === 0)
        this.logger.warn(
          { agentId: conn.agentId, reason: (err as Error).message, malformedFrames: n },
          'malformed channel frame from an agent; dropped',
        );
      return false;
    }
    const peer = this.#byChannel.get(conn)?.get(frame.channel);
    if (peer instanceof LiveShell || peer instanceof LiveTransfer || peer instanceof RelayedChannel)
      peer.fromAgent(frame, data);
    else return false;
    return true;
  }

  /** An agent reply on a channel; one naming another session than the channel's is ignored. */
  onReply(conn: AgentLink, msg: ChannelReply): void {
    const peer = this.#byChannel.get(conn)?.get(msg.channel);
    if (!peer) return;
    if (peer instanceof LiveTransfer || peer instanceof RelayedChannel) {
      peer.onReply(msg);
      return;
    }
    if (!(peer instanceof LiveShell)) {
      if (msg.sessionId === peer.sessionId) peer.resolve(msg);
      return;
    }
    if (msg.sessionId !== peer.id) return;
    if (msg.type === 'shell.noecho') peer.noEcho(msg.from, msg.to);
    else if (msg.type === 'shell.exit') peer.end({ reason: 'shell exited', exitCode: msg.exitCode });
    else if (msg.type === 'shell.refused') peer.end({ reason: msg.message, exitCode: null, code: msg.code });
  }

  /**
   * The agent socket closed (or the link to its node ended, with that code): every shell and transfer on it ends,
   * every opening is answered with the code.
   */
  onClose(conn: AgentLink, code: ErrorCode = 'OUTPOST_E_AGENT_OFFLINE', reason = 'agent disconnected'): void {
    const map = this.#byChannel.get(conn);
    this.#byChannel.delete(conn);
    for (const peer of map?.values() ?? []) {
      if (peer instanceof LiveShell) peer.end({ reason, exitCode: null, code });
      else if (peer instanceof LiveTransfer) {
        peer.refuseOpen(new OutpostError(code, { message: reason }));
        peer.end({ reason, exitCode: null, code }, false);
      } else if (peer instanceof RelayedChannel) peer.agentGone();
      else peer.resolve({ type: 'shell.refused', channel: 1, sessionId: peer.sessionId, code, message: reason });
    }
  }
}
