/**
 * The composition root's part for several collector nodes (docs/0017-nodes.md): what each concern is handed to reach
 * agents and sessions on other nodes, and which bus invalidations each concern reacts to.
 */
import { OutpostError } from '@outpost/shared';
import type { AgentsInit, ConnectionRegistry } from './agents/index.js';
import type { AuthService } from './auth/index.js';
import { type AgentReach, bridgeAgents, type NodeBusHandle } from './cluster/index.js';
import type { CollectorConfig } from './config.js';
import type { PolicyAdmin } from './detection/index.js';
import type { LiveEvent, LiveHub } from './live/index.js';
import type { Sessions, SessionsInit } from './sessions/index.js';

/** Presence on every node and revocations told to every node, when other nodes exist (the registry alone on one). */
export function agentsCluster(node: NodeBusHandle, reach: AgentReach): Pick<AgentsInit, 'cluster'> {
  if (!node.clustered) return {};
  return {
    cluster: {
      online: (id) => reach.online(id),
      onlineIds: () => reach.onlineIds(),
      revoked: (id) => node.bus.invalidate('revocation', id),
    },
  };
}

/** The sessions' way to a relayed stream when other nodes exist (nothing on one node). */
export function sessionsCluster(node: NodeBusHandle): Pick<SessionsInit, 'cluster'> {
  if (!node.clustered) return {};
  return {
    cluster: {
      open: (agentId, kind) =>
        node.bus.openStream(agentId, kind).catch((err: unknown) => {
          if (err instanceof OutpostError && err.code === 'OUTPOST_E_AGENT_OFFLINE') return undefined;
          throw err;
        }),
      liveNodes: (signal) => node.bus.liveNodes(signal),
    },
  };
}

/**
 * What crosses collector nodes (docs/0017-nodes.md): agents held here answer the bus, sessions opened on another node
 * are relayed to their socket, and a revocation, a user's lost access or a policy change made on any node takes effect
 * on this one at once. On one node (no `cluster`) the bus is in process and these subscriptions never fire.
 */
export function connectNodes(
  config: CollectorConfig,
  c: {
    node: NodeBusHandle;
    registry: ConnectionRegistry;
    sessions: Sessions;
    auth: AuthService;
    policyAdmin: PolicyAdmin;
  },
): void {
  const { logger } = config;
  const { node, registry, sessions, auth, policyAdmin } = c;
  const { bus } = node;
  bridgeAgents(bus, registry, (conn, stream) => sessions.acceptRelayed(conn, stream));
  if (!node.clustered) return;
  bus.onInvalidation('revocation', (agentId) =>
    registry.get(agentId)?.closeWith(new OutpostError('OUTPOST_E_AGENT_REVOKED')),
  );
  auth.credentials.onAccessEnded((userId) => bus.invalidate('permission', userId));
  bus.onInvalidation('permission', (userId, origin) => {
    if (origin !== bus.nodeId) sessions.endForUser(userId, 'user access changed on another node');
  });
  bus.onInvalidation('policy', (_key, origin) => {
    if (origin === bus.nodeId) return;
    policyAdmin.load().catch((err: unknown) => logger.error({ err }, 'detection policies not reloaded'));
  });
}

/**
 * The console's live stream across nodes: a change seen here goes to this node's browsers and, when other nodes
 * exist, on the bus to theirs; another node's changes go to this node's browsers. Each viewer's client scope is
 * checked by the hub of the node it is connected to, for another node's changes exactly as for its own. An agent that
 * left a node while it is online on another (it moved) is not announced offline: the node it moved to announced it
 * online, and a late offline from the old node would leave every console showing it offline.
 */
export function liveAcrossNodes(node: NodeBusHandle, hub: LiveHub, reach: AgentReach): (event: LiveEvent) => void {
  if (!node.clustered) return (event) => hub.publish(event);
  const { bus } = node;
  const moved = (e: LiveEvent, origin: string) =>
    e.type === 'agent.presence' &&
    e.status === 'offline' &&
    reach.online(e.agentId) &&
    bus.presence.nodeOf(e.agentId) !== origin;
  bus.onLive((event, origin) => {
    if (!moved(event, origin)) hub.publish(event);
  });
  return (event) => {
    if (moved(event, bus.nodeId)) return;
    hub.publish(event);
    bus.publishLive(event);
  };
}
