/** The scope of an inventory read (a fleet query, a report): checked against the caller's roles. */
import { OutpostError } from '@outpost/shared';
import type { FastifyRequest } from 'fastify';
import type { Guard } from '../auth/index.js';
import type { Scope } from './queries.js';

/** The client or site asked for (checked), else every client the caller may read. */
export async function fleetScope(
  guard: Guard,
  clientOfSite: (siteId: string) => Promise<string | undefined>,
  req: FastifyRequest,
  q: { clientId?: string | undefined; siteId?: string | undefined },
): Promise<Scope> {
  if (q.siteId) {
    const clientId = await clientOfSite(q.siteId);
    if (!clientId) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No site ${q.siteId}` });
    await guard(req, 'agent.read', { type: 'site', id: q.siteId, clientId });
    return { clientIds: [clientId], siteId: q.siteId };
  }
  if (q.clientId) {
    await guard(req, 'agent.read', { type: 'client', id: q.clientId, clientId: q.clientId });
    return { clientIds: [q.clientId] };
  }
  return { clientIds: await guard.scope(req, 'agent.read', 'agent') };
}
