/**
 * @outpost/agent — the endpoint agent. Concerns: config, identity, facts, connection, outbox, runtime.
 * It must never import the collector; everything it shares with it comes from @outpost/shared.
 */
export { type AgentConfig, readAgentConfig } from './config/index.js';
export { agentEndpointUrl, backoffDelay, ConnectionManager, dial, Session } from './connection/index.js';
export { collectFacts } from './facts/index.js';
export { loadOrCreateKey } from './identity/index.js';
export * as install from './install/index.js';
export * as inventory from './inventory/index.js';
export { enrollHello, keyHello } from './runtime/hello.js';
export { AgentRuntime, enroll, enrollFromRegistry, parseRegQuery, type RegistryAccess } from './runtime/index.js';
export { AGENT_VERSION } from './version.js';
