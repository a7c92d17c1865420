/** Routes of the tenants concern: clients and sites. */

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { OutpostError } from '@outpost/shared';
import { Type } from '@sinclair/typebox';
import type { Guard } from '../auth/index.js';
import { errorResponses } from '../http/schemas.js';
import { ClientList, ClientView, SiteList, SiteView } from './api.js';
import type { Tenants } from './service.js';

const Name = Type.String({ minLength: 1, maxLength: 100, pattern: '^[^\\x00-\\x1f\\x7f]+$' });
const ClientParams = Type.Object({ clientId: Type.String({ maxLength: 64 }) });

/** The tenants routes plugin. */
export function tenantsRoutes(deps: { tenants: Tenants; guard: Guard }): FastifyPluginAsyncTypebox {
  const { tenants, guard } = deps;
  return async (app) => {
    app.get('/api/v1/clients', { schema: { response: { 200: ClientList, ...errorResponses } } }, async (req) => {
      return { clients: await tenants.listClients(await guard.scope(req, 'client.read', 'client')) };
    });

    app.post(
      '/api/v1/clients',
      {
        schema: {
          body: Type.Object({ name: Name }, { additionalProperties: false }),
          response: { 201: ClientView, ...errorResponses },
        },
      },
      async (req, reply) => {
        const actor = await guard(req, 'client.create', { type: 'client', clientId: null });
        return reply.status(201).send(await tenants.createClient(actor, req.body.name));
      },
    );

    app.get(
      '/api/v1/clients/:clientId',
      { schema: { params: ClientParams, response: { 200: ClientView, ...errorResponses } } },
      async (req) => {
        await guard(req, 'client.read', { type: 'client', id: req.params.clientId, clientId: req.params.clientId });
        const client = await tenants.client(req.params.clientId);
        if (!client) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No client ${req.params.clientId}` });
        return client;
      },
    );

    app.get(
      '/api/v1/clients/:clientId/sites',
      {
        schema: {
          params: ClientParams,
          response: { 200: SiteList, ...errorResponses },
        },
      },
      async (req) => {
        await guard(req, 'client.read', { type: 'client', id: req.params.clientId, clientId: req.params.clientId });
        return { sites: await tenants.listSites(req.params.clientId) };
      },
    );

    app.post(
      '/api/v1/clients/:clientId/sites',
      {
        schema: {
          params: ClientParams,
          body: Type.Object(
            { name: Name, timezone: Type.String({ minLength: 1, maxLength: 64, default: 'UTC' }) },
            { additionalProperties: false },
          ),
          response: { 201: SiteView, ...errorResponses },
        },
      },
      async (req, reply) => {
        const actor = await guard(req, 'site.create', { type: 'site', clientId: req.params.clientId });
        return reply
          .status(201)
          .send(await tenants.createSite(actor, req.params.clientId, req.body.name, req.body.timezone));
      },
    );
  };
}
