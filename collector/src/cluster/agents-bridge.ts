/**
 * The seam between this node's live agent sockets (the agents concern's ConnectionRegistry) and the node bus: an
 * agent connected here is held on the bus (its commands come here), released when its socket closes, and closed as
 * replaced when it reconnects to another node. `sendToAgent` is how any concern reaches an agent wherever its socket
 * is. Relayed sessions (`stream.open`) go to `onStream` (the sessions concern), refused when none is given
 * (docs/0017-nodes.md).
 */
import { type CollectorMessage, OutpostError } from '@outpost/shared';
import type { AgentConnection, ConnectionRegistry } from '../agents/index.js';
import type { NodeBus } from './bus.js';
import type { BusStream } from './stream.js';
import type { BusCommand } from './wire.js';

/** Takes a session another node opened to an agent held here (its bytes and control messages on `stream`). */
export type StreamAcceptor = (conn: AgentConnection, stream: BusStream, kind: 'shell' | 'file') => void;

/** Holds every agent connected to this node on the bus, for as long as its socket is registered. */
export function bridgeAgents(bus: NodeBus, registry: ConnectionRegistry, onStream?: StreamAcceptor): void {
  registry.onPresence((conn, online) => {
    if (!online) {
      bus.release(conn.agentId);
      return;
    }
    bus.hold(conn.agentId, {
      handler: async (cmd) => answer(bus, registry, conn.agentId, cmd, onStream),
      onMoved: (toNode) => {
        // Only the connection that was held: a newer one on this node (a quick reconnect) stays.
        if (registry.get(conn.agentId) === conn)
          conn.closeWith(new OutpostError('OUTPOST_E_REPLACED'), `node=${toNode}`);
      },
    });
  });
}

async function answer(
  bus: NodeBus,
  registry: ConnectionRegistry,
  agentId: string,
  cmd: BusCommand,
  onStream: StreamAcceptor | undefined,
) {
  const live: AgentConnection | undefined = registry.get(agentId);
  if (!live?.open) throw new OutpostError('OUTPOST_E_AGENT_OFFLINE');
  switch (cmd.type) {
    case 'agent.where':
      return { connectedAt: live.connectedAt };
    case 'agent.send':
      live.send(cmd.message);
      return { sent: true };
    case 'stream.open': {
      if (!onStream)
        throw new OutpostError('OUTPOST_E_SESSION_REFUSED', {
          message: 'this node relays no sessions; connect to the node holding the agent',
        });
      onStream(live, await bus.acceptStream(cmd.streamId), cmd.kind);
      return { accepted: true };
    }
    default:
      return cmd satisfies never;
  }
}

/**
 * Sends a control message to an agent: on its socket when it is connected here, else through the node holding it.
 * Resolves with the node that sent it; OUTPOST_E_AGENT_OFFLINE when no node holds it.
 */
export async function sendToAgent(
  bus: NodeBus,
  registry: ConnectionRegistry,
  agentId: string,
  message: CollectorMessage,
): Promise<string> {
  const local = registry.get(agentId);
  if (local?.open) {
    local.send(message);
    return bus.nodeId;
  }
  const r = await bus.request(agentId, { type: 'agent.send', message });
  return r.node;
}
