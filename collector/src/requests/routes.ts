/**
 * Routes of the requests concern: the requester directory and triage rules (admins manage, technicians read), the
 * request behind a ticket, and a phone call logged as a ticket (tier 1 and up).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { OutpostError } from '@outpost/shared';
import { Type } from '@sinclair/typebox';
import type { Guard } from '../auth/index.js';
import { errorResponses, NullableString, Ok } from '../http/schemas.js';
import type { App } from '../http/types.js';
import { incidentView } from '../incidents/routes.js';
import { IncidentView } from '../incidents/schemas.js';
import type { Requests } from './service.js';
import { MAX_TEXT } from './service.js';

const Id = Type.String({ minLength: 1, maxLength: 64 });
const Crit = Type.Union([Type.Literal('P1'), Type.Literal('P2'), Type.Literal('P3'), Type.Literal('P4')]);
const TierT = Type.Union([Type.Literal(1), Type.Literal(2), Type.Literal(3)]);
const Handle = Type.String({ pattern: '^(slack|teams|login|phone):[^\\s]{1,200}$' });

const RequesterView = Type.Object({
  id: Type.String(),
  clientId: Type.String(),
  name: Type.String(),
  email: NullableString,
  vip: Type.Boolean(),
  handles: Type.Array(Type.String()),
  createdAt: Type.Integer(),
});
const RuleView = Type.Object({
  id: Type.String(),
  clientId: Type.String(),
  position: Type.Integer(),
  keywords: Type.Array(Type.String()),
  type: Type.String(),
  criticality: NullableString,
  tier: Type.Union([Type.Integer(), Type.Null()]),
  createdAt: Type.Integer(),
});
const RequestView = Type.Object({
  incidentId: Type.String(),
  clientId: Type.String(),
  channel: Type.String(),
  requesterId: NullableString,
  requesterName: Type.String(),
  requesterContact: NullableString,
  vip: Type.Boolean(),
  agentId: NullableString,
  osUser: NullableString,
  text: Type.String(),
  snapshot: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  related: Type.Array(Type.String()),
  triage: Type.Record(Type.String(), Type.Unknown()),
  createdAt: Type.Integer(),
});

/** What the requests routes are built from. */
export type RequestsRoutesDeps = {
  requests: Requests;
  guard: Guard;
  /** The client of a ticket (for the request view's permission). */
  incidentClient(id: string): Promise<string | undefined>;
};

/** The requests routes plugin. */
export function requestsRoutes(deps: RequestsRoutesDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    requesterRoutes(app, deps);
    triageRuleRoutes(app, deps);
    requestRoutes(app, deps);
  };
}

