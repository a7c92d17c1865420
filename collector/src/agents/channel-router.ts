/** The seam between the agent endpoint and the sessions concern: channel replies and the router that takes them. */
import type { AgentMessage } from '@outpost/shared';
import type { AgentConnection } from './registry.js';

/** Agent replies the channel router handles (shell sessions and file transfers, docs/0007-shell.md). */
export type ChannelReply = Extract<
  AgentMessage,
  { type: 'shell.opened' | 'shell.refused' | 'shell.exit' | 'shell.noecho' | 'file.opened' | 'file.done' }
>;

/**
 * What a channel's owner (a shell, a transfer) needs of the agent's end: its id, control messages and binary frames.
 * An `AgentConnection` (the socket on this node) is one; a link relayed to the node holding the socket is another.
 */
export type AgentLink = Pick<AgentConnection, 'agentId' | 'send' | 'sendFrame'>;

/** Where binary channel frames and channel replies go; set by the sessions concern. */
export interface ChannelRouter {
  /** The collector's session-ticket public key, announced in every welcome. */
  readonly sessionKey: string;
  /** Routes one frame; false when no open channel took it (malformed, or a channel nobody opened). */
  onFrame(conn: AgentConnection, data: Buffer): boolean;
  onReply(conn: AgentConnection, msg: ChannelReply): void;
  onClose(conn: AgentConnection): void;
}
