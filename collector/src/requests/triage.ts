/**
 * Triage of a user's request (docs/0014-requests.md): the client's rules are tried in order, the first whose keyword
 * appears in the text chooses type, criticality and tier; a VIP requester raises the criticality one step, and so
 * does a critical machine (tagged `critical`), each at most to P1. Pure: no I/O, so the rules read and test in one
 * place. The tier-1 technician corrects the outcome with `retriage`.
 */
import type { Criticality, Tier } from '../incidents/index.js';
import type { TriageRule } from './store.js';

/** What a request gets when no rule matches. */
export const DEFAULT_TRIAGE = { type: 'request', criticality: 'P3', tier: 1 } as const;

/** The outcome, with the reasons shown on the ticket. */
export interface Triage {
  type: string;
  criticality: Criticality;
  tier: Tier;
  /** The rule that matched and on which keyword (null: the default). */
  rule: { id: string; keyword: string } | null;
  vipRaised: boolean;
  /** The machine the request came from is tagged critical and raised the criticality. */
  machineRaised: boolean;
}

/** The tag that marks a machine whose users' requests weigh one step more (a server, a reception desk's PC). */
export const CRITICAL_MACHINE_TAG = 'critical';

/** Lower-cased, accents removed, so "Imprimante" matches "imprimante" and "réseau" matches "reseau". */
const fold = (s: string) => s.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();

/** True when `keyword` occurs in `text` as whole words (a keyword "vpn" does not match "vpnless"). */
function mentions(text: string, keyword: string): boolean {
  const k = fold(keyword).trim();
  if (!k) return false;
  const escaped = k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^\\p{L}\\p{N}])${escaped}($|[^\\p{L}\\p{N}])`, 'u').test(text);
}

const STEP_UP: Record<Criticality, Criticality> = { P1: 'P1', P2: 'P1', P3: 'P2', P4: 'P3' };

/** Chooses type, criticality and tier for a request's text, from whom and from which machine it came. */
export function triage(text: string, rules: readonly TriageRule[], vip: boolean, machineCritical = false): Triage {
  const folded = fold(text);
  let out: Triage = { ...DEFAULT_TRIAGE, rule: null, vipRaised: false, machineRaised: false };
  for (const r of rules) {
    const keyword = r.keywords.find((k) => mentions(folded, k));
    if (keyword === undefined) continue;
    out = {
      type: r.type,
      criticality: r.criticality ?? DEFAULT_TRIAGE.criticality,
      tier: r.tier ?? DEFAULT_TRIAGE.tier,
      rule: { id: r.id, keyword },
      vipRaised: false,
      machineRaised: false,
    };
    break;
  }
  if (vip && out.criticality !== 'P1') out = { ...out, criticality: STEP_UP[out.criticality], vipRaised: true };
  if (machineCritical && out.criticality !== 'P1')
    out = { ...out, criticality: STEP_UP[out.criticality], machineRaised: true };
  return out;
}
