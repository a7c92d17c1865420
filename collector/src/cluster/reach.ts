/**
 * How every concern reaches an agent wherever its socket is: `send` hands a control message to the local socket when
 * the agent is connected here, else to the node holding it (the bus's `agent.send`); `online` answers from the local
 * registry first, then from the bus's presence view (every node's agents). One place, so no concern calls
 * `registry.get(…)?.send` and silently misses an agent held by another node (docs/0017-nodes.md).
 */
import { type CollectorMessage, OutpostError } from '@outpost/shared';
import type { Logger } from 'pino';
import type { ConnectionRegistry } from '../agents/index.js';
import { sendToAgent } from './agents-bridge.js';
import type { NodeBus } from './bus.js';

/** Sending to and asking about agents across nodes. */
export class AgentReach {
  constructor(
    private readonly bus: NodeBus,
    private readonly registry: ConnectionRegistry,
    private readonly logger: Logger,
  ) {}

  /**
   * Sends a control message; true when a socket (here or on another node) took it. `openOnly` refuses a local
   * connection that is closing (jobs count a refusal as "not delivered" and retry at the next hello). Never throws:
   * an agent offline everywhere, or a node that did not answer, is `false` (logged when it is not plain "offline").
   */
  async send(agentId: string, msg: CollectorMessage, openOnly = true): Promise<boolean> {
    const local = this.registry.get(agentId);
    if (local && (local.open || !openOnly)) {
      local.send(msg);
      return true;
    }
    try {
      await sendToAgent(this.bus, this.registry, agentId, msg);
      return true;
    } catch (err) {
      const code = err instanceof OutpostError ? err.code : 'OUTPOST_E_INTERNAL';
      if (code !== 'OUTPOST_E_AGENT_OFFLINE')
        this.logger.warn({ agentId, type: msg.type, code, err }, 'message to an agent on another node not delivered');
      return false;
    }
  }

  /** True when the agent has a live socket on this node or, as presence last heard, on another. */
  online(agentId: string): boolean {
    if (this.registry.get(agentId)?.open) return true;
    const node = this.bus.presence.nodeOf(agentId);
    // This node's own announcements come back too: one that names this node but is not in the registry is stale.
    return node !== undefined && node !== this.bus.nodeId;
  }

  /** Agents with a live socket on any node (this node's from its registry, the others' from presence). */
  onlineIds(): string[] {
    const ids = new Set<string>();
    for (const c of this.registry.values()) if (c.open) ids.add(c.agentId);
    for (const id of this.bus.presence.agentIds()) if (this.bus.presence.nodeOf(id) !== this.bus.nodeId) ids.add(id);
    return [...ids];
  }
}
