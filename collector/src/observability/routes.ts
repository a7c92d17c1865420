/** /healthz (public: load balancers and install scripts probe it) and /metrics (authenticated by default). */

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Guard } from '../auth/index.js';
import { errorResponses } from '../http/schemas.js';
import type { MetricsRegistry } from './metrics.js';

/** The observability routes plugin. */
export function observabilityRoutes(deps: {
  metrics: MetricsRegistry;
  guard: Guard;
  version: string;
  agentsConnected: () => number;
}): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/healthz',
      {
        config: { public: true },
        schema: { response: { 200: Type.Object({ status: Type.Literal('ok'), version: Type.String() }) } },
      },
      async () => ({ status: 'ok' as const, version: deps.version }),
    );
    app.get('/metrics', { schema: { response: { 200: Type.String(), ...errorResponses } } }, async (req, reply) => {
      await deps.guard(req, 'metrics.read', { type: 'metrics', clientId: null });
      return reply.type('text/plain; version=0.0.4').send(deps.metrics.render());
    });
  };
}
