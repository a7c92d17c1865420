/**
 * The seam between this node's live agent sockets (the agents concern's ConnectionRegistry) and the node bus: an
 * agent connected here is held on the bus (its commands come here), released when its socket closes, and closed as
 * replaced when it reconnects to another node. `sendToAgent` is how any concern reaches an agent wherever its socket
 * is. Relayed sessions (`stream.open`) are refused until the sessions concern takes them (docs/0017-nodes.md).
 */
import { type CollectorMessage, OutpostError } from '@outpost/shared';
import type { AgentConnection, ConnectionRegistry } from '../agents/index.js';
import type { NodeBus } from './bus.js';
import type { BusCommand } from './wire.js';

/** Holds every agent connected to this node on the bus, for as long as its socket is registered. */
export function bridgeAgents(bus: NodeBus, registry: ConnectionRegistry): void {
  registry.onPresence((conn, online) => {
    if (!online) {
      bus.release(conn.agentId);
      return;
    }
    bus.hold(conn.agentId, {
      handler: async (cmd) => answer(registry, conn.agentId, cmd),
      onMoved: (toNode) => {
        // Only the connection that was held: a newer one on this node (a quick reconnect) stays.
        if (registry.get(conn.agentId) === conn)
          conn.closeWith(new OutpostError('OUTPOST_E_REPLACED'), `node=${toNode}`);
      },
    });
  });
}

async function answer(registry: ConnectionRegistry, agentId: string, cmd: BusCommand) {
  const live: AgentConnection | undefined = registry.get(agentId);
  if (!live?.open) throw new OutpostError('OUTPOST_E_AGENT_OFFLINE');
  switch (cmd.type) {
    case 'agent.where':
      return { connectedAt: live.connectedAt };
    case 'agent.send':
      live.send(cmd.message);
      return { sent: true };
    case 'stream.open':
      throw new OutpostError('OUTPOST_E_SESSION_REFUSED', {
        message: 'sessions relayed between nodes are not wired yet; connect to the node holding the agent',
      });
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
