/** `GET /api/v1/reports/perimeter`: the perimeter documentation of a client or site, as HTML, CSV or JSON. */

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { OutpostError } from '@outpost/shared';
import { Type } from '@sinclair/typebox';
import type { Guard } from '../../auth/index.js';
import type { Clock } from '../../config.js';
import { errorResponses } from '../../http/schemas.js';
import { fleetScope, type Inventory } from '../../inventory/index.js';
import { buildPerimeter } from './data.js';
import { renderPerimeterCsv, renderPerimeterHtml } from './render.js';
import { PerimeterReportSchema } from './schema.js';

const Id = Type.String({ maxLength: 64 });

/** What the route needs. */
export interface PerimeterRouteDeps {
  inventory: Inventory;
  guard: Guard;
  clock: Clock;
  clientOfSite(siteId: string): Promise<string | undefined>;
  /** Names for the title (the ids are shown without them). */
  clientName(clientId: string): Promise<string | undefined>;
  siteName(siteId: string): Promise<string | undefined>;
}

/** The route plugin. */
export function perimeterRoutes(deps: PerimeterRouteDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/api/v1/reports/perimeter',
      {
        schema: {
          querystring: Type.Object(
            {
              clientId: Type.Optional(Id),
              siteId: Type.Optional(Id),
              format: Type.Union([Type.Literal('html'), Type.Literal('csv'), Type.Literal('json')], {
                default: 'html',
              }),
              obsoleteYears: Type.Number({ minimum: 0, default: 5 }),
              criticalPatchDays: Type.Number({ minimum: 0, default: 14 }),
            },
            { additionalProperties: false },
          ),
          // JSON answers with the closed report schema: the serializer writes only its fields.
          response: { 200: Type.Union([Type.String(), PerimeterReportSchema]), ...errorResponses },
        },
      },
      async (req, reply) => {
        const q = req.query;
        if (!q.clientId && !q.siteId)
          throw new OutpostError('OUTPOST_E_BAD_REQUEST', { message: 'Give clientId or siteId' });
        const scope = await fleetScope(deps.guard, deps.clientOfSite, req, q);
        // Named as people know them; the id only when the name cannot be found.
        const clientId = q.clientId ?? (q.siteId ? await deps.clientOfSite(q.siteId) : undefined);
        const clientName = (clientId && (await deps.clientName(clientId))) || clientId || '';
        const siteName = q.siteId ? (await deps.siteName(q.siteId)) || q.siteId : undefined;
        const title = `Perimeter documentation — ${clientName}${siteName ? `, site ${siteName}` : ''}`;
        const report = await buildPerimeter(deps.inventory, scope, title, deps.clock.now(), {
          obsoleteYears: q.obsoleteYears,
          criticalPatchDays: q.criticalPatchDays,
        });
        if (q.format === 'json') return report;
        reply.type(q.format === 'csv' ? 'text/csv; charset=utf-8' : 'text/html; charset=utf-8');
        return q.format === 'csv' ? renderPerimeterCsv(report) : renderPerimeterHtml(report);
      },
    );
  };
}
