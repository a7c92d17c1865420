/**
 * Routes of the notifications concern: channels (with their health), routing rules, a test send, and the outbox.
 * Responses are allow-lists: a channel's URL path, HMAC key and SMTP password are never sent back.
 */

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { OutpostError } from '@outpost/shared';
import { Type } from '@sinclair/typebox';
import type { Guard } from '../auth/index.js';
import { errorResponses, Limit, Ok } from '../http/schemas.js';
import type { App } from '../http/types.js';
import {
  ChannelInput,
  ChannelList,
  ChannelRemoved,
  ChannelTested,
  ChannelView,
  CreatedChannel,
  OutboxList,
  RouteInput,
  RouteList,
  RouteView,
} from './schemas.js';
import type { Notifications } from './service.js';

const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const notFound = (what: string) => new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No ${what}` });

/** Loads a channel's record, or answers it as unknown. */
function channelLoader(svc: Notifications) {
  return async (id: string) => {
    const ch = await svc.channelRecord(id);
    if (!ch) throw notFound(`channel ${id}`);
    return ch;
  };
}

/** What the notifications routes are built from. */
export type NotificationsRoutesDeps = { notifications: Notifications; guard: Guard };

/** The notifications routes plugin. */
export function notificationsRoutes(deps: NotificationsRoutesDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    channelRoutes(app, deps);
    routingRoutes(app, deps);
  };
}

/** Notification channels: list, add, read, delete, send a test. */
function channelRoutes(app: App, deps: NotificationsRoutesDeps): void {
  const { notifications: svc, guard } = deps;
  const channelOf = channelLoader(svc);
  app.get(
    '/api/v1/notifications/channels',
    { schema: { response: { 200: ChannelList, ...errorResponses } } },
    async (req) => ({
      channels: await svc.listChannels(await guard.scope(req, 'notifications.read', 'channel')),
    }),
  );

  app.post(
    '/api/v1/notifications/channels',
    {
      schema: {
        body: ChannelInput,
        response: {
          201: CreatedChannel,
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const actor = await guard(req, 'notifications.manage', { type: 'channel', clientId: req.body.clientId });
      return reply.status(201).send(await svc.createChannel(actor, req.body));
    },
  );

  app.get(
    '/api/v1/notifications/channels/:id',
    { schema: { params: IdParams, response: { 200: ChannelView, ...errorResponses } } },
    async (req) => {
      const ch = await channelOf(req.params.id);
      await guard(req, 'notifications.read', { type: 'channel', id: ch.id, clientId: ch.clientId });
      return (await svc.channel(ch.id))!;
    },
  );

  app.delete(
    '/api/v1/notifications/channels/:id',
    {
      schema: {
        params: IdParams,
        response: { 200: ChannelRemoved, ...errorResponses },
      },
    },
    async (req) => {
      const ch = await channelOf(req.params.id);
      const actor = await guard(req, 'notifications.manage', { type: 'channel', id: ch.id, clientId: ch.clientId });
      return svc.removeChannel(actor, ch.id);
    },
  );

  app.post(
    '/api/v1/notifications/channels/:id/test',
    {
      schema: {
        params: IdParams,
        response: {
          200: ChannelTested,
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const ch = await channelOf(req.params.id);
      const actor = await guard(req, 'notifications.manage', { type: 'channel', id: ch.id, clientId: ch.clientId });
      return svc.testChannel(actor, ch.id);
    },
  );
}

/** Notification routes (which events go to which channel), and the outbox. */
function routingRoutes(app: App, deps: NotificationsRoutesDeps): void {
  const { notifications: svc, guard } = deps;
  app.get(
    '/api/v1/notifications/routes',
    { schema: { response: { 200: RouteList, ...errorResponses } } },
    async (req) => ({ routes: await svc.listRoutes(await guard.scope(req, 'notifications.read', 'route')) }),
  );

  app.post(
    '/api/v1/notifications/routes',
    { schema: { body: RouteInput, response: { 201: RouteView, ...errorResponses } } },
    async (req, reply) => {
      const found = await svc.channelRecord(req.body.channelId);
      // A channel of a client the caller may not see is treated as an unknown one; an unknown channel is answered
      // by the service (400, nothing stored) once the caller may manage the client.
      const ch = found && guard.sees(req, found.clientId) ? found : undefined;
      const clientId = req.body.clientId ?? ch?.clientId ?? null;
      const actor = await guard(req, 'notifications.manage', { type: 'route', clientId });
      return reply.status(201).send(await svc.createRoute(actor, req.body));
    },
  );

  app.delete(
    '/api/v1/notifications/routes/:id',
    { schema: { params: IdParams, response: { 200: Ok, ...errorResponses } } },
    async (req) => {
      const r = await svc.route(req.params.id);
      if (!r) throw notFound(`route ${req.params.id}`);
      const actor = await guard(req, 'notifications.manage', { type: 'route', id: r.id, clientId: r.clientId });
      await svc.removeRoute(actor, r.id);
      return { ok: true as const };
    },
  );

  app.get(
    '/api/v1/notifications/outbox',
    {
      schema: {
        querystring: Type.Object(
          { pending: Type.Optional(Type.Boolean()), limit: Limit },
          { additionalProperties: false },
        ),
        response: { 200: OutboxList, ...errorResponses },
      },
    },
    async (req) => {
      const clientIds = await guard.scope(req, 'notifications.read', 'outbox');
      const rows = await svc.listOutbox({ clientIds, pending: req.query.pending, limit: req.query.limit });
      return { messages: rows.map(({ message: _m, ...rest }) => rest) };
    },
  );
}
