/**
 * A technician's incident (opened by hand, or from a user's request): what it carries and the checks made before
 * anything is written, every reference within its client and one criticality, given or derived.
 */
import { OutpostError } from '@outpost/shared';
import { type Channel, priorityOf } from './model.js';
import type { Criticality, Tier } from './signal.js';

/** A technician's incident (someone called about a fault). */
export interface ManualIncident {
  clientId: string;
  siteId: string;
  agentIds?: string[] | undefined;
  title: string;
  explanation?: string | undefined;
  type: string;
  /** Either a criticality, or impact and urgency (1 high … 3 low) from which it is derived. */
  criticality?: Criticality | undefined;
  impact?: number | undefined;
  urgency?: number | undefined;
  tier?: Tier | undefined;
  /** When the fault started, if known (default: now). */
  failureTime?: number | undefined;
  /** How it reached the desk (default: a technician opened it); users' requests name their channel. */
  channel?: Exclude<Channel, 'detection'> | undefined;
}

/** What incidents need to check references (wired in app.ts). */
export interface IncidentDeps {
  siteClient(siteId: string): Promise<string | undefined>;
  agentPlace(agentId: string): Promise<{ clientId: string; siteId: string } | undefined>;
  /** The user if they may be named on a ticket of the client (`AuthService.memberOf`): else like an unknown id. */
  member(userId: string, clientId: string): Promise<{ email: string } | undefined>;
}

/** A coded 400 naming the field at fault. */
export const bad = (message: string, field: string) =>
  new OutpostError('OUTPOST_E_BAD_REQUEST', { message, details: { field } });

/** Checks a manual incident's site and machines belong to its client, and returns its criticality. */
export async function checkManual(deps: IncidentDeps, m: ManualIncident): Promise<Criticality> {
  if ((await deps.siteClient(m.siteId)) !== m.clientId)
    throw new OutpostError('OUTPOST_E_NOT_FOUND', {
      message: `No site ${m.siteId} for client ${m.clientId}`,
      details: { field: 'siteId' },
    });
  for (const a of m.agentIds ?? []) {
    const place = await deps.agentPlace(a);
    if (!place || place.clientId !== m.clientId)
      throw bad(`Agent ${a} is not a machine of client ${m.clientId}`, 'agentIds');
  }
  let criticality = m.criticality;
  if (m.impact !== undefined || m.urgency !== undefined) {
    if (m.impact === undefined || m.urgency === undefined) throw bad('Give both impact and urgency', 'impact');
    const derived = priorityOf(m.impact, m.urgency);
    if (criticality && criticality !== derived)
      throw bad(`Impact ${m.impact} × urgency ${m.urgency} is ${derived}, not ${criticality}`, 'criticality');
    criticality = derived;
  }
  if (!criticality) throw bad('Give a criticality, or impact and urgency', 'criticality');
  return criticality;
}
