/** Routes of the auth concern: login, current user, API tokens, TOTP, users. */

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { OutpostError } from '@outpost/shared';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { ErrorBody, errorResponses, Limit, Ok } from '../http/schemas.js';
import type { App } from '../http/types.js';
import {
  ApiTokenList,
  CreatedApiToken,
  CsrfToken,
  LoginSession,
  PasswordChanged,
  TotpSetup,
  UserList,
  UserView,
} from './api.js';
import { credentialOf, SESSION_COOKIE } from './authenticate.js';
import type { Guard } from './guard.js';
import { actorOf } from './guard.js';
import { ROLES } from './permissions.js';
import { csrfTokenFor } from './secrets.js';
import type { AuthService } from './service.js';

/**
 * A binding as a request sends it. Null comes first: with ajv's type coercion (on for querystrings), a `null`
 * tried against the string branch first became `""`, so `admin@*` (clientId null) made an admin of no client.
 */
const RoleBindingInput = Type.Object(
  {
    role: Type.Union(ROLES.map((r) => Type.Literal(r))),
    clientId: Type.Union([Type.Null(), Type.String({ minLength: 1, maxLength: 64 })]),
  },
  { additionalProperties: false },
);
const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254 });
const Password = Type.String({ minLength: 1, maxLength: 1024 });
const TotpCode = Type.String({ pattern: '^[0-9]{6}$' });
/** Routes that check a password or a code can answer 429 (throttled). */
const guessingResponses = { ...errorResponses, 429: ErrorBody } as const;
const UserIdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

/** The `Set-Cookie` value of a console session (an empty token and expiry 0 clear it). */
function sessionCookie(req: FastifyRequest, token: string, expiresAt: number): string {
  const parts = [`${SESSION_COOKIE}=${token}`, 'Path=/', 'HttpOnly', 'SameSite=Strict'];
  parts.push(token ? `Expires=${new Date(expiresAt).toUTCString()}` : 'Max-Age=0');
  if (req.protocol === 'https') parts.push('Secure');
  return parts.join('; ');
}

/** What the auth routes are built from. */
export type AuthRoutesDeps = { auth: AuthService; guard: Guard };

/** The auth routes plugin. */
export function authRoutes(deps: AuthRoutesDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    sessionRoutes(app, deps);
    accountRoutes(app, deps);
    apiTokenRoutes(app, deps);
    totpRoutes(app, deps);
    usersRoutes(app, deps);
    userRoutes(app, deps);
  };
}

/** Console sessions: login, the CSRF token, logout and who is signed in. */
function sessionRoutes(app: App, deps: AuthRoutesDeps): void {
  const { auth } = deps;
  app.post(
    '/api/v1/auth/login',
    {
      config: { public: true },
      schema: {
        body: Type.Object(
          {
            email: Email,
            password: Password,
            totp: Type.Optional(TotpCode),
          },
          { additionalProperties: false },
        ),
        response: {
          200: LoginSession,
          ...guessingResponses,
        },
      },
    },
    async (req, reply) => {
      const session = await auth.login(req.body, req.ip);
      // The console's credential: HttpOnly (no script reads it), SameSite=Strict (no other site sends it), Secure
      // over TLS (the default listener). The CLI ignores it and keeps using the token of the body.
      void reply.header('set-cookie', sessionCookie(req, session.token, session.expiresAt));
      return { ...session, csrfToken: csrfTokenFor(session.token) };
    },
  );

  app.get('/api/v1/auth/csrf', { schema: { response: { 200: CsrfToken, ...errorResponses } } }, async (req) => {
    // A console reloaded without the token asks again; a cross-site page cannot read this answer (no CORS).
    const credential = credentialOf(req);
    if (!credential) throw new OutpostError('OUTPOST_E_UNAUTHENTICATED');
    return { csrfToken: csrfTokenFor(credential.token) };
  });

  app.post('/api/v1/auth/logout', { schema: { response: { 200: Ok, ...errorResponses } } }, async (req, reply) => {
    await auth.logout(actorOf(req));
    void reply.header('set-cookie', sessionCookie(req, '', 0));
    return { ok: true as const };
  });

  app.get('/api/v1/auth/me', { schema: { response: { 200: UserView, ...errorResponses } } }, async (req) => {
    const actor = actorOf(req);
    const user = actor.kind === 'user' ? await auth.getUser(actor.id) : undefined;
    if (!user) throw new Error('authenticated actor has no user');
    return user;
  });
}

/** The signed-in user's own password and e-mail address. */
function accountRoutes(app: App, deps: AuthRoutesDeps): void {
  const { auth } = deps;
  app.post(
    '/api/v1/auth/password',
    {
      schema: {
        body: Type.Object(
          { currentPassword: Password, newPassword: Password, totp: Type.Optional(TotpCode) },
          { additionalProperties: false },
        ),
        response: { 200: PasswordChanged, ...guessingResponses },
      },
    },
    async (req) => {
      const { currentPassword, newPassword, totp } = req.body;
      const r = await auth.credentials.changePassword(
        actorOf(req),
        { password: currentPassword, totp, newPassword },
        req.ip,
      );
      return { ok: true as const, endedTokens: r.endedTokens };
    },
  );

  app.post(
    '/api/v1/auth/email',
    {
      schema: {
        body: Type.Object(
          { email: Email, password: Password, totp: Type.Optional(TotpCode) },
          { additionalProperties: false },
        ),
        response: { 200: UserView, ...guessingResponses },
      },
    },
    async (req) => auth.credentials.changeEmail(actorOf(req), req.body, req.ip),
  );
}

