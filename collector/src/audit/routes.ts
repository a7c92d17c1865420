/** Route of the audit concern: read the log, scoped to the clients the caller may audit. */

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Guard } from '../auth/index.js';
import { errorResponses, Limit, NullableString } from '../http/schemas.js';
import type { AuditLog } from './audit.js';

const AuditEventSchema = Type.Object({
  index: Type.Integer(),
  time: Type.Integer(),
  type: Type.String(),
  code: Type.String(),
  result: Type.String(),
  actor: Type.Object({ kind: Type.String(), id: NullableString, name: NullableString }),
  clientId: NullableString,
  agentId: NullableString,
  sessionId: NullableString,
  resource: NullableString,
  remoteIp: NullableString,
  details: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
});

/** The audit routes plugin. */
export function auditRoutes(deps: { audit: AuditLog; guard: Guard }): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/api/v1/audit',
      {
        schema: {
          querystring: Type.Object(
            {
              limit: Limit,
              agentId: Type.Optional(Type.String({ maxLength: 64 })),
              type: Type.Optional(Type.String({ maxLength: 64 })),
              since: Type.Optional(Type.Integer({ minimum: 0 })),
              before: Type.Optional(Type.Integer({ minimum: 1 })),
            },
            { additionalProperties: false },
          ),
          response: { 200: Type.Object({ events: Type.Array(AuditEventSchema) }), ...errorResponses },
        },
      },
      async (req) => {
        const events = await deps.audit.list({
          clientIds: await deps.guard.scope(req, 'audit.read', 'audit'),
          agentId: req.query.agentId,
          type: req.query.type,
          since: req.query.since,
          beforeIndex: req.query.before,
          limit: req.query.limit,
        });
        return { events };
      },
    );
  };
}
