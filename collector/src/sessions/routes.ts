/**
 * Routes of the sessions concern: the technician sockets (in `socket-routes.ts`), the session list, one session
 * and the recording download.
 */
import { createGunzip } from 'node:zlib';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { OutpostError } from '@outpost/shared';
import { Type } from '@sinclair/typebox';
import { type Action, actorOf, clientScope } from '../auth/index.js';
import { errorResponses, Limit } from '../http/schemas.js';
import type { App } from '../http/types.js';
import { KIND_ACTIONS, sessionAction } from './access.js';
import { SessionList, SessionView } from './api.js';
import { filesRoute, IdParams, joinRoute, shellRoute } from './socket-routes.js';
import { type SessionsRouteDeps, socketTools } from './socket-tools.js';
import type { SessionKindKey, SessionRecord, SessionScopes } from './store.js';

export { sessionAction } from './access.js';

/** The sessions routes plugin. */
export function sessionsRoutes(deps: SessionsRouteDeps): FastifyPluginAsyncTypebox {
  const tools = socketTools(deps);
  return async (app) => {
    shellRoute(app, deps, tools);
    filesRoute(app, deps, tools);
    joinRoute(app, deps, tools);
    recordRoutes(app, deps);
  };
}

/** The session list, one session, and its recording: each seen with the permission the session needed. */
function recordRoutes(app: App, deps: SessionsRouteDeps): void {
  const { sessions, guard } = deps;
  const view = (r: SessionRecord) => ({ ...r, live: sessions.live.has(r.id) || sessions.transfers.has(r.id) });

  app.get(
    '/api/v1/sessions',
    {
      schema: {
        querystring: Type.Object(
          { agentId: Type.Optional(Type.String({ maxLength: 64 })), limit: Limit },
          { additionalProperties: false },
        ),
        response: { 200: SessionList, ...errorResponses },
      },
    },
    async (req) => {
      const actor = actorOf(req);
      const scopes: SessionScopes = {};
      for (const [kind, action] of Object.entries(KIND_ACTIONS) as [SessionKindKey, Action][]) {
        const scope = clientScope(actor, action);
        if (scope === 'all') scopes[kind] = undefined;
        else if (scope.length > 0) scopes[kind] = scope;
      }
      // Someone who may open no kind of session anywhere is refused (403, audited), not shown an empty list.
      if (Object.keys(scopes).length === 0) await guard.scope(req, 'shell', 'session');
      const rows = await sessions.store.list({ scopes, agentId: req.query.agentId, limit: req.query.limit });
      return { sessions: rows.map(view) };
    },
  );

  app.get(
    '/api/v1/sessions/:id',
    { schema: { params: IdParams, response: { 200: SessionView, ...errorResponses } } },
    async (req) => {
      const rec = await sessions.store.get(req.params.id);
      if (!rec) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No session ${req.params.id}` });
      await guard(req, sessionAction(rec), { type: 'session', id: rec.id, clientId: rec.clientId });
      return view(rec);
    },
  );

  app.get(
    '/api/v1/sessions/:id/recording',
    {
      schema: {
        params: IdParams,
        querystring: Type.Object({ gzip: Type.Boolean({ default: false }) }, { additionalProperties: false }),
        response: {
          200: Type.String({ description: 'asciicast v2 (newline-delimited JSON), or gzip of it' }),
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const rec = await sessions.store.get(req.params.id);
      if (!rec) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No session ${req.params.id}` });
      await guard(req, sessionAction(rec), { type: 'session', id: rec.id, clientId: rec.clientId });
      if (!rec.recordingFile || rec.recordingStatus === 'recording' || rec.recordingStatus === 'none')
        throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `Session ${rec.id} has no finished recording` });
      const file = await sessions.openRecording(rec.recordingFile);
      reply.header('content-disposition', `attachment; filename="${rec.id}.cast${req.query.gzip ? '.gz' : ''}"`);
      if (req.query.gzip) return reply.type('application/gzip').send(file as never);
      return reply.type('application/x-asciicast').send(file.pipe(createGunzip()) as never);
    },
  );
}
