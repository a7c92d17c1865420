/** The agent's release version, sent in every hello. */
export const AGENT_VERSION = '0.1.0';
