/**
 * @outpost/shared — what the agent and the collector must agree on: protocol messages and their schemas,
 * the binary frame format, the error catalogue, the agent auth proof and certificate fingerprints.
 * It must never hold a helper that only one side uses, and never import the agent or the collector.
 */
export * from './auth-proof.js';
export * from './channel.js';
export * from './cli-output.js';
export * from './errors.js';
export * from './frames.js';
export * from './inventory/index.js';
export * from './protocol/checks.js';
export * from './protocol/common.js';
export * from './protocol/handshake.js';
export * from './protocol/inventory.js';
export * from './protocol/jobs.js';
export * from './protocol/messages.js';
export * from './protocol/metrics.js';
export * from './protocol/presence.js';
export * from './protocol/requests.js';
export * from './protocol/shell.js';
export * from './protocol/stream.js';
export * from './protocol/update.js';
export * from './protocol/version.js';
export * from './releases/layout.js';
export * from './releases/sign.js';
export * from './script-signature.js';
export * from './session-ticket.js';
export * from './tls-pin.js';
export * from './token-bucket.js';
export * from './ws-options.js';
