/**
 * Which node holds which agent, as this node has heard it on the bus: changes as they happen, node heartbeats, and
 * expiry — a node not heard from for `nodeTtlMs` (SIGKILLed, partitioned) loses every agent it held, so the fleet
 * view shows them offline within seconds instead of for ever. The routing of commands does not depend on this view
 * (a command goes to the agent's own subject, answered by whoever subscribes); the view is for lists and counts.
 */
import type { Heartbeat, PresenceChange } from './wire.js';

interface NodeState {
  lastSeen: number;
  agents: Set<string>;
  /** Agents the node says it holds (from its heartbeat). */
  announced: number;
}

/** The presence map, fed by the bus, read by whoever needs to know where an agent is. */
export class PresenceView {
  readonly #byAgent = new Map<string, { node: string; at: number }>();
  readonly #nodes = new Map<string, NodeState>();
  readonly #onLost: ((node: string, agents: string[]) => void)[] = [];

  constructor(private readonly nodeTtlMs: number) {}

  /** Calls `fn` when a node expires, with the agents it held. */
  onNodeLost(fn: (node: string, agents: string[]) => void): void {
    this.#onLost.push(fn);
  }

  #node(id: string, now: number): NodeState {
    let n = this.#nodes.get(id);
    if (!n) {
      n = { lastSeen: now, agents: new Set(), announced: 0 };
      this.#nodes.set(id, n);
    }
    return n;
  }

  heartbeat(hb: Heartbeat, now: number): void {
    const n = this.#node(hb.node, now);
    n.lastSeen = now;
    n.announced = hb.agents;
  }

  /**
   * Applies a change. An agent online on a node replaces an older entry elsewhere (it moved); an offline from a node
   * that no longer holds it (it already moved on) changes nothing.
   */
  change(c: PresenceChange, now: number): void {
    const n = this.#node(c.node, now);
    n.lastSeen = now;
    for (const agentId of c.agentIds) {
      const cur = this.#byAgent.get(agentId);
      if (c.online) {
        if (cur && cur.node !== c.node) {
          if (cur.at > c.at) continue; // a stale announcement: the agent moved there after this one was sent
          this.#nodes.get(cur.node)?.agents.delete(agentId);
        }
        this.#byAgent.set(agentId, { node: c.node, at: c.at });
        n.agents.add(agentId);
      } else if (cur?.node === c.node) {
        this.#byAgent.delete(agentId);
        n.agents.delete(agentId);
      }
    }
  }

  /** Drops nodes not heard from within the TTL; returns their ids. */
  expire(now: number): string[] {
    const lost: string[] = [];
    for (const [id, n] of this.#nodes) {
      if (now - n.lastSeen <= this.nodeTtlMs) continue;
      this.#nodes.delete(id);
      const agents = [...n.agents];
      for (const a of agents) if (this.#byAgent.get(a)?.node === id) this.#byAgent.delete(a);
      lost.push(id);
      for (const fn of this.#onLost) fn(id, agents);
    }
    return lost;
  }

  /** The node holding the agent, as last heard. */
  nodeOf(agentId: string): string | undefined {
    return this.#byAgent.get(agentId)?.node;
  }

  /** Every agent this view places on some node. */
  agentIds(): IterableIterator<string> {
    return this.#byAgent.keys();
  }

  /** Live nodes with the agents this view places on each and the count each announced. */
  nodes(): { node: string; agents: number; announced: number; lastSeen: number }[] {
    return [...this.#nodes].map(([node, n]) => ({
      node,
      agents: n.agents.size,
      announced: n.announced,
      lastSeen: n.lastSeen,
    }));
  }

  /** Agents this view places anywhere. */
  get size(): number {
    return this.#byAgent.size;
  }
}
