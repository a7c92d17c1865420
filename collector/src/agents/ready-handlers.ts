/**
 * What the gateway does with each unsequenced message of a ready agent: one typed handler per message type (the
 * sequenced ones go to the stream ingest). The table is a mapped type over the protocol's agent messages, so a new
 * message type without a handler does not compile; messages reach it already validated by `agentMessages.decode`.
 */
import { type AgentMessage, OutpostError, type SequencedMessage } from '@outpost/shared';
import type { Clock } from '../config.js';
import type { ChannelReply, ChannelRouter } from './channel-router.js';
import type { Presence } from './presence.js';
import type { AgentConnection } from './registry.js';

/** An agent message that is not part of the reliable stream. */
export type UnsequencedMessage = Exclude<AgentMessage, SequencedMessage>;

/** One handler per unsequenced message type; throwing an OutpostError closes the socket with its code. */
export type ReadyHandlers = {
  [K in UnsequencedMessage['type']]: (msg: Extract<UnsequencedMessage, { type: K }>, c: AgentConnection) => void;
};

/** What the handlers need from the gateway. */
export interface ReadyDeps {
  clock: Clock;
  presence: Pick<Presence, 'touch'>;
  /** The sessions concern's router, once it is set. */
  channels(): ChannelRouter | undefined;
  /** The requests concern's answer to `outpost-agent request --status`, once it is set. */
  requestDesk(): RequestDesk | undefined;
}

/** Answers a workstation user's status query about their own request. */
export type RequestDesk = (c: AgentConnection, msg: Extract<UnsequencedMessage, { type: 'request.query' }>) => void;

/** The handler table of a gateway. */
export function readyHandlers(d: ReadyDeps): ReadyHandlers {
  const reply = (msg: ChannelReply, c: AgentConnection) => {
    const router = d.channels();
    if (!router) throw new OutpostError('OUTPOST_E_UNEXPECTED_MESSAGE', { message: `no router for ${msg.type}` });
    router.onReply(c, msg);
  };
  return {
    'agent.heartbeat': (msg, c) => {
      c.lastHeartbeatAt = d.clock.now();
      c.outboxPending = msg.outboxPending;
      d.presence.touch(c.agentId);
    },
    'shell.opened': reply,
    'shell.refused': reply,
    'shell.exit': reply,
    'shell.noecho': reply,
    'file.opened': reply,
    'file.done': reply,
    'request.query': (msg, c) => {
      const desk = d.requestDesk();
      if (!desk) throw new OutpostError('OUTPOST_E_UNEXPECTED_MESSAGE', { message: `no desk for ${msg.type}` });
      desk(c, msg);
    },
    'agent.hello': () => {
      throw new OutpostError('OUTPOST_E_UNEXPECTED_MESSAGE', { message: 'agent.hello after the handshake' });
    },
  };
}

/** Runs the handler of a message's type. */
export function dispatchReady(table: ReadyHandlers, msg: UnsequencedMessage, c: AgentConnection): void {
  // The mapped type pairs each key with its message; indexing by a union loses that pairing, hence the one cast.
  (table[msg.type] as (m: UnsequencedMessage, c: AgentConnection) => void)(msg, c);
}
