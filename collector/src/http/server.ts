/**
 * The fastify instances the collector serves on, set up once: TLS, body limit, strict validation (unknown fields
 * refused), coded errors for framework and client errors, the Host check, unsafe-number refusal, and the record
 * of every route the security suites walk. No route lives here: concerns bring their plugins.
 */

import type https from 'node:https';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { agentsListenSeparately, type CollectorConfig } from '../config.js';
import { COLLECTOR_VERSION } from '../version.js';
import { installWeb } from '../web/index.js';
import {
  clientErrorHandler,
  errorHandler,
  frameworkErrorHandler,
  notFoundHandler,
  requireHost,
  websocketErrorHandler,
  websocketRequired,
} from './errors.js';
import { rejectUnsafeNumbers } from './numbers.js';
import type { App } from './types.js';

/** A route as registered, for the security tests (anonymous refusal, fuzzing from the declared schemas). */
export interface RegisteredRoute {
  method: string;
  url: string;
  public: boolean;
  websocket: boolean;
  /**
   * The request schemas the route declared (TypeBox / JSON Schema), as fastify received them, and its response
   * schemas by status (the CLI's route table is checked against these: docs/0013).
   */
  schema: { body?: unknown; querystring?: unknown; params?: unknown; response?: Record<string, unknown> };
}

/** Largest technician-socket frame (shell input, file chunks) when the API listens apart from the agents. */
const TECHNICIAN_MAX_PAYLOAD = 256 * 1024;

/** A fastify instance with the collector's HTTP rules; every route it registers is appended to `routes`. */
export function createHttp(config: CollectorConfig, routes: RegisteredRoute[]): App {
  const loggerInstance: FastifyBaseLogger = config.logger;
  const options = {
    loggerInstance,
    bodyLimit: config.limits.apiBodyLimitBytes,
    // Unknown fields are refused, not silently dropped: a typo in a request must not pass unnoticed.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
    forceCloseConnections: true,
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
  } satisfies FastifyServerOptions;
  // Node's own Host check answers with an empty 400; `requireHost` below refuses the same requests, coded.
  const server = { requireHostHeader: false };
  const material = config.tls.enabled ? config.tlsMaterial : undefined;
  const app = material
    ? Fastify<https.Server>({ ...options, https: { ...server, cert: material.cert, key: material.key } })
    : Fastify({ ...options, http: server });
  const typed: App = app.withTypeProvider<TypeBoxTypeProvider>();
  typed.addHook('onRoute', (r) => {
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    const ws = r as { websocket?: boolean; wsHandler?: unknown; handler: unknown };
    const isWebsocket = ws.websocket === true;
    if (isWebsocket) {
      // @fastify/websocket answers a plain (non-upgrade) request to a `websocket: true` route with an empty 404.
      // As `wsHandler` beside an HTTP `handler` (the plugin's other form, same upgrade path, registered after this
      // hook runs) the plain request gets a coded refusal instead.
      ws.wsHandler = ws.handler;
      ws.handler = websocketRequired;
      ws.websocket = false;
    }
    for (const method of methods) {
      if (method === 'HEAD') continue;
      routes.push({
        method,
        url: r.url,
        public: r.config?.public === true,
        websocket: isWebsocket,
        schema: {
          ...(r.schema?.body !== undefined ? { body: r.schema.body } : {}),
          ...(r.schema?.querystring !== undefined ? { querystring: r.schema.querystring } : {}),
          ...(r.schema?.params !== undefined ? { params: r.schema.params } : {}),
          ...(r.schema?.response !== undefined ? { response: r.schema.response as Record<string, unknown> } : {}),
        },
      });
    }
  });
  typed.addHook('onRequest', requireHost);
  typed.addHook('preHandler', rejectUnsafeNumbers);
  typed.setErrorHandler(errorHandler);
  typed.setNotFoundHandler(notFoundHandler);
  typed.decorateRequest('actor', null);
  return typed;
}

/** WebSocket support for the agent endpoint: frames up to the configured payload, no compression, no tracking. */
export async function installAgentWebsocket(app: App, config: CollectorConfig): Promise<void> {
  await app.register(websocket, {
    errorHandler: websocketErrorHandler,
    options: { maxPayload: config.limits.agentMaxPayloadBytes, perMessageDeflate: false, clientTracking: false },
  });
}

/** WebSocket support for the technicians' sockets on an API instance that does not also serve agents. */
export async function installTechnicianWebsocket(app: App): Promise<void> {
  await app.register(websocket, {
    errorHandler: websocketErrorHandler,
    options: { maxPayload: TECHNICIAN_MAX_PAYLOAD, perMessageDeflate: false },
  });
}

/** The instances a collector serves on: the API, and the agent endpoint (the API itself unless agents listen apart). */
export interface Listeners {
  api: App;
  agentEndpoint: App;
  /** True when the agent endpoint is an instance of its own. */
  separate: boolean;
}

/**
 * Creates the instances with `authenticate` on every request (CSRF and Origin checks are part of it) and installs the
 * web concern (security headers, console, OpenAPI) first on the API instance, so its hooks see every route after it.
 */
export async function createListeners(
  config: CollectorConfig,
  routes: RegisteredRoute[],
  authenticate: (request: FastifyRequest) => Promise<void>,
): Promise<Listeners> {
  const api = createHttp(config, routes);
  const separate = agentsListenSeparately(config);
  const agentEndpoint = separate ? createHttp(config, routes) : api;
  for (const app of separate ? [api, agentEndpoint] : [api]) app.addHook('onRequest', authenticate);
  await installWeb(api, { version: COLLECTOR_VERSION });
  return { api, agentEndpoint, separate };
}