/** A client's requesters (who may raise a request): list, add, remove. */
function requesterRoutes(app: App, deps: RequestsRoutesDeps): void {
  const { requests, guard } = deps;
  app.get(
    '/api/v1/clients/:clientId/requesters',
    {
      schema: {
        params: Type.Object({ clientId: Id }),
        response: { 200: Type.Object({ requesters: Type.Array(RequesterView) }), ...errorResponses },
      },
    },
    async (req) => {
      await guard(req, 'incidents.read', { type: 'client', clientId: req.params.clientId });
      return { requesters: await requests.store.requesters([req.params.clientId]) };
    },
  );

  app.post(
    '/api/v1/clients/:clientId/requesters',
    {
      schema: {
        params: Type.Object({ clientId: Id }),
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 200 }),
            email: Type.Optional(Type.String({ format: 'email', maxLength: 254 })),
            vip: Type.Optional(Type.Boolean()),
            handles: Type.Optional(Type.Array(Handle, { maxItems: 20 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: RequesterView, ...errorResponses },
      },
    },
    async (req, reply) => {
      const actor = await guard(req, 'requests.manage', { type: 'client', clientId: req.params.clientId });
      return reply.status(201).send(await requests.addRequester(actor, req.params.clientId, req.body));
    },
  );

  app.delete(
    '/api/v1/requesters/:id',
    { schema: { params: Type.Object({ id: Id }), response: { 200: Ok, ...errorResponses } } },
    async (req) => {
      const r = await requests.store.requester(req.params.id);
      if (!r) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No requester ${req.params.id}` });
      const actor = await guard(req, 'requests.manage', { type: 'requester', id: r.id, clientId: r.clientId });
      await requests.removeRequester(actor, r.id);
      return { ok: true as const };
    },
  );
}

/** A client's triage rules: list, add, remove. */
function triageRuleRoutes(app: App, deps: RequestsRoutesDeps): void {
  const { requests, guard } = deps;
  app.get(
    '/api/v1/clients/:clientId/triage-rules',
    {
      schema: {
        params: Type.Object({ clientId: Id }),
        response: { 200: Type.Object({ rules: Type.Array(RuleView) }), ...errorResponses },
      },
    },
    async (req) => {
      await guard(req, 'incidents.read', { type: 'client', clientId: req.params.clientId });
      return { rules: await requests.store.rules(req.params.clientId) };
    },
  );

  app.post(
    '/api/v1/clients/:clientId/triage-rules',
    {
      schema: {
        params: Type.Object({ clientId: Id }),
        body: Type.Object(
          {
            keywords: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { minItems: 1, maxItems: 50 }),
            type: Type.String({ minLength: 1, maxLength: 64 }),
            criticality: Type.Optional(Crit),
            tier: Type.Optional(TierT),
            position: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: RuleView, ...errorResponses },
      },
    },
    async (req, reply) => {
      const actor = await guard(req, 'requests.manage', { type: 'client', clientId: req.params.clientId });
      return reply.status(201).send(await requests.addRule(actor, req.params.clientId, req.body));
    },
  );

  app.delete(
    '/api/v1/triage-rules/:id',
    { schema: { params: Type.Object({ id: Id }), response: { 200: Ok, ...errorResponses } } },
    async (req) => {
      const r = await requests.store.rule(req.params.id);
      if (!r) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No triage rule ${req.params.id}` });
      const actor = await guard(req, 'requests.manage', { type: 'triage_rule', id: r.id, clientId: r.clientId });
      await requests.removeRule(actor, r.id);
      return { ok: true as const };
    },
  );
}

/** The request behind a ticket, and requests raised by phone calls. */
function requestRoutes(app: App, deps: RequestsRoutesDeps): void {
  const { requests, guard } = deps;
  app.get(
    '/api/v1/incidents/:id/request',
    { schema: { params: Type.Object({ id: Id }), response: { 200: RequestView, ...errorResponses } } },
    async (req) => {
      const clientId = await deps.incidentClient(req.params.id);
      if (!clientId) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No incident ${req.params.id}` });
      await guard(req, 'incidents.read', { type: 'incident', id: req.params.id, clientId });
      const r = await requests.request(req.params.id);
      if (!r)
        throw new OutpostError('OUTPOST_E_NOT_FOUND', {
          message: `Incident ${req.params.id} is not a user's request`,
        });
      const { origin: _origin, ...view } = r;
      return view;
    },
  );

  app.post(
    '/api/v1/requests/calls',
    {
      schema: {
        body: Type.Object(
          {
            clientId: Id,
            requester: Type.String({ minLength: 1, maxLength: 200 }),
            email: Type.Optional(Type.String({ format: 'email', maxLength: 254 })),
            phone: Type.Optional(Type.String({ pattern: '^[+0-9 ().-]{3,40}$' })),
            agentId: Type.Optional(Id),
            text: Type.String({ minLength: 1, maxLength: MAX_TEXT }),
            criticality: Type.Optional(Crit),
            type: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: IncidentView, ...errorResponses },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const actor = await guard(req, 'incidents.write', { type: 'incident', clientId: b.clientId });
      const { incident } = await requests.file({
        clientId: b.clientId,
        channel: 'phone',
        text: b.text,
        requester: {
          name: b.requester,
          email: b.email,
          handle: b.phone ? `phone:${b.phone.replace(/[^+0-9]/g, '')}` : undefined,
        },
        agentId: b.agentId,
        actor,
        criticality: b.criticality,
        type: b.type,
      });
      return reply.status(201).send({ ...incidentView(incident), assigneeName: null });
    },
  );
}
