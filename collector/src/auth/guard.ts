/** The request-level authorisation step every route calls: `authorize`, plus an audit row when it refuses. */
import { OutpostError } from '@outpost/shared';
import type { FastifyRequest } from 'fastify';
import type { AuditLog } from '../audit/index.js';
import { type Action, type Actor, authorize, clientScope, notFound, type Resource, sees } from './permissions.js';
import { actorRef } from './service.js';

/** Returns the request's actor (authentication guarantees one on non-public routes). */
export function actorOf(request: FastifyRequest): Actor {
  if (!request.actor) throw new OutpostError('OUTPOST_E_UNAUTHENTICATED');
  return request.actor;
}

/** Builds the guard bound to the audit log. */
export function createGuard(audit: AuditLog) {
  /**
   * Authorises the request's actor for `action` on `resource`; a refusal is audited. The answer is 403 when the
   * actor may see the resource's client but not do this there, and exactly what an unknown id gets (404,
   * `notFound`) when it may not see that client at all: what a user may not see does not exist.
   */
  async function guard(request: FastifyRequest, action: Action, resource: Resource): Promise<Actor> {
    const actor = actorOf(request);
    try {
      authorize(actor, action, resource);
    } catch (err) {
      const hidden = !sees(actor, resource.clientId);
      await audit.record({
        type: action,
        code: 'OUTPOST_E_FORBIDDEN',
        result: 'denied',
        actor: actorRef(actor),
        clientId: resource.clientId,
        agentId: resource.type === 'agent' ? (resource.id ?? null) : null,
        resource: `${resource.type}${resource.id ? `:${resource.id}` : ''}`,
        remoteIp: request.ip,
        ...(hidden ? { details: { answered: 'OUTPOST_E_NOT_FOUND' } } : {}),
      });
      throw hidden ? notFound(resource) : err;
    }
    return actor;
  }

  /**
   * For a resource named inside a request (a body's `channelId`, a user to assign): true when the actor may see
   * its client. A route treats a resource it may not see exactly as an unknown id.
   */
  guard.sees = (request: FastifyRequest, clientId: string | null): boolean => sees(actorOf(request), clientId);

  /**
   * For list routes: the clients whose resources the actor may see with `action` (undefined: all of them).
   * An actor who may see none is refused (403, audited) rather than shown an empty list.
   */
  guard.scope = async (
    request: FastifyRequest,
    action: Action,
    type: string,
  ): Promise<readonly string[] | undefined> => {
    const scope = clientScope(actorOf(request), action);
    if (scope === 'all') return undefined;
    if (scope.length === 0) await guard(request, action, { type, clientId: null });
    return scope;
  };
  return guard;
}

/** The guard function type. */
export type Guard = ReturnType<typeof createGuard>;
