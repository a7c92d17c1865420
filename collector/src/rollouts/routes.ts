/**
 * Routes of the rollouts concern: `/api/v1/rollouts…`. Admin only (`rollouts.read`, `rollouts.manage` are granted
 * to no other role): a rollout changes machines of every client at once. Every change is audited by the service.
 */

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Guard } from '../auth/index.js';
import { errorResponses } from '../http/schemas.js';
import { RollbackInput, RolloutInput, RolloutList, RolloutView } from './schemas.js';
import type { Rollouts } from './service.js';
import { rolloutView } from './view.js';

const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const ROLLOUTS = { type: 'rollout', clientId: null } as const;

/** The rollouts routes plugin. */
export function rolloutsRoutes(deps: { rollouts: Rollouts; guard: Guard }): FastifyPluginAsyncTypebox {
  const { rollouts, guard } = deps;
  return async (app) => {
    app.post(
      '/api/v1/rollouts',
      { schema: { body: RolloutInput, response: { 201: RolloutView, ...errorResponses } } },
      async (req, reply) => {
        const actor = await guard(req, 'rollouts.manage', ROLLOUTS);
        const r = await rollouts.create(actor, req.body);
        return reply.status(201).send(await rolloutView(rollouts, r, false));
      },
    );

    app.get(
      '/api/v1/rollouts',
      {
        schema: {
          querystring: Type.Object(
            { limit: Type.Integer({ minimum: 1, maximum: 1000, default: 50 }) },
            { additionalProperties: false },
          ),
          response: { 200: RolloutList, ...errorResponses },
        },
      },
      async (req) => {
        await guard(req, 'rollouts.read', ROLLOUTS);
        const out = [];
        for (const r of await rollouts.list(req.query.limit)) {
          const { target: _t, options: _o, waveList: _w, ...summary } = await rolloutView(rollouts, r, false);
          out.push(summary);
        }
        return { rollouts: out };
      },
    );

    app.get(
      '/api/v1/rollouts/:id',
      {
        schema: {
          params: Params,
          querystring: Type.Object({ agents: Type.Boolean({ default: false }) }, { additionalProperties: false }),
          response: { 200: RolloutView, ...errorResponses },
        },
      },
      async (req) => {
        await guard(req, 'rollouts.read', ROLLOUTS);
        return rolloutView(rollouts, await rollouts.get(req.params.id), req.query.agents);
      },
    );

    for (const verb of ['pause', 'resume', 'abort'] as const)
      app.post(
        `/api/v1/rollouts/:id/${verb}`,
        { schema: { params: Params, response: { 200: RolloutView, ...errorResponses } } },
        async (req) => {
          const actor = await guard(req, 'rollouts.manage', ROLLOUTS);
          return rolloutView(rollouts, await rollouts[verb](actor, req.params.id), false);
        },
      );

    app.post(
      '/api/v1/rollouts/:id/rollback',
      { schema: { params: Params, body: RollbackInput, response: { 201: RolloutView, ...errorResponses } } },
      async (req, reply) => {
        const actor = await guard(req, 'rollouts.manage', ROLLOUTS);
        const r = await rollouts.rollback(actor, req.params.id, req.body.version);
        return reply.status(201).send(await rolloutView(rollouts, r, false));
      },
    );
  };
}
