/** Routes of the contracts concern: calendars, a client's contract, on-call rotations, overrides and who is on duty. */

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { OutpostError } from '@outpost/shared';
import { Type } from '@sinclair/typebox';
import type { Guard } from '../auth/index.js';
import { errorResponses } from '../http/schemas.js';
import type { App } from '../http/types.js';
import {
  CalendarInput,
  CalendarList,
  CalendarView,
  ContractInput,
  ContractView,
  OnCallNow,
  OverrideInput,
  RotationInput,
  RotationList,
  RotationView,
} from './schemas.js';
import type { Contracts } from './service.js';

const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const ClientParams = Type.Object({ clientId: Type.String({ maxLength: 64 }) });
const notFound = (what: string) => new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No ${what}` });

/** What the contracts routes are built from. */
export type ContractsRoutesDeps = { contracts: Contracts; guard: Guard };

/** The contracts routes plugin. */
export function contractsRoutes(deps: ContractsRoutesDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    calendarRoutes(app, deps);
    contractRoutes(app, deps);
    oncallRoutes(app, deps);
  };
}

/** Business-hours calendars: list, create, read, replace. */
function calendarRoutes(app: App, deps: ContractsRoutesDeps): void {
  const { contracts, guard } = deps;
  app.get('/api/v1/calendars', { schema: { response: { 200: CalendarList, ...errorResponses } } }, async (req) => ({
    calendars: await contracts.listCalendars(await guard.scope(req, 'contracts.read', 'calendar')),
  }));

  app.post(
    '/api/v1/calendars',
    { schema: { body: CalendarInput, response: { 201: CalendarView, ...errorResponses } } },
    async (req, reply) => {
      const actor = await guard(req, 'contracts.manage', { type: 'calendar', clientId: req.body.clientId });
      return reply.status(201).send(await contracts.saveCalendar(actor, req.body));
    },
  );

  app.get(
    '/api/v1/calendars/:id',
    { schema: { params: IdParams, response: { 200: CalendarView, ...errorResponses } } },
    async (req) => {
      const cal = await contracts.calendar(req.params.id);
      if (!cal) throw notFound(`calendar ${req.params.id}`);
      await guard(req, 'contracts.read', { type: 'calendar', id: cal.id, clientId: cal.clientId });
      return cal;
    },
  );

  app.put(
    '/api/v1/calendars/:id',
    { schema: { params: IdParams, body: CalendarInput, response: { 200: CalendarView, ...errorResponses } } },
    async (req) => {
      const cal = await contracts.calendar(req.params.id);
      if (!cal) throw notFound(`calendar ${req.params.id}`);
      const actor = await guard(req, 'contracts.manage', { type: 'calendar', id: cal.id, clientId: cal.clientId });
      return contracts.saveCalendar(actor, req.body, cal.id);
    },
  );
}

/** A client's contract (its SLA terms and calendar). */
function contractRoutes(app: App, deps: ContractsRoutesDeps): void {
  const { contracts, guard } = deps;
  app.get(
    '/api/v1/clients/:clientId/contract',
    { schema: { params: ClientParams, response: { 200: ContractView, ...errorResponses } } },
    async (req) => {
      await guard(req, 'contracts.read', { type: 'contract', clientId: req.params.clientId });
      const c = await contracts.contract(req.params.clientId);
      if (!c) throw notFound(`contract for client ${req.params.clientId}`);
      return c;
    },
  );

  app.put(
    '/api/v1/clients/:clientId/contract',
    { schema: { params: ClientParams, body: ContractInput, response: { 200: ContractView, ...errorResponses } } },
    async (req) => {
      const actor = await guard(req, 'contracts.manage', { type: 'contract', clientId: req.params.clientId });
      return contracts.setContract(actor, req.params.clientId, req.body);
    },
  );
}

/** On-call rotations, their overrides, and who is on call now. */
function oncallRoutes(app: App, deps: ContractsRoutesDeps): void {
  const { contracts, guard } = deps;
  app.get(
    '/api/v1/oncall/rotations',
    { schema: { response: { 200: RotationList, ...errorResponses } } },
    async (req) => ({
      rotations: await contracts.listRotations(await guard.scope(req, 'contracts.read', 'rotation')),
    }),
  );

  app.post(
    '/api/v1/oncall/rotations',
    { schema: { body: RotationInput, response: { 201: RotationView, ...errorResponses } } },
    async (req, reply) => {
      const actor = await guard(req, 'contracts.manage', { type: 'rotation', clientId: req.body.clientId });
      return reply.status(201).send(await contracts.createRotation(actor, req.body));
    },
  );

  app.post(
    '/api/v1/oncall/rotations/:id/overrides',
    { schema: { params: IdParams, body: OverrideInput, response: { 201: RotationView, ...errorResponses } } },
    async (req, reply) => {
      const rot = await contracts.rotation(req.params.id);
      if (!rot) throw notFound(`rotation ${req.params.id}`);
      const actor = await guard(req, 'contracts.manage', { type: 'rotation', id: rot.id, clientId: rot.clientId });
      return reply.status(201).send(await contracts.addOverride(actor, rot.id, req.body));
    },
  );

  app.get(
    '/api/v1/oncall/now',
    {
      schema: {
        querystring: Type.Object(
          {
            clientId: Type.String({ minLength: 1, maxLength: 64 }),
            tier: Type.Integer({ minimum: 1, maximum: 3 }),
            at: Type.Optional(Type.Integer({ minimum: 0 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: OnCallNow, ...errorResponses },
      },
    },
    async (req) => {
      await guard(req, 'contracts.read', { type: 'rotation', clientId: req.query.clientId });
      const tier = req.query.tier as 1 | 2 | 3;
      return { onCall: (await contracts.onCall(req.query.clientId, tier, req.query.at)) ?? null };
    },
  );
}
