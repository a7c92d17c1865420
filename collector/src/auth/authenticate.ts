/** The authentication hook: every request carries a valid bearer token unless its route is explicitly public. */
import { OutpostError } from '@outpost/shared';
import type { FastifyRequest } from 'fastify';
import type { AuthService } from './service.js';

/** Reads `Authorization: Bearer …` (CLI, API) or the console's session cookie. */
function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim();
  const cookie = request.headers.cookie;
  const match = cookie ? /(?:^|;\s*)outpost_session=([^;]+)/.exec(cookie) : null;
  return match?.[1];
}

/** Builds the onRequest hook. */
export function createAuthenticate(auth: AuthService) {
  return async function authenticate(request: FastifyRequest): Promise<void> {
    request.actor = null;
    if (request.is404 || request.routeOptions.config.public === true) return;
    const bearer = bearerOf(request);
    const actor = bearer ? await auth.authenticate(bearer) : undefined;
    if (!actor) {
      throw new OutpostError('OUTPOST_E_UNAUTHENTICATED', {
        message: bearer ? 'The token is unknown, expired or revoked' : 'Authentication required',
      });
    }
    request.actor = actor;
  };
}
