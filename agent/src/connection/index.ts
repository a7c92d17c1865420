/**
 * The connection concern owns the agent's one outbound WebSocket: certificate pinning, the handshake, the
 * reconnect state machine. It must never decide what to report (the runtime does) nor store anything.
 */
export { backoffDelay, retryAfterMs } from './backoff.js';
export { ConnectionManager, type ConnectionState } from './connection.js';
export { agentEndpointUrl, type CloseInfo, type DialOptions, dial, Session, type SessionMessage } from './dial.js';
