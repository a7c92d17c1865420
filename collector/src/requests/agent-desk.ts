/**
 * The workstation's side of requests on the collector (docs/0014-requests.md): `request.file` messages from the
 * reliable stream become tickets (once per agent reference, however often the stream resends them), the agent is
 * told the ticket number, and `request.query` is answered with the ticket's status. The agent proved the OS user;
 * the collector still treats every string as hostile text.
 */
import type { RequestFile, RequestQuery, RequestState } from '@outpost/shared';
import type { Logger } from 'pino';
import type { Incident } from '../incidents/index.js';
import type { SinkReactions } from '../stream/index.js';
import { agentOrigin, type Requests } from './service.js';

/** What the desk needs besides the requests service. */
export interface AgentDeskDeps {
  requests: Requests;
  incident(id: string): Promise<Incident | undefined>;
  agentClient(agentId: string): Promise<string | undefined>;
  /** Sends to the agent if it is connected (dropped otherwise: the agent asks again). */
  send(agentId: string, msg: RequestState): void;
  logger: Logger;
}

const ticketOf = (i: Incident): NonNullable<RequestState['ticket']> => ({
  id: i.id,
  status: i.status,
  title: i.title.slice(0, 300),
  updatedAt: i.updatedAt,
});

/** The stream sink for `request.file`: files each request, then tells the agent its ticket. */
export function agentRequestSink(d: AgentDeskDeps) {
  return async (
    items: { agentId: string; msg: RequestFile }[],
    _now: number,
    reactions: SinkReactions,
  ): Promise<void> => {
    for (const { agentId, msg } of items) {
      try {
        const clientId = await d.agentClient(agentId);
        if (!clientId) throw new Error(`unknown agent ${agentId}`);
        const { incident } = await d.requests.file({
          clientId,
          channel: 'agent',
          origin: agentOrigin(agentId, msg.ref),
          text: msg.text,
          requester: { name: msg.user.name, handle: `login:${msg.user.name}` },
          agentId,
          osUser: msg.user.name,
          snapshot: { ...msg.snapshot, takenAt: msg.time },
        });
        // Told once the request is durable: a ticket number the agent shows must not vanish with a rolled-back batch.
        const state: RequestState = { type: 'request.state', ref: msg.ref, ticket: ticketOf(incident) };
        reactions.afterCommit(() => d.send(agentId, state));
      } catch (err) {
        // A request that cannot be filed must not stall the agent's stream behind it (the sink would be retried for
        // ever): it is logged with what identifies it, and the user's status query answers "no ticket".
        d.logger.error({ err, agentId, ref: msg.ref, seq: msg.seq }, 'request from a workstation not filed');
      }
    }
  };
}

/** Answers `request.query`: the ticket filed from this machine under the reference (never another machine's). */
export function agentRequestDesk(d: AgentDeskDeps) {
  return (conn: { agentId: string }, msg: RequestQuery): void => {
    void (async () => {
      const req = await d.requests.fromAgent(conn.agentId, msg.ref);
      const inc = req && (await d.incident(req.incidentId));
      d.send(conn.agentId, { type: 'request.state', id: msg.id, ref: msg.ref, ticket: inc ? ticketOf(inc) : null });
    })().catch((err: unknown) => d.logger.error({ err, agentId: conn.agentId }, 'request status query failed'));
  };
}
