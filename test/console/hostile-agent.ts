/**
 * An agent that lies: it enrolls over the real protocol with facts of its choosing (a hostname that is markup) and
 * reports an inventory whose software names are markup, packed as the real agent packs it. Kept online.
 */
import { inventory as agentInventory } from '@outpost/agent';
import { type AgentFacts, PROTOCOL_VERSION, signAuthProof } from '@outpost/shared';
import { newKeys, RawAgent } from '../support/raw-agent.js';

/** An enrolled raw agent that reports full inventory snapshots of the rows it is given. */
export interface ReportingAgent {
  agentId: string;
  agent: RawAgent;
  /** Sends one full snapshot per probe named (rows as the probe's row schema has them), packed as the agent packs. */
  report(probes: Record<string, Record<string, unknown>[]>): Promise<void>;
}

/** Enrolls with `facts` over the real protocol and stays connected. */
export async function reportingAgent(agentUrl: string, token: string, facts: AgentFacts): Promise<ReportingAgent> {
  const keys = newKeys();
  const a = await RawAgent.connect(agentUrl);
  const nonce = await a.nonce();
  a.sendJson({
    type: 'agent.hello',
    protocolVersion: PROTOCOL_VERSION,
    agentVersion: '1.0.0',
    auth: {
      method: 'enroll',
      token,
      publicKey: keys.publicKey,
      signature: signAuthProof(keys.privateKey, nonce, 'enroll', keys.publicKey),
    },
    facts,
  });
  const welcome = await a.next('collector.welcome');
  let seq = 0;
  let id = 0;
  return {
    agentId: welcome.agentId,
    agent: a,
    async report(probes) {
      const planned = [];
      for (const [name, rows] of Object.entries(probes)) {
        const probe = agentInventory.PROBES.find((p) => p.name === name);
        if (!probe) throw new Error(`no probe ${name}`);
        const result = await agentInventory.runProbe({ probe, collect: async () => rows as never }, {
          now: () => Date.now(),
        } as never);
        if (!result.ok) throw new Error(`${result.code}: ${result.message}`);
        planned.push(agentInventory.planSet(result, undefined, true)!);
      }
      for (const sets of agentInventory.packSets(planned, () => `rep${id++}`))
        a.sendJson({ type: 'inventory.report', seq: ++seq, time: Date.now(), reason: 'initial', sets });
    },
  };
}

/** Enrolls with `facts`, stays connected, and sends one full `installed_software` snapshot of `software`. */
export async function hostileAgent(
  agentUrl: string,
  token: string,
  facts: AgentFacts,
  software: { name: string; version: string; publisher: string }[],
): Promise<{ agentId: string; agent: RawAgent }> {
  const keys = newKeys();
  const a = await RawAgent.connect(agentUrl);
  const nonce = await a.nonce();
  a.sendJson({
    type: 'agent.hello',
    protocolVersion: PROTOCOL_VERSION,
    agentVersion: '1.0.0',
    auth: {
      method: 'enroll',
      token,
      publicKey: keys.publicKey,
      signature: signAuthProof(keys.privateKey, nonce, 'enroll', keys.publicKey),
    },
    facts,
  });
  const welcome = await a.next('collector.welcome');
  const probe = agentInventory.PROBES.find((p) => p.name === 'installed_software')!;
  const rows = software.map((s) => ({
    ...s,
    arch: 'x64',
    install_date: null,
    source: 'registry',
    scope: 'machine',
    location: '',
  }));
  const result = await agentInventory.runProbe({ probe, collect: async () => rows as never }, {
    now: () => Date.now(),
  } as never);
  if (!result.ok) throw new Error(`${result.code}: ${result.message}`);
  const planned = agentInventory.planSet(result, undefined, true)!;
  let id = 0;
  const parts = agentInventory.packSets([planned], () => `hostile${id++}`);
  for (const [i, sets] of parts.entries())
    a.sendJson({ type: 'inventory.report', seq: i + 1, time: Date.now(), reason: 'initial', sets });
  return { agentId: welcome.agentId, agent: a };
}
