/**
 * The identity concern owns the agent's Ed25519 key pair. It must never send or log the private key.
 */
export { type AgentIdentityKeys, keyFileIn, loadOrCreateKey, newKey, saveKey } from './keys.js';
