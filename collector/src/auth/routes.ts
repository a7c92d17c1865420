/** Routes of the auth concern: login, current user, API tokens, TOTP, users. */
import { OutpostError } from '@outpost/shared';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { errorResponses, Limit, NullableString, NullableTime, Ok } from '../http/schemas.js';
import type { App } from '../http/types.js';
import type { Guard } from './guard.js';
import { actorOf } from './guard.js';
import { ROLES } from './permissions.js';
import type { AuthService } from './service.js';

const RoleBindingSchema = Type.Object(
  { role: Type.Union(ROLES.map((r) => Type.Literal(r))), clientId: NullableString },
  { additionalProperties: false },
);
const UserSchema = Type.Object({
  id: Type.String(),
  email: Type.String(),
  name: Type.String(),
  roles: Type.Array(RoleBindingSchema),
  totpEnabled: Type.Boolean(),
  createdAt: Type.Integer(),
  disabled: Type.Boolean(),
});
const TokenInfo = Type.Object({
  id: Type.String(),
  name: Type.String(),
  createdAt: Type.Integer(),
  expiresAt: NullableTime,
  lastUsedAt: NullableTime,
  revokedAt: NullableTime,
});
const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254 });

/** The auth routes plugin. */
export function authRoutes(deps: { auth: AuthService; guard: Guard }): FastifyPluginAsync {
  const { auth, guard } = deps;
  return async (fastify) => {
    const app = fastify as unknown as App;

    app.post(
      '/api/v1/auth/login',
      {
        config: { public: true },
        schema: {
          body: Type.Object(
            {
              email: Email,
              password: Type.String({ minLength: 1, maxLength: 1024 }),
              totp: Type.Optional(Type.String({ pattern: '^[0-9]{6}$' })),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({ token: Type.String(), expiresAt: Type.Integer(), user: UserSchema }),
            ...errorResponses,
          },
        },
      },
      async (req) => auth.login(req.body, req.ip),
    );

    app.post('/api/v1/auth/logout', { schema: { response: { 200: Ok, ...errorResponses } } }, async (req) => {
      await auth.logout(actorOf(req));
      return { ok: true as const };
    });

    app.get('/api/v1/auth/me', { schema: { response: { 200: UserSchema, ...errorResponses } } }, async (req) => {
      const actor = actorOf(req);
      const user = actor.kind === 'user' ? await auth.getUser(actor.id) : undefined;
      if (!user) throw new Error('authenticated actor has no user');
      return user;
    });

    app.post(
      '/api/v1/auth/api-tokens',
      {
        schema: {
          body: Type.Object(
            {
              name: Type.String({ minLength: 1, maxLength: 100 }),
              expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
            },
            { additionalProperties: false },
          ),
          response: { 201: Type.Object({ token: Type.String(), info: TokenInfo }), ...errorResponses },
        },
      },
      async (req, reply) => {
        const created = await auth.createApiToken(actorOf(req), req.body.name, req.body.expiresInDays);
        return reply.status(201).send(created);
      },
    );

    app.get(
      '/api/v1/auth/api-tokens',
      { schema: { response: { 200: Type.Object({ tokens: Type.Array(TokenInfo) }), ...errorResponses } } },
      async (req) => ({
        tokens: await auth.listApiTokens(actorOf(req)),
      }),
    );

    app.delete(
      '/api/v1/auth/api-tokens/:id',
      {
        schema: {
          params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
          response: { 200: Ok, ...errorResponses },
        },
      },
      async (req) => {
        await auth.revokeApiToken(actorOf(req), req.params.id);
        return { ok: true as const };
      },
    );

    app.post(
      '/api/v1/auth/totp/setup',
      { schema: { response: { 200: Type.Object({ secret: Type.String(), uri: Type.String() }), ...errorResponses } } },
      async (req) => auth.beginTotp(actorOf(req)),
    );

    app.post(
      '/api/v1/auth/totp/enable',
      {
        schema: {
          body: Type.Object({ code: Type.String({ pattern: '^[0-9]{6}$' }) }, { additionalProperties: false }),
          response: { 200: Ok, ...errorResponses },
        },
      },
      async (req) => {
        await auth.enableTotp(actorOf(req), req.body.code);
        return { ok: true as const };
      },
    );

    app.get(
      '/api/v1/users',
      {
        schema: {
          querystring: Type.Object({ limit: Limit }),
          response: { 200: Type.Object({ users: Type.Array(UserSchema) }), ...errorResponses },
        },
      },
      async (req) => {
        const users = await auth.listUsers(await guard.scope(req, 'user.read', 'user'));
        return { users: users.slice(0, req.query.limit) };
      },
    );

    app.post(
      '/api/v1/users',
      {
        schema: {
          body: Type.Object(
            {
              email: Email,
              name: Type.String({ minLength: 1, maxLength: 200 }),
              password: Type.String({ minLength: 1, maxLength: 1024 }),
              roles: Type.Array(RoleBindingSchema, { minItems: 1, maxItems: 100 }),
            },
            { additionalProperties: false },
          ),
          response: { 201: UserSchema, ...errorResponses },
        },
      },
      async (
        req: FastifyRequest<{
          Body: {
            email: string;
            name: string;
            password: string;
            roles: { role: (typeof ROLES)[number]; clientId: string | null }[];
          };
        }>,
        reply,
      ) => {
        const actor = await guard(req, 'user.manage', { type: 'user', clientId: null });
        return reply.status(201).send(await auth.createUser(actor, req.body));
      },
    );

    app.get(
      '/api/v1/users/:id',
      {
        schema: {
          params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
          response: { 200: UserSchema, ...errorResponses },
        },
      },
      async (req) => {
        const actor = actorOf(req);
        const user = await auth.getUser(req.params.id);
        const self = actor.kind === 'user' && actor.id === req.params.id;
        if (!self) await guard(req, 'user.read', { type: 'user', id: req.params.id, clientId: null });
        if (!user) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No user ${req.params.id}` });
        return user;
      },
    );
  };
}
