/** Route of the audit concern: read the log, scoped to the clients the caller may audit. */

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Guard } from '../auth/index.js';
import { errorResponses, Limit } from '../http/schemas.js';
import { AuditEventList } from './api.js';
import type { AuditLog } from './audit.js';

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
          response: { 200: AuditEventList, ...errorResponses },
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
