/**
 * Serves the built console (`console/dist`) on the API listener, same origin as the API: `/` and the console's
 * own page paths answer `index.html` (revalidated every time), `/assets/*` the hashed bundles (immutable).
 * Only the listed page paths fall back to the app: anything under `/api` keeps its coded JSON 404.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { OutpostError } from '@outpost/shared';
import { CACHE_IMMUTABLE, CACHE_REVALIDATE } from './headers.js';

/** Client-side routes of the console: a reload or a shared link on one of them gets the app. */
export const CONSOLE_PAGES = [
  '/',
  '/login',
  '/fleet',
  '/machines/*',
  '/incidents',
  '/incidents/*',
  '/account',
  '/admin',
  '/admin/*',
  '/reports',
  '/reports/*',
] as const;

/** The console routes plugin; `root` is the Vite build output (absent when the console was never built). */
export function consoleRoutes(deps: { root: string }): FastifyPluginAsyncTypebox {
  return async (app) => {
    const built = existsSync(join(deps.root, 'index.html'));
    if (!built) {
      app.log.warn({ root: deps.root }, 'the web console is not built; GET / answers OUTPOST_E_CONSOLE_NOT_BUILT');
    } else {
      // serve:false: the routes below are declared here so each carries `public` and its cache policy.
      await app.register(fastifyStatic, { root: deps.root, serve: false, cacheControl: false, etag: true });
    }
    const page = async (_req: unknown, reply: import('fastify').FastifyReply) => {
      if (!built) throw new OutpostError('OUTPOST_E_CONSOLE_NOT_BUILT', { details: { root: deps.root } });
      return reply.header('cache-control', CACHE_REVALIDATE).sendFile('index.html');
    };
    for (const url of CONSOLE_PAGES) {
      app.get(url, { config: { public: true }, schema: { hide: true } }, page);
    }
    app.get<{ Params: { '*': string } }>(
      '/assets/*',
      { config: { public: true }, schema: { hide: true } },
      async (req, reply) => {
        const name = req.params['*'];
        // Vite names every asset `name-<hash>.ext` under assets/ with no sub-folders; anything else is not ours.
        if (!built || !/^[\w.-]+$/.test(name) || name.startsWith('.'))
          throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No asset ${name.slice(0, 100)}` });
        if (!existsSync(join(deps.root, 'assets', name)))
          throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No asset ${name.slice(0, 100)}` });
        return reply.header('cache-control', CACHE_IMMUTABLE).sendFile(join('assets', name));
      },
    );
  };
}
