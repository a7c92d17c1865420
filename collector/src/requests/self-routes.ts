/**
 * The self-service page's routes under `/help/` on the API listener (docs/0014-requests.md, "Self-service").
 * Server-rendered forms; every route is `public` to the technicians' authentication hook and checks the user's own
 * cookie here instead: a technician's bearer token or console cookie means nothing on these routes, and the user's
 * cookie (`outpost_help`, path `/help`) means nothing to the hook that guards every technician route.
 * Every POST must come from this origin; those made with a session also carry its CSRF token (a hidden field).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { OutpostError } from '@outpost/shared';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { originRefusal } from '../auth/index.js';
import { errorPage, linkPage, linkSentPage, signInPage, ticketPage, ticketsPage } from './self-pages.js';
import { MAX_COMMENT, type SelfService } from './self-service.js';

/** The user's session cookie: its own name and path, never the console's. */
export const HELP_COOKIE = 'outpost_help';
/** Largest form accepted (a comment of 4 000 characters, percent-encoded, fits). */
const FORM_LIMIT = 64 * 1024;

const Id = Type.Object({ id: Type.String({ maxLength: 64 }) });
const Csrf = Type.String({ minLength: 1, maxLength: 100 });
const LinkToken = Type.String({ minLength: 1, maxLength: 100 });

/** The CSRF token of a user session: an HMAC keyed by the session token (bound to it, nothing stored). */
export function helpCsrf(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update('outpost-help-csrf-v1').digest('base64url');
}

function cookieOf(req: FastifyRequest): string | undefined {
  const m = req.headers.cookie ? new RegExp(`(?:^|;\\s*)${HELP_COOKIE}=([^;]+)`).exec(req.headers.cookie) : null;
  return m?.[1];
}

function setCookie(req: FastifyRequest, reply: FastifyReply, token: string, expiresAt: number): void {
  const parts = [`${HELP_COOKIE}=${token}`, 'Path=/help', 'HttpOnly', 'SameSite=Strict'];
  parts.push(token ? `Expires=${new Date(expiresAt).toUTCString()}` : 'Max-Age=0');
  if (req.protocol === 'https') parts.push('Secure');
  void reply.header('set-cookie', parts.join('; '));
}

const html = (reply: FastifyReply, body: string, status = 200) =>
  reply.status(status).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(body);

type App = Parameters<FastifyPluginAsyncTypebox>[0];
type Access = ReturnType<typeof helpAccess>;

const route = { config: { public: true }, schema: { hide: true } } as const;

/** The routes plugin. `origin` is the origin of `requests.selfService.url` (a proxy in front may differ from Host). */
export function selfServiceRoutes(deps: { self: SelfService; origin: string }): FastifyPluginAsyncTypebox {
  const access = helpAccess(deps.self, deps.origin);
  return async (app) => {
    parseForms(app);
    renderErrorsAsPages(app);
    signInRoutes(app, deps.self, access);
    ticketRoutes(app, deps.self, access);
  };
}

/** The same-origin check of every POST, and the signed-in user (with the CSRF check of a change). */
function helpAccess(self: SelfService, origin: string) {
  const sameOrigin = (req: FastifyRequest) => {
    const refused = originRefusal(req, [origin]);
    if (refused)
      throw new OutpostError('OUTPOST_E_CSRF_REFUSED', { message: `Cross-site request refused: ${refused}` });
  };
  /** The signed-in user, or OUTPOST_E_UNAUTHENTICATED; with `csrf` (a change) the form's token must match. */
  const userOf = async (req: FastifyRequest, csrf?: string) => {
    const token = cookieOf(req);
    const email = token ? await self.user(token) : undefined;
    if (!token || !email)
      throw new OutpostError('OUTPOST_E_UNAUTHENTICATED', { message: 'Sign in on the help page first' });
    const expected = Buffer.from(helpCsrf(token));
    if (csrf !== undefined) {
      sameOrigin(req);
      const given = Buffer.from(csrf);
      if (given.length !== expected.length || !timingSafeEqual(given, expected))
        throw new OutpostError('OUTPOST_E_CSRF_REFUSED', {
          message: 'Cross-site request refused: no valid csrf field',
        });
    }
    return { token, email, csrf: expected.toString() };
  };
  return { sameOrigin, userOf };
}

/** HTML forms, bounded. */
function parseForms(app: App): void {
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: FORM_LIMIT },
    (_req, body, done) => {
      const form: Record<string, string> = {};
      for (const [k, v] of new URLSearchParams(body as string)) form[k] = v;
      done(null, form);
    },
  );
}

