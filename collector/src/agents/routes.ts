/** Routes of the agents concern: enrollment tokens, agents (list, detail, revoke) and their events. */

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { OutpostError } from '@outpost/shared';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { actorOf, type Guard } from '../auth/index.js';
import type { EventsStore } from '../events/index.js';
import { errorResponses, Limit } from '../http/schemas.js';
import type { App } from '../http/types.js';
import {
  AgentEvents,
  AgentList,
  AgentView,
  CreatedEnrollmentToken,
  EnrollmentTokenList,
  EnrollmentTokenView,
} from './api.js';
import type { Agents } from './service.js';
import { AGENT_SORTS, type AgentRecord } from './store.js';
import { TagChange, TagName } from './tags.js';

const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

/** What the agents routes are built from. */
export type AgentsRoutesDeps = { agents: Agents; events: EventsStore; guard: Guard };

/** The agents routes plugin. */
export function agentsRoutes(deps: AgentsRoutesDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    agentListRoutes(app, deps);
    agentRoutes(app, deps);
    enrollmentTokenRoutes(app, deps);
  };
}

/** The agent list, filtered, sorted and paged within the caller's clients. */
function agentListRoutes(app: App, deps: AgentsRoutesDeps): void {
  const { agents, guard } = deps;
  const { view } = agentTools(deps);
  app.get(
    '/api/v1/agents',
    {
      schema: {
        querystring: Type.Object(
          {
            clientId: Type.Optional(Type.String({ maxLength: 64 })),
            siteId: Type.Optional(Type.String({ maxLength: 64 })),
            status: Type.Optional(
              Type.Union([Type.Literal('online'), Type.Literal('offline'), Type.Literal('revoked')]),
            ),
            search: Type.Optional(Type.String({ maxLength: 255 })),
            os: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
            tag: Type.Optional(TagName),
            sort: Type.Optional(Type.Union(AGENT_SORTS.map((s) => Type.Literal(s)))),
            order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
            limit: Limit,
            offset: Type.Integer({ minimum: 0, default: 0 }),
          },
          { additionalProperties: false },
        ),
        response: {
          200: AgentList,
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const q = req.query;
      let clientIds = await guard.scope(req, 'agent.read', 'agent');
      if (q.clientId) {
        await guard(req, 'agent.read', { type: 'client', id: q.clientId, clientId: q.clientId });
        clientIds = [q.clientId];
      }
      // One presence snapshot for the page and its count, so both agree.
      const query = {
        clientIds,
        siteId: q.siteId,
        search: q.search,
        os: q.os,
        tag: q.tag,
        status: q.status,
        onlineIds: agents.onlineIds(),
        sort: q.sort,
        order: q.order,
        limit: q.limit,
        offset: q.offset,
      };
      const [rows, total] = await Promise.all([agents.list(query), agents.count(query)]);
      return { agents: rows.map(view), total };
    },
  );
}

/** One agent: read, revoke, tag, and its event history. */
function agentRoutes(app: App, deps: AgentsRoutesDeps): void {
  const { agents, events } = deps;
  const { view, loadAgent } = agentTools(deps);
  app.get(
    '/api/v1/agents/:id',
    { schema: { params: IdParams, response: { 200: AgentView, ...errorResponses } } },
    async (req) => view(await loadAgent(req, req.params.id, 'agent.read')),
  );

  app.post(
    '/api/v1/agents/:id/revoke',
    { schema: { params: IdParams, response: { 200: AgentView, ...errorResponses } } },
    async (req) => {
      const agent = await loadAgent(req, req.params.id, 'agent.revoke');
      await agents.revoke(actorOf(req), agent);
      return view((await agents.get(agent.id))!);
    },
  );

  // Tags: tier 2 and up on the agent's client (they decide where jobs and rollout rings go); audited by the service.
  app.post(
    '/api/v1/agents/:id/tags',
    { schema: { params: IdParams, body: TagChange, response: { 200: AgentView, ...errorResponses } } },
    async (req) => {
      const agent = await loadAgent(req, req.params.id, 'agent.tag');
      return view(await agents.changeTags(actorOf(req), agent, req.body));
    },
  );

  app.get(
    '/api/v1/agents/:id/events',
    {
      schema: {
        params: IdParams,
        querystring: Type.Object(
          {
            afterSeq: Type.Integer({ minimum: 0, default: 0 }),
            limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 }),
          },
          { additionalProperties: false },
        ),
        response: {
          200: AgentEvents,
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const agent = await loadAgent(req, req.params.id, 'agent.read');
      const [list, count] = await Promise.all([
        events.list(agent.id, req.query.afterSeq, req.query.limit),
        events.count(agent.id),
      ]);
      return { events: list, ...count };
    },
  );
}

/** Enrollment tokens: create, list, revoke. */
function enrollmentTokenRoutes(app: App, deps: AgentsRoutesDeps): void {
  const { agents, guard } = deps;
  app.post(
    '/api/v1/enrollment-tokens',
    {
      schema: {
        body: Type.Object(
          {
            siteId: Type.String({ maxLength: 64 }),
            expiresInHours: Type.Number({ exclusiveMinimum: 0, maximum: 24 * 365, default: 24 * 7 }),
            maxUses: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 }),
            note: Type.String({ maxLength: 200, default: '' }),
          },
          { additionalProperties: false },
        ),
        response: { 201: CreatedEnrollmentToken, ...errorResponses },
      },
    },
    async (req, reply) => {
      const site = await deps.agents.siteOf(req.body.siteId);
      const actor = await guard(req, 'enrollment_token.create', {
        type: 'site',
        id: req.body.siteId,
        clientId: site?.clientId ?? '?',
      });
      return reply.status(201).send(await agents.createEnrollmentToken(actor, req.body));
    },
  );

  app.get(
    '/api/v1/enrollment-tokens',
    {
      schema: {
        querystring: Type.Object(
          { siteId: Type.Optional(Type.String({ maxLength: 64 })) },
          { additionalProperties: false },
        ),
        response: { 200: EnrollmentTokenList, ...errorResponses },
      },
    },
    async (req) => {
      const clientIds = await guard.scope(req, 'enrollment_token.read', 'enrollment_token');
      return { tokens: await agents.listEnrollmentTokens(clientIds, req.query.siteId) };
    },
  );

  app.post(
    '/api/v1/enrollment-tokens/:id/revoke',
    { schema: { params: IdParams, response: { 200: EnrollmentTokenView, ...errorResponses } } },
    async (req) => {
      const token = await agents.enrollmentToken(req.params.id);
      if (!token) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No enrollment token ${req.params.id}` });
      const actor = await guard(req, 'enrollment_token.revoke', {
        type: 'enrollment_token',
        id: token.id,
        clientId: token.clientId,
      });
      await agents.revokeEnrollmentToken(actor, token.id, token.clientId);
      return (await agents.enrollmentToken(token.id))!;
    },
  );
}

/** The public view of an agent and the loader that authorises an action on one, bound to the routes' dependencies. */
function agentTools(deps: AgentsRoutesDeps) {
  const { agents, guard } = deps;

  const view = (a: AgentRecord) => ({
    id: a.id,
    clientId: a.clientId,
    siteId: a.siteId,
    hostname: a.facts.hostname,
    os: a.facts.os,
    cpu: a.facts.cpu,
    memoryBytes: a.facts.memoryBytes,
    agentVersion: a.agentVersion,
    status:
      a.revokedAt !== null ? ('revoked' as const) : agents.isOnline(a.id) ? ('online' as const) : ('offline' as const),
    enrolledAt: a.enrolledAt,
    lastSeenAt: a.lastSeenAt,
    lastIp: a.lastIp,
    revokedAt: a.revokedAt,
    tags: [...a.tags],
  });

  /** Loads an agent and authorises the action on its client; agents of other clients look like missing ones. */
  const loadAgent = async (req: FastifyRequest, id: string, action: 'agent.read' | 'agent.revoke' | 'agent.tag') => {
    const agent = await agents.get(id);
    if (!agent) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No agent ${id}` });
    await guard(req, action, { type: 'agent', id, clientId: agent.clientId });
    return agent;
  };

  return { view, loadAgent };
}
