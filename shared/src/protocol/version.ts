/** The agent⇄collector protocol version spoken by this build. A collector accepts agents one major behind. */
export const PROTOCOL_VERSION = 1;
/** The oldest protocol version a collector of this build still serves. */
export const MIN_PROTOCOL_VERSION = Math.max(1, PROTOCOL_VERSION - 1);
/** The path of the agent WebSocket endpoint. */
export const AGENT_WS_PATH = '/v1/agent';
