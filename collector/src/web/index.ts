/**
 * The web concern owns what the browser gets from the API listener: the built console (static files, SPA fallback
 * for console pages only), the security headers of every answer (CSP, nosniff, no framing) and the OpenAPI document.
 * It owns no tables and must never serve data of its own: the console reads everything through the REST API.
 */
import { fileURLToPath } from 'node:url';
import type { App } from '../http/types.js';
import { consoleRoutes } from './console-routes.js';
import { SECURITY_HEADERS } from './headers.js';
import { registerOpenApi } from './openapi.js';

/** Where `pnpm build` writes the console, from this file in `collector/src/web` or `collector/dist/web`. */
export const CONSOLE_DIST = fileURLToPath(new URL('../../../console/dist/', import.meta.url));

export { CONSOLE_PAGES } from './console-routes.js';
export { CONTENT_SECURITY_POLICY, SECURITY_HEADERS } from './headers.js';

/**
 * Installs the web concern on the API instance. Call it before any route is registered: the OpenAPI generator and
 * the header hook must see every route.
 */
export async function installWeb(app: App, opts: { version: string; consoleRoot?: string }): Promise<void> {
  app.addHook('onSend', async (_req, reply, payload) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) if (!reply.hasHeader(k)) void reply.header(k, v);
    return payload;
  });
  await registerOpenApi(app, opts.version);
  await app.register(consoleRoutes({ root: opts.consoleRoot ?? CONSOLE_DIST }));
}