/** Errors are pages here, with the catalogue's code and status (a browser, not a script, reads them). */
function renderErrorsAsPages(app: App): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const e =
      err instanceof OutpostError
        ? err
        : err.validation
          ? new OutpostError('OUTPOST_E_BAD_REQUEST', {
              message: `The form is not valid: ${err.message}`.slice(0, 300),
            })
          : err.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
            ? new OutpostError('OUTPOST_E_PAYLOAD_TOO_LARGE')
            : err.statusCode === 415 || err.statusCode === 400
              ? new OutpostError('OUTPOST_E_BAD_REQUEST', { message: err.message })
              : new OutpostError('OUTPOST_E_INTERNAL', { cause: err });
    const log = { err, code: e.code, route: req.routeOptions.url, method: req.method };
    if (e.status >= 500) req.log.error(log, 'self-service request failed');
    else req.log.info(log, 'self-service request refused');
    const retry = e.details?.retryAfterSec;
    if (e.status === 429 && typeof retry === 'number') void reply.header('retry-after', String(retry));
    void reply.header('x-outpost-error', e.code);
    return html(reply, errorPage(e.status, e.code, e.message), e.status);
  });
}

/** The sign-in page, asking for a link, opening it (a button spends it, so a mail scanner cannot), signing out. */
function signInRoutes(app: App, self: SelfService, { sameOrigin, userOf }: Access): void {
  app.get('/help', route, async (_req, reply) => reply.redirect('/help/', 303));

  app.get('/help/', route, async (req, reply) => {
    const token = cookieOf(req);
    const email = token ? await self.user(token) : undefined;
    if (!token || !email) return html(reply, signInPage());
    return html(reply, ticketsPage(await self.tickets(email), { email, csrf: helpCsrf(token) }));
  });

  app.post(
    '/help/sign-in',
    {
      ...route,
      schema: {
        ...route.schema,
        body: Type.Object({ email: Type.String({ format: 'email', maxLength: 254 }) }, { additionalProperties: false }),
      },
    },
    async (req, reply) => {
      sameOrigin(req);
      await self.askLink(req.body.email, req.ip);
      return html(reply, linkSentPage(self.linkMinutes));
    },
  );

  app.get(
    '/help/link',
    { ...route, schema: { ...route.schema, querystring: Type.Object({ t: LinkToken }) } },
    async (req, reply) => html(reply, linkPage(req.query.t)),
  );

  app.post(
    '/help/link',
    { ...route, schema: { ...route.schema, body: Type.Object({ t: LinkToken }, { additionalProperties: false }) } },
    async (req, reply) => {
      sameOrigin(req);
      const s = await self.signIn(req.body.t);
      setCookie(req, reply, s.token, s.expiresAt);
      return reply.redirect('/help/', 303);
    },
  );

  app.post(
    '/help/sign-out',
    {
      ...route,
      schema: { ...route.schema, body: Type.Object({ csrf: Type.Optional(Csrf) }, { additionalProperties: false }) },
    },
    async (req, reply) => {
      const user = await userOf(req, req.body.csrf ?? '');
      await self.signOut(user.token);
      setCookie(req, reply, '', 0);
      return html(reply, signInPage('You are signed out.'));
    },
  );
}

/** One of the user's tickets: the page, a comment, the answer to a resolution. */
function ticketRoutes(app: App, self: SelfService, { userOf }: Access): void {
  app.get('/help/tickets/:id', { ...route, schema: { ...route.schema, params: Id } }, async (req, reply) => {
    const user = await userOf(req);
    return html(reply, ticketPage(await self.ticket(user.email, req.params.id), user));
  });

  app.post(
    '/help/tickets/:id/comments',
    {
      ...route,
      schema: {
        ...route.schema,
        params: Id,
        body: Type.Object(
          { csrf: Type.Optional(Csrf), text: Type.String({ minLength: 1, maxLength: MAX_COMMENT }) },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      const user = await userOf(req, req.body.csrf ?? '');
      await self.comment(user.email, req.params.id, req.body.text);
      return reply.redirect(`/help/tickets/${encodeURIComponent(req.params.id)}`, 303);
    },
  );

  app.post(
    '/help/tickets/:id/confirm',
    {
      ...route,
      schema: {
        ...route.schema,
        params: Id,
        body: Type.Object(
          { csrf: Type.Optional(Csrf), answer: Type.Union([Type.Literal('fixed'), Type.Literal('broken')]) },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      const user = await userOf(req, req.body.csrf ?? '');
      await self.confirm(user.email, req.params.id, req.body.answer === 'fixed');
      return reply.redirect(`/help/tickets/${encodeURIComponent(req.params.id)}`, 303);
    },
  );
}
