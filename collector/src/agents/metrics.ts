/** The agents concern's Prometheus families: live sockets, handshakes, enrollments, frames, closes, pong timeouts. */
import type { MetricFamily } from '../observability/index.js';
import type { AgentGateway } from './gateway.js';
import type { Presence } from './presence.js';
import type { ConnectionRegistry } from './registry.js';

/** Read at scrape time from the gateway's and presence's own counters. */
export function agentsMetrics(parts: {
  registry: ConnectionRegistry;
  gateway: AgentGateway;
  presence: Presence;
}): MetricFamily[] {
  const { registry, gateway, presence } = parts;
  return [
    {
      name: 'outpost_agents_connected',
      help: 'Agents with a live, authenticated socket',
      type: 'gauge',
      read: () => registry.size,
    },
    {
      name: 'outpost_agents_capacity',
      help: 'Agents this node may hold: limits.maxAgents, within its open-files limit',
      type: 'gauge',
      read: () => gateway.capacity,
    },
    {
      name: 'outpost_agents_refused_full_total',
      help: 'Agent sockets refused (4503 OUTPOST_E_UNAVAILABLE, retry later) because the node held all it may',
      type: 'counter',
      read: () => gateway.counters.refusedFull,
    },
    {
      name: 'outpost_agent_handshakes_total',
      help: 'Agent handshakes completed',
      type: 'counter',
      read: () => gateway.counters.handshakes,
    },
    {
      name: 'outpost_agent_enrollments_total',
      help: 'Agents enrolled',
      type: 'counter',
      read: () => gateway.counters.enrollments,
    },
    {
      name: 'outpost_agent_messages_total',
      help: 'Frames received from agents',
      type: 'counter',
      read: () => gateway.counters.messages,
    },
    {
      name: 'outpost_agent_socket_closes_total',
      help: 'Agent sockets closed, by close code',
      type: 'counter',
      label: 'code',
      read: () => gateway.counters.closesByCode,
    },
    {
      name: 'outpost_agent_pong_timeouts_total',
      help: 'Agent sockets terminated for a missed pong',
      type: 'counter',
      read: () => presence.pongTimeouts,
    },
  ];
}
