/** Builds the signed hello for each connection (enroll or key proof). */
import { type AgentFacts, type AgentHello, PROTOCOL_VERSION, signAuthProof } from '@outpost/shared';
import type { AgentIdentityKeys } from '../identity/index.js';
import { AGENT_VERSION } from '../version.js';

/** The hello for an already enrolled agent. */
export function keyHello(keys: AgentIdentityKeys, agentId: string, facts: AgentFacts, nonce: string): AgentHello {
  return {
    type: 'agent.hello',
    protocolVersion: PROTOCOL_VERSION,
    agentVersion: AGENT_VERSION,
    auth: { method: 'key', agentId, signature: signAuthProof(keys.privateKey, nonce, 'key', agentId) },
    facts,
  };
}

/** The hello that enrolls with a token. */
export function enrollHello(keys: AgentIdentityKeys, token: string, facts: AgentFacts, nonce: string): AgentHello {
  return {
    type: 'agent.hello',
    protocolVersion: PROTOCOL_VERSION,
    agentVersion: AGENT_VERSION,
    auth: {
      method: 'enroll',
      token,
      publicKey: keys.publicKey,
      signature: signAuthProof(keys.privateKey, nonce, 'enroll', keys.publicKey),
    },
    facts,
  };
}
