/**
 * The config concern owns the agent's configuration file and default paths. It must never hold the private key
 * (identity does) nor open a connection.
 */
export { type AgentConfig, AgentConfigSchema, defaultPaths, readAgentConfig, writeAgentConfig } from './config.js';
