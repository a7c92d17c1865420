/**
 * The agents concern owns enrolled agents (public keys only), enrollment tokens (hashes only), the agent WebSocket
 * endpoint with its handshake, live connections and presence. It must never store an agent's private key or a
 * token's secret, and never acknowledge stream data itself (the stream concern does, after committing).
 */
export {
  AgentGateway,
  type AgentLink,
  type ChannelReply,
  type ChannelRouter,
  type GatewayCounters,
  type GatewayLimits,
  type GatewayOptions,
} from './gateway.js';
export { agentsMetrics } from './metrics.js';
export { Presence } from './presence.js';
export { AgentConnection, ConnectionRegistry } from './registry.js';
export { agentsRoutes } from './routes.js';
export { Agents, type AgentsCluster, type AgentsInit, type PublicEnrollmentToken, shortAgentId } from './service.js';
export { type AgentRecord, agentsMigrations } from './store.js';
export { MAX_TAGS_PER_AGENT, TAG_PATTERN, TagName } from './tags.js';
