/** Triage alone (pure): keyword rules in order, whole words with accents and case folded, VIP and machine step-ups. */
import { describe, expect, it } from 'vitest';
import type { TriageRule } from './store.js';
import { triage } from './triage.js';

const rule = (id: string, keywords: string[], extra: Partial<TriageRule> = {}): TriageRule => ({
  id,
  clientId: 'cl_a',
  position: 0,
  keywords,
  type: id,
  criticality: null,
  tier: null,
  createdAt: 0,
  ...extra,
});

const rules = [
  rule('printer', ['imprimante', 'printer'], { criticality: 'P4' }),
  rule('network', ['vpn', 'réseau'], { criticality: 'P2', tier: 2 }),
];

describe('triage', () => {
  it('takes the first rule with a keyword as a whole word, accents and case folded', () => {
    expect(triage("L'IMPRIMANTE ne répond plus", rules, false)).toMatchObject({
      type: 'printer',
      criticality: 'P4',
      rule: { id: 'printer', keyword: 'imprimante' },
    });
    expect(triage('Le reseau et le VPN', rules, false)).toMatchObject({ type: 'network', tier: 2 });
    expect(triage('vpnless laptop', rules, false)).toMatchObject({ type: 'request', criticality: 'P3', rule: null });
  });

  it('raises one step for a VIP and one for a critical machine, never past P1', () => {
    expect(triage('printer', rules, true)).toMatchObject({ criticality: 'P3', vipRaised: true, machineRaised: false });
    expect(triage('printer', rules, false, true)).toMatchObject({ criticality: 'P3', machineRaised: true });
    expect(triage('printer', rules, true, true)).toMatchObject({
      criticality: 'P2',
      vipRaised: true,
      machineRaised: true,
    });
    expect(triage('vpn', rules, true, true)).toMatchObject({
      criticality: 'P1',
      vipRaised: true,
      machineRaised: false,
    });
  });
});