/** The signed-in user's API tokens: create, list, revoke. */
function apiTokenRoutes(app: App, deps: AuthRoutesDeps): void {
  const { auth } = deps;
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
        response: { 201: CreatedApiToken, ...errorResponses },
      },
    },
    async (req, reply) => {
      const created = await auth.createApiToken(actorOf(req), req.body.name, req.body.expiresInDays);
      return reply.status(201).send(created);
    },
  );

  app.get(
    '/api/v1/auth/api-tokens',
    { schema: { response: { 200: ApiTokenList, ...errorResponses } } },
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
}

/** Two-factor (TOTP) setup, enabling and disabling. */
function totpRoutes(app: App, deps: AuthRoutesDeps): void {
  const { auth } = deps;
  app.post(
    '/api/v1/auth/totp/setup',
    {
      schema: {
        body: Type.Object({ password: Password, totp: Type.Optional(TotpCode) }, { additionalProperties: false }),
        response: { 200: TotpSetup, ...guessingResponses },
      },
    },
    async (req) => auth.credentials.beginTotp(actorOf(req), req.body, req.ip),
  );

  app.post(
    '/api/v1/auth/totp/disable',
    {
      schema: {
        body: Type.Object({ password: Password, totp: TotpCode }, { additionalProperties: false }),
        response: { 200: Ok, ...guessingResponses },
      },
    },
    async (req) => {
      await auth.credentials.disableTotp(actorOf(req), req.body, req.ip);
      return { ok: true as const };
    },
  );

  app.post(
    '/api/v1/auth/totp/enable',
    {
      schema: {
        body: Type.Object({ code: TotpCode }, { additionalProperties: false }),
        response: { 200: Ok, ...errorResponses },
      },
    },
    async (req) => {
      await auth.credentials.enableTotp(actorOf(req), req.body.code);
      return { ok: true as const };
    },
  );
}

/** Administration of users: list and create. */
function usersRoutes(app: App, deps: AuthRoutesDeps): void {
  const { auth, guard } = deps;
  app.get(
    '/api/v1/users',
    {
      schema: {
        querystring: Type.Object({ limit: Limit }),
        response: { 200: UserList, ...errorResponses },
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
            roles: Type.Array(RoleBindingInput, { minItems: 1, maxItems: 100 }),
          },
          { additionalProperties: false },
        ),
        response: { 201: UserView, ...errorResponses },
      },
      // Coercion would turn an empty client id into null (every client): refuse it before validation.
      preValidation: async (req: FastifyRequest) => {
        const roles = (req.body as { roles?: unknown } | undefined)?.roles;
        if (Array.isArray(roles) && roles.some((r) => (r as { clientId?: unknown } | null)?.clientId === ''))
          throw new OutpostError('OUTPOST_E_BAD_REQUEST', {
            message: 'Request body/roles clientId must be a client id, or null for every client',
            details: { context: 'body' },
          });
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
}

/** Administration of one user: read, set roles, disable or enable. */
function userRoutes(app: App, deps: AuthRoutesDeps): void {
  const { auth, guard } = deps;
  app.get(
    '/api/v1/users/:id',
    {
      schema: {
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: { 200: UserView, ...errorResponses },
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

  app.put(
    '/api/v1/users/:id/roles',
    {
      schema: {
        params: UserIdParams,
        body: Type.Object(
          { roles: Type.Array(RoleBindingInput, { minItems: 1, maxItems: 100 }) },
          { additionalProperties: false },
        ),
        response: { 200: UserView, ...errorResponses },
      },
      // As for a new user: an empty client id must not be coerced into null (every client).
      preValidation: async (req: FastifyRequest) => {
        const roles = (req.body as { roles?: unknown } | undefined)?.roles;
        if (Array.isArray(roles) && roles.some((r) => (r as { clientId?: unknown } | null)?.clientId === ''))
          throw new OutpostError('OUTPOST_E_BAD_REQUEST', {
            message: 'Request body/roles clientId must be a client id, or null for every client',
            details: { context: 'body' },
          });
      },
    },
    async (req) => {
      const actor = await guard(req, 'user.manage', { type: 'user', id: req.params.id, clientId: null });
      return auth.credentials.setUserRoles(actor, req.params.id, req.body.roles);
    },
  );

  for (const [verb, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    app.post(
      `/api/v1/users/:id/${verb}`,
      { schema: { params: UserIdParams, response: { 200: UserView, ...errorResponses } } },
      async (req) => {
        const actor = await guard(req, 'user.manage', { type: 'user', id: req.params.id, clientId: null });
        return auth.credentials.setUserDisabled(actor, req.params.id, disabled);
      },
    );
  }
}
