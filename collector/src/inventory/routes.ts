/** Routes of the inventory concern: one device's inventory and history, fleet queries (JSON or CSV). */

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { OutpostError, PROBE_NAMES, type ProbeName } from '@outpost/shared';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { AuditLog } from '../audit/index.js';
import { actorRef, type Guard } from '../auth/index.js';
import type { Clock } from '../config.js';
import { errorResponses } from '../http/schemas.js';
import type { App } from '../http/types.js';
import { toCsv } from '../text/index.js';
import { DeviceSchema as Device, EolSchema as Eol, InventoryAnswerSchema } from './answers.js';
import type { FleetQueries } from './queries.js';
import { fleetScope } from './scope.js';
import type { Inventory } from './service.js';

const Probe = Type.Union(PROBE_NAMES.map((p) => Type.Literal(p)));
const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const FleetRowSchema = Type.Object({
  deviceId: Type.String(),
  agentId: Type.String(),
  clientId: Type.String(),
  siteId: Type.String(),
  hostname: Type.String(),
  subject: Type.String(),
  detail: Type.String(),
  time: Type.Union([Type.Integer(), Type.Null()]),
});
const ScopeQuery = {
  clientId: Type.Optional(Type.String({ maxLength: 64 })),
  siteId: Type.Optional(Type.String({ maxLength: 64 })),
  format: Type.Union([Type.Literal('json'), Type.Literal('csv')], { default: 'json' }),
};
const FleetResponse = {
  200: Type.Union([Type.Object({ rows: Type.Array(FleetRowSchema) }), Type.String()]),
  ...errorResponses,
};

/** Dependencies of the inventory routes. */
export interface InventoryRouteDeps {
  inventory: Inventory;
  queries: FleetQueries;
  guard: Guard;
  audit: AuditLog;
  clock: Clock;
  clientOfAgent(agentId: string): Promise<string | undefined>;
  clientOfSite(siteId: string): Promise<string | undefined>;
}

/** A fleet query's querystring: the scope plus the query's own fields. */
const Q = <P extends Parameters<typeof Type.Object>[0]>(extra: P) =>
  Type.Object({ ...ScopeQuery, ...extra }, { additionalProperties: false });

/** The inventory routes plugin. */
export function inventoryRoutes(deps: InventoryRouteDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    agentInventoryRoutes(app, deps);
    refreshRoutes(app, deps);
    deviceRoutes(app, deps);
    fleetQueryRoutes(app, deps);
  };
}

