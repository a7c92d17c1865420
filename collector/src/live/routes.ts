/**
 * GET /api/v1/live: the console's Server-Sent Events stream of presence and incident changes. Authenticated like
 * every API route (the session cookie from a browser); a cookie-authenticated stream must come from the console's
 * origin (a page elsewhere on the same site could otherwise open it with the cookie and read the fleet's presence).
 * SSE rather than a WebSocket: one direction is all the console needs, EventSource reconnects by itself and sends
 * the cookie, and it is plain HTTP through any proxy.
 */

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { OutpostError } from '@outpost/shared';
import type { AuditLog } from '../audit/index.js';
import { actorOf, actorRef, credentialOf, type Guard, originRefusal } from '../auth/index.js';
import { errorResponses } from '../http/schemas.js';
import { SECURITY_HEADERS } from '../web/index.js';
import type { LiveHub } from './hub.js';

/** Bytes a slow browser may leave unread before its stream is closed. */
const MAX_BUFFERED = 256 * 1024;

/** The live stream route plugin. */
export function liveRoutes(deps: {
  hub: LiveHub;
  guard: Guard;
  audit: AuditLog;
  allowedOrigins: readonly string[];
}): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/api/v1/live',
      {
        schema: {
          description:
            'Server-Sent Events: `agent.presence` and `incident.changed` for the clients the caller may see (text/event-stream).',
          response: errorResponses,
        },
      },
      async (req, reply) => {
        const actor = actorOf(req);
        if (credentialOf(req)?.via === 'cookie') {
          const reason = originRefusal(req, deps.allowedOrigins);
          if (reason) {
            await deps.audit.record({
              type: 'live.open',
              code: 'OUTPOST_E_ORIGIN_REFUSED',
              result: 'denied',
              actor: actorRef(actor),
              resource: 'GET /api/v1/live',
              remoteIp: req.ip,
              details: { reason },
            });
            throw new OutpostError('OUTPOST_E_ORIGIN_REFUSED', { message: `Live stream refused: ${reason}` });
          }
        }
        const clients = await deps.guard.scope(req, 'agent.read', 'agent');
        const userId = actor.kind === 'user' ? actor.id : `token:${actor.id}`;
        if (!deps.hub.admits(userId))
          throw new OutpostError('OUTPOST_E_LIVE_LIMIT', { details: { open: deps.hub.countFor(userId) } });
        // The stream outlives this handler: fastify lets go of the reply, the hub writes to the socket.
        reply.hijack();
        const raw = reply.raw;
        raw.writeHead(200, {
          ...SECURITY_HEADERS,
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-store',
          'x-accel-buffering': 'no',
        });
        // The browser retries after 2 s when the stream drops (collector restart).
        raw.write('retry: 2000\n\n');
        const unsubscribe = deps.hub.subscribe({
          userId,
          clients,
          write: (chunk) => {
            if (raw.writableLength > MAX_BUFFERED) return false;
            raw.write(chunk);
            return true;
          },
          end: () => raw.end(),
        });
        req.log.info({ userId, clients: clients?.length ?? 'all' }, 'live stream opened');
        raw.on('close', () => {
          unsubscribe();
          req.log.info({ userId }, 'live stream closed');
        });
      },
    );
  };
}
