/**
 * Which machines a job's target names: listed agents, a site, a client, a tag, or a fleet query (security updates pending for
 * more than N days), always within the clients the caller may act on. A named agent, site or client outside them is
 * answered as unknown, exactly like one that does not exist.
 */
import { OutpostError } from '@outpost/shared';
import type { JobTarget } from './schemas.js';

/** One machine a job goes to. */
export interface TargetMachine {
  agentId: string;
  clientId: string;
  siteId: string;
}

/** What resolving a target needs from the agents, tenants and inventory concerns. */
export interface TargetDeps {
  agent(
    id: string,
  ): Promise<
    { id: string; clientId: string; siteId: string; revokedAt: number | null; tags: readonly string[] } | undefined
  >;
  /** Agents of a client or site, with a tag when one is given (not revoked). */
  agentsIn(q: {
    clientIds?: readonly string[] | undefined;
    siteId?: string | undefined;
    tag?: string | undefined;
  }): Promise<{ id: string; clientId: string; siteId: string }[]>;
  /** Agents with a security update pending for more than `days` in the stored inventory. */
  securityPatchesOlderThan(
    q: { clientIds?: readonly string[] | undefined; siteId?: string | undefined },
    days: number,
  ): Promise<string[]>;
  siteClient(siteId: string): Promise<string | undefined>;
}

/**
 * The machines a target names, within `clients` (the clients where the caller may run jobs; undefined: all).
 * A named agent, site or client outside them is answered as unknown.
 */
export async function resolveTargets(
  deps: TargetDeps,
  target: JobTarget,
  clients: readonly string[] | undefined,
): Promise<TargetMachine[]> {
  const allowed = (clientId: string) => clients === undefined || clients.includes(clientId);
  const unknown = (what: string) => new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No ${what}` });
  if (target.clientId !== undefined && !allowed(target.clientId)) throw unknown(`client ${target.clientId}`);
  if (target.siteId !== undefined) {
    const c = await deps.siteClient(target.siteId);
    if (!c || !allowed(c)) throw unknown(`site ${target.siteId}`);
  }
  const scope = {
    clientIds: target.clientId !== undefined ? [target.clientId] : clients,
    siteId: target.siteId,
  };
  let found: TargetMachine[];
  if (target.agentIds) {
    found = [];
    for (const id of target.agentIds) {
      const a = await deps.agent(id);
      if (!a || !allowed(a.clientId)) throw unknown(`agent ${id}`);
      if (a.revokedAt !== null) continue;
      if (scope.siteId !== undefined && a.siteId !== scope.siteId) continue;
      if (target.clientId !== undefined && a.clientId !== target.clientId) continue;
      if (target.tag !== undefined && !a.tags.includes(target.tag)) continue;
      found.push({ agentId: a.id, clientId: a.clientId, siteId: a.siteId });
    }
  } else if (
    target.siteId !== undefined ||
    target.clientId !== undefined ||
    target.tag !== undefined ||
    target.securityPatchesOlderThanDays !== undefined
  ) {
    found = (await deps.agentsIn({ ...scope, tag: target.tag })).map((a) => ({
      agentId: a.id,
      clientId: a.clientId,
      siteId: a.siteId,
    }));
  } else {
    throw new OutpostError('OUTPOST_E_BAD_REQUEST', {
      message: 'A job needs a target: agentIds, siteId, clientId, tag or securityPatchesOlderThanDays',
      details: { field: 'target' },
    });
  }
  if (target.securityPatchesOlderThanDays !== undefined) {
    const hit = new Set(await deps.securityPatchesOlderThan(scope, target.securityPatchesOlderThanDays));
    found = found.filter((t) => hit.has(t.agentId));
  }
  return found;
}