/** One agent's inventory: the latest snapshot and its history. */
function agentInventoryRoutes(app: App, deps: InventoryRouteDeps): void {
  const { inventory } = deps;
  const { loadAgent } = inventoryTools(deps);
  app.get(
    '/api/v1/agents/:id/inventory',
    {
      schema: {
        params: IdParams,
        querystring: Type.Object({ probe: Type.Optional(Probe) }, { additionalProperties: false }),
        response: { 200: InventoryAnswerSchema, ...errorResponses },
      },
    },
    async (req) => {
      await loadAgent(req, req.params.id);
      return inventory.inventory(req.params.id, req.query.probe as ProbeName | undefined);
    },
  );

  app.get(
    '/api/v1/agents/:id/inventory/history',
    {
      schema: {
        params: IdParams,
        querystring: Type.Object(
          {
            from: Type.Integer({ minimum: 0, default: 0 }),
            to: Type.Optional(Type.Integer({ minimum: 0 })),
            limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 }),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            changes: Type.Array(
              Type.Object({
                id: Type.Integer(),
                deviceId: Type.String(),
                agentId: Type.String(),
                time: Type.Integer(),
                kind: Type.String(),
                probe: Type.String(),
                subject: Type.String(),
                before: Type.Unknown(),
                after: Type.Unknown(),
              }),
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      await loadAgent(req, req.params.id);
      const q = req.query;
      return { changes: await inventory.history(req.params.id, q.from, q.to ?? deps.clock.now(), q.limit) };
    },
  );
}

/** Asking an agent to collect its inventory now. */
function refreshRoutes(app: App, deps: InventoryRouteDeps): void {
  const { inventory } = deps;
  const { loadAgent } = inventoryTools(deps);
  app.post(
    '/api/v1/agents/:id/inventory/refresh',
    {
      schema: {
        params: IdParams,
        body: Type.Optional(
          Type.Object({ probes: Type.Array(Probe, { maxItems: 64, default: [] }) }, { additionalProperties: false }),
        ),
        response: { 202: Type.Object({ requested: Type.Boolean() }), ...errorResponses },
      },
    },
    async (req, reply) => {
      // Asking a machine to run its probes is work done on it: a technician's action, not a viewer's.
      const actor = await loadAgent(req, req.params.id, 'inventory.refresh');
      inventory.refresh(req.params.id, (req.body?.probes ?? []) as ProbeName[]);
      await deps.audit.record({
        type: 'inventory.refresh',
        code: 'OUTPOST_I_INVENTORY_REFRESH',
        result: 'success',
        actor: actorRef(actor),
        clientId: await deps.clientOfAgent(req.params.id),
        agentId: req.params.id,
        resource: `agent:${req.params.id}`,
      });
      return reply.status(202).send({ requested: true });
    },
  );
}

/** The fleet's devices, within the caller's scope. */
function deviceRoutes(app: App, deps: InventoryRouteDeps): void {
  const { inventory } = deps;
  const { scopeOf } = inventoryTools(deps);
  app.get(
    '/api/v1/inventory/devices',
    {
      schema: {
        querystring: Type.Object(
          { clientId: ScopeQuery.clientId, siteId: ScopeQuery.siteId },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ devices: Type.Array(Type.Composite([Device, Type.Object({ eol: Eol })])) }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const scope = await scopeOf(req, req.query);
      const devices = [];
      for (const d of await inventory.devices(scope)) devices.push({ ...d, eol: await inventory.eolOf(d.id) });
      return { devices };
    },
  );
}

/** Fleet queries (software, patches, antivirus, end of life, age), as JSON or CSV. */
function fleetQueryRoutes(app: App, deps: InventoryRouteDeps): void {
  const { queries } = deps;
  const { scopeOf, fleet } = inventoryTools(deps);
  app.get(
    '/api/v1/inventory/query/software',
    {
      schema: {
        querystring: Q({
          name: Type.String({ minLength: 1, maxLength: 256 }),
          below: Type.Optional(Type.String({ maxLength: 128 })),
        }),
        response: FleetResponse,
      },
    },
    async (req, reply) =>
      fleet(
        await queries.software(await scopeOf(req, req.query), req.query.name, req.query.below),
        req.query.format,
        reply,
      ),
  );

  app.get(
    '/api/v1/inventory/query/patches',
    {
      schema: {
        querystring: Q({
          olderThanDays: Type.Number({ minimum: 0, default: 14 }),
          all: Type.Boolean({ default: false }),
        }),
        response: FleetResponse,
      },
    },
    async (req, reply) =>
      fleet(
        await queries.patches(await scopeOf(req, req.query), req.query.olderThanDays, !req.query.all),
        req.query.format,
        reply,
      ),
  );

  app.get(
    '/api/v1/inventory/query/antivirus',
    { schema: { querystring: Q({ withinDays: Type.Number({ minimum: 0, default: 30 }) }), response: FleetResponse } },
    async (req, reply) =>
      fleet(await queries.antivirus(await scopeOf(req, req.query), req.query.withinDays), req.query.format, reply),
  );

  app.get(
    '/api/v1/inventory/query/eol',
    { schema: { querystring: Q({ withinDays: Type.Number({ minimum: 0, default: 0 }) }), response: FleetResponse } },
    async (req, reply) =>
      fleet(await queries.endOfLife(await scopeOf(req, req.query), req.query.withinDays), req.query.format, reply),
  );

  app.get(
    '/api/v1/inventory/query/age',
    { schema: { querystring: Q({ years: Type.Number({ minimum: 0, default: 5 }) }), response: FleetResponse } },
    async (req, reply) =>
      fleet(await queries.olderThan(await scopeOf(req, req.query), req.query.years), req.query.format, reply),
  );
}

/** The agent loader that authorises an action, the fleet scope of a request and the fleet answer (JSON or CSV). */
function inventoryTools(deps: InventoryRouteDeps) {
  const { guard } = deps;

  const loadAgent = async (
    req: FastifyRequest,
    id: string,
    action: 'agent.read' | 'inventory.refresh' = 'agent.read',
  ) => {
    const clientId = await deps.clientOfAgent(id);
    if (!clientId) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No agent ${id}` });
    return guard(req, action, { type: 'agent', id, clientId });
  };
  const scopeOf = (req: FastifyRequest, q: { clientId?: string | undefined; siteId?: string | undefined }) =>
    fleetScope(guard, deps.clientOfSite, req, q);
  const fleet = (
    rows: Awaited<ReturnType<FleetQueries['software']>>,
    format: 'json' | 'csv',
    reply: { type(t: string): unknown },
  ) => {
    if (format === 'json') return { rows };
    reply.type('text/csv; charset=utf-8');
    return toCsv(
      ['hostname', 'agent_id', 'device_id', 'client_id', 'site_id', 'subject', 'detail', 'time'],
      rows.map((r) => [
        r.hostname,
        r.agentId,
        r.deviceId,
        r.clientId,
        r.siteId,
        r.subject,
        r.detail,
        r.time === null ? '' : new Date(r.time).toISOString(),
      ]),
    );
  };

  return { loadAgent, scopeOf, fleet };
}
