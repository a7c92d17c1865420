/**
 * The HTTP face of the metrics concern: a machine's series over a window (`metrics.read` on the agent's client).
 * An agent the caller may not see answers as an unknown one does.
 */

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { OutpostError } from '@outpost/shared';
import { Type } from '@sinclair/typebox';
import { actorOf, can, type Guard } from '../auth/index.js';
import type { Clock } from '../config.js';
import { errorResponses } from '../http/schemas.js';
import { SeriesResponse } from './api.js';
import { readAgentSeries } from './series.js';
import type { MetricsStore } from './store.js';

const Query = Type.Object(
  {
    /** A series name, every instance of a name (`disk.used_pct`), or a prefix ending with `*`. */
    metric: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    /** The window, in seconds back from now: 1 min to 400 days (the hour roll-ups' retention); default 1 h. */
    since: Type.Integer({ minimum: 60, maximum: 400 * 86_400, default: 3600 }),
  },
  { additionalProperties: false },
);

/** Dependencies of the metrics routes. */
export interface MetricsRouteDeps {
  store: MetricsStore;
  guard: Guard;
  clock: Clock;
  /** The client of an enrolled agent, undefined for an unknown one. */
  agentClient(agentId: string): Promise<string | undefined>;
}

/** The metrics routes plugin. */
export function metricsRoutes(deps: MetricsRouteDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/api/v1/agents/:id/metrics',
      {
        schema: {
          params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }),
          querystring: Query,
          response: { 200: SeriesResponse, ...errorResponses },
        },
      },
      async (req) => {
        const { id } = req.params;
        const clientId = await deps.agentClient(id);
        const missing = () => new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No agent ${id}` });
        if (clientId === undefined) throw missing();
        const resource = { type: 'agent', id, clientId };
        if (!can(actorOf(req), 'agent.read', clientId)) {
          await deps.guard(req, 'metrics.read', resource).catch(() => undefined); // audits the refusal
          throw missing();
        }
        await deps.guard(req, 'metrics.read', resource);
        return readAgentSeries(deps.store, id, {
          to: deps.clock.now() + 1,
          windowMs: req.query.since * 1000,
          metric: req.query.metric,
        });
      },
    );
  };
}
