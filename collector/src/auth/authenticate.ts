/**
 * The authentication hook: every request carries a valid bearer token unless its route is explicitly public, and a
 * state-changing request authenticated by the session cookie must also pass the CSRF check here, in one place.
 */
import { OutpostError } from '@outpost/shared';
import type { FastifyRequest } from 'fastify';
import type { AuditLog } from '../audit/index.js';
import { csrfMatches } from './secrets.js';
import { type AuthService, actorRef } from './service.js';

/** The header the console sends on every change, holding the `csrfToken` of its login. */
export const CSRF_HEADER = 'x-outpost-csrf';
/** The console's session cookie. */
export const SESSION_COOKIE = 'outpost_session';

/** Methods that change nothing; every other method is state-changing. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The credential a request presents: `Authorization: Bearer …` (CLI, API) or the console's session cookie. */
export function credentialOf(request: FastifyRequest): { token: string; via: 'bearer' | 'cookie' } | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return { token: header.slice(7).trim(), via: 'bearer' };
  const cookie = request.headers.cookie;
  const match = cookie ? new RegExp(`(?:^|;\\s*)${SESSION_COOKIE}=([^;]+)`).exec(cookie) : null;
  return match?.[1] ? { token: match[1], via: 'cookie' } : undefined;
}

/**
 * Why a browser request does not come from the console's origin, or undefined when it does: this collector's own
 * origin or a configured console origin (Origin; without it Sec-Fetch-Site, then Referer; with none of them it is
 * refused). Used for cookie-authenticated changes (with the CSRF token) and for the live stream (a GET a page of
 * another origin could otherwise open with the cookie on the same site).
 */
export function originRefusal(request: FastifyRequest, allowedOrigins: readonly string[]): string | undefined {
  const own = `${request.protocol}://${request.host}`;
  const sameOrigin = (origin: string) => origin === own || allowedOrigins.includes(origin);
  const origin = request.headers.origin;
  const fetchSite = request.headers['sec-fetch-site'];
  const referer = request.headers.referer;
  if (origin !== undefined) {
    if (!sameOrigin(origin)) return `origin ${origin.slice(0, 200)} is not the console's`;
  } else if (typeof fetchSite === 'string') {
    if (fetchSite !== 'same-origin') return `Sec-Fetch-Site is ${fetchSite.slice(0, 40)}`;
  } else if (referer !== undefined) {
    let refOrigin: string | undefined;
    try {
      refOrigin = new URL(referer).origin;
    } catch {
      // reported below
    }
    if (!refOrigin || !sameOrigin(refOrigin)) return 'the Referer is not the console';
  } else {
    return 'no Origin, Sec-Fetch-Site or Referer';
  }
  return undefined;
}

/**
 * Why a cookie-authenticated change is refused, or undefined when it may go ahead. The request must come from the
 * console's origin (`originRefusal`) and carry the session's CSRF token: a page elsewhere can make the browser send
 * the cookie, but can neither set a custom header on a cross-site request without CORS (which the collector never
 * grants) nor compute the token.
 */
export function csrfRefusal(
  request: FastifyRequest,
  sessionToken: string,
  allowedOrigins: readonly string[],
): string | undefined {
  const refused = originRefusal(request, allowedOrigins);
  if (refused) return refused;
  const presented = request.headers[CSRF_HEADER];
  if (typeof presented !== 'string' || !csrfMatches(sessionToken, presented)) return `no valid ${CSRF_HEADER} header`;
  return undefined;
}

/** Builds the onRequest hook. */
export function createAuthenticate(auth: AuthService, options: { audit: AuditLog; allowedOrigins: readonly string[] }) {
  return async function authenticate(request: FastifyRequest): Promise<void> {
    request.actor = null;
    if (request.is404 || request.routeOptions.config.public === true) return;
    const credential = credentialOf(request);
    const actor = credential ? await auth.authenticate(credential.token) : undefined;
    if (!actor) {
      throw new OutpostError('OUTPOST_E_UNAUTHENTICATED', {
        message: credential ? 'The token is unknown, expired or revoked' : 'Authentication required',
      });
    }
    if (credential?.via === 'cookie' && !SAFE_METHODS.has(request.method)) {
      const reason = csrfRefusal(request, credential.token, options.allowedOrigins);
      if (reason) {
        await options.audit.record({
          type: 'auth.csrf',
          code: 'OUTPOST_E_CSRF_REFUSED',
          result: 'denied',
          actor: actorRef(actor),
          resource: `${request.method} ${request.routeOptions.url ?? ''}`.slice(0, 300),
          remoteIp: request.ip,
          details: { reason },
        });
        throw new OutpostError('OUTPOST_E_CSRF_REFUSED', { message: `Cross-site request refused: ${reason}` });
      }
    }
    request.actor = actor;
  };
}
