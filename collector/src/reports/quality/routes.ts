/** `GET /api/v1/reports/quality`: the service-quality report of one client for a period, as HTML, CSV or JSON. */

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { OutpostError } from '@outpost/shared';
import { Type } from '@sinclair/typebox';
import type { AuditLog } from '../../audit/index.js';
import { actorRef, type Guard } from '../../auth/index.js';
import { errorResponses } from '../../http/schemas.js';
import { buildQuality, type QualitySources } from './data.js';
import { renderQualityCsv, renderQualityHtml } from './render.js';
import { QualityReportSchema } from './schema.js';

const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}(T[0-9:.]+Z)?$', maxLength: 30 });
const LONGEST_MS = 366 * 86_400_000;

/** What the route needs. */
export interface QualityRouteDeps {
  sources: QualitySources;
  client(id: string): Promise<{ id: string; name: string } | undefined>;
  guard: Guard;
  audit: AuditLog;
  now(): number;
}

function instant(v: string, field: string): number {
  const t = Date.parse(v.length === 10 ? `${v}T00:00:00Z` : v);
  if (!Number.isFinite(t))
    throw new OutpostError('OUTPOST_E_BAD_REQUEST', { message: `${field} is not a date: ${v}`, details: { field } });
  return t;
}

/** The route plugin. */
export function qualityRoutes(deps: QualityRouteDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/api/v1/reports/quality',
      {
        schema: {
          querystring: Type.Object(
            {
              clientId: Type.String({ minLength: 1, maxLength: 64 }),
              from: Day,
              to: Day,
              format: Type.Union([Type.Literal('html'), Type.Literal('csv'), Type.Literal('json')], {
                default: 'html',
              }),
            },
            { additionalProperties: false },
          ),
          response: { 200: Type.Union([Type.String(), QualityReportSchema]), ...errorResponses },
        },
      },
      async (req, reply) => {
        const q = req.query;
        const from = instant(q.from, 'from');
        const to = instant(q.to, 'to');
        if (to <= from || to - from > LONGEST_MS)
          throw new OutpostError('OUTPOST_E_BAD_REQUEST', {
            message: 'The period must end after it starts and last at most 366 days',
            details: { field: 'to' },
          });
        const actor = await deps.guard(req, 'incidents.report', {
          type: 'client',
          id: q.clientId,
          clientId: q.clientId,
        });
        const client = await deps.client(q.clientId);
        if (!client) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No client ${q.clientId}` });
        const report = await buildQuality(deps.sources, client, from, to, deps.now());
        await deps.audit.record({
          type: 'report.quality',
          code: 'OUTPOST_I_REPORT_QUALITY',
          result: 'success',
          actor: actorRef(actor),
          clientId: client.id,
          agentId: null,
          resource: `client:${client.id}`,
          details: { from: q.from, to: q.to, format: q.format },
        });
        if (q.format === 'json') return report;
        reply.type(q.format === 'csv' ? 'text/csv; charset=utf-8' : 'text/html; charset=utf-8');
        return q.format === 'csv' ? renderQualityCsv(report) : renderQualityHtml(report);
      },
    );
  };
}
