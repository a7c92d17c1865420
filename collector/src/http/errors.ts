/** Maps every error a route throws to the catalogue's JSON shape, and logs it with the request's context. */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { OutpostError } from '@outpost/shared';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { type ValidationIssue, validationMessage } from './validation-message.js';

/** The route's schema for one validated part and the value checked, so a union can be reported by its branch. */
function partOf(request: FastifyRequest | undefined, context: string): [unknown, unknown] {
  if (!request) return [undefined, undefined];
  const schema = (request.routeOptions.schema as Record<string, unknown> | undefined)?.[context];
  const data =
    context === 'body'
      ? request.body
      : context === 'querystring'
        ? request.query
        : context === 'params'
          ? request.params
          : context === 'headers'
            ? request.headers
            : undefined;
  return [schema, data];
}

function toOutpostError(err: FastifyError | Error, request?: FastifyRequest): OutpostError {
  if (err instanceof OutpostError) return err;
  const fe = err as FastifyError;
  if (fe.validation) {
    const context = fe.validationContext ?? 'request';
    const said = validationMessage(fe.validation as ValidationIssue[], context, ...partOf(request, context));
    return new OutpostError('OUTPOST_E_BAD_REQUEST', {
      message: `Request ${said.text}`,
      details: { context, field: said.field, ...(said.allowed ? { allowed: said.allowed } : {}) },
    });
  }
  // The router refuses these before any route is matched: a path that is not valid percent-encoding (`%zz`, `%ff`)
  // and a path parameter longer than fastify's maxParamLength. Both are the caller's mistake, not ours.
  if (fe.code === 'FST_ERR_BAD_URL') {
    return new OutpostError('OUTPOST_E_BAD_REQUEST', {
      cause: err,
      message: 'The request path is not valid URL encoding',
    });
  }
  if (fe.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return new OutpostError('OUTPOST_E_BAD_REQUEST', {
      cause: err,
      message: 'A path parameter is longer than any identifier (100 characters at most)',
    });
  }
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new OutpostError('OUTPOST_E_PAYLOAD_TOO_LARGE', { cause: err });
  if (
    fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ||
    fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ||
    fe.statusCode === 400
  ) {
    return new OutpostError('OUTPOST_E_BAD_REQUEST', { cause: err, message: err.message });
  }
  if (fe.statusCode === 404) return new OutpostError('OUTPOST_E_NOT_FOUND', { cause: err });
  if (fe.statusCode === 413) return new OutpostError('OUTPOST_E_PAYLOAD_TOO_LARGE', { cause: err });
  return new OutpostError('OUTPOST_E_INTERNAL', { cause: err });
}

/** Fastify error handler: coded JSON body, structured log (5xx at error level with the cause). */
export function errorHandler(err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
  sendError(err, request, reply, request.routeOptions.url);
}

/**
 * Fastify `frameworkErrors` handler: errors the router raises before a route matched (malformed percent-encoding,
 * an over-long path parameter). Without it fastify answers them with its own uncoded JSON. No route is known here,
 * and `request.routeOptions` would throw, so the log names none.
 */
export function frameworkErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  sendError(err, request, reply, undefined);
}

function sendError(err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply, route: string | undefined) {
  const e = toOutpostError(err, route === undefined ? undefined : request);
  const log = { err, code: e.code, route, method: request.method, actor: request.actor?.id };
  if (e.status >= 500) request.log.error(log, 'request failed');
  else request.log.info(log, 'request refused');
  // A throttled attempt says when to come back (RFC 9110 Retry-After, in seconds).
  const retryAfter = e.details?.retryAfterSec;
  if (e.status === 429 && typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter));
  void reply.status(e.status).send({
    error: {
      code: e.code,
      message: e.message,
      hint: e.hint,
      requestId: String(request.id),
      ...(e.details && e.status < 500 ? { details: e.details } : {}),
    },
  });
}

/** Not-found handler in the same shape. */
export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): void {
  void reply.status(404).send({
    error: {
      code: 'OUTPOST_E_NOT_FOUND',
      message: `No route ${request.method} ${request.url.split('?')[0]}`,
      hint: 'See the API reference.',
      requestId: String(request.id),
    },
  });
}

/** HTTP handler of a WebSocket route: a request that is not an upgrade is refused with a coded error. */
export async function websocketRequired(): Promise<never> {
  throw new OutpostError('OUTPOST_E_WEBSOCKET_REQUIRED');
}

/**
 * Fastify `clientErrorHandler`: bytes that are not HTTP at all (a malformed request line, a bad header character,
 * conflicting Content-Length and Transfer-Encoding, headers past Node's size limit) never become a request, so
 * no hook or error handler sees them; fastify's default answers with its own uncoded JSON. The answer is written
 * on the socket, which is then closed, as Node itself does.
 */
export function clientErrorHandler(this: FastifyInstance, err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const e =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new OutpostError('OUTPOST_E_REQUEST_TIMEOUT', { cause: err })
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? new OutpostError('OUTPOST_E_PAYLOAD_TOO_LARGE', {
            cause: err,
            message: 'The request headers are larger than allowed',
          })
        : new OutpostError('OUTPOST_E_BAD_REQUEST', { cause: err, message: 'The request is not valid HTTP/1.1' });
  // No request exists, so no request id: this one ties the answer to the log line.
  const requestId = `conn-${randomBytes(6).toString('hex')}`;
  this.log.info({ err, code: e.code, requestId, parserCode: err.code }, 'malformed request refused');
  if (socket.writable) {
    const body = JSON.stringify({ error: { code: e.code, message: e.message, hint: e.hint, requestId } });
    socket.write(
      `HTTP/1.1 ${e.status} ${STATUS_TEXT[e.status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 413: 'Payload Too Large' };

/**
 * `onRequest` hook: an HTTP/1.1 request without a Host header is refused with a coded error. Node would refuse it
 * itself with an empty 400 (its `requireHostHeader`, turned off for that reason where the server is created).
 */
export async function requireHost(request: FastifyRequest): Promise<void> {
  if (request.raw.httpVersion === '1.1' && !request.headers.host) {
    throw new OutpostError('OUTPOST_E_BAD_REQUEST', { message: 'An HTTP/1.1 request must carry a Host header' });
  }
}

/**
 * @fastify/websocket error handler. An error the `ws` receiver raises on a peer's broken frame (over the size limit,
 * invalid UTF-8, a reserved opcode or close code: codes `WS_ERR_*`) is the peer's doing, and `ws` has already sent
 * the matching close code (1009, 1007, 1002): it is logged as a refusal, not as a collector error, and the peer gets a
 * moment to read that code before the socket is dropped. Anything else (a socket handler that threw) is a collector
 * bug, logged at error level, and the socket is dropped at once.
 */
export function websocketErrorHandler(error: Error, socket: WebSocket, request: FastifyRequest): void {
  const code = (error as { code?: unknown }).code;
  const context = { route: request.routeOptions.url, ip: request.ip };
  if (typeof code === 'string' && code.startsWith('WS_ERR_')) {
    request.log.warn({ ...context, code, reason: error.message }, 'websocket peer sent a broken frame');
    // `ws` has queued its close frame and drains what the peer still sends; destroying the socket now would reset a
    // connection with unread bytes (the rest of an oversized frame), and the peer would lose the close code.
    setTimeout(() => socket.terminate(), PEER_ERROR_CLOSE_GRACE_MS).unref();
    return;
  }
  request.log.error({ ...context, err: error }, 'websocket handler failed');
  socket.terminate();
}

/** How long a peer that broke the protocol has to read the close frame and hang up before its socket is destroyed. */
const PEER_ERROR_CLOSE_GRACE_MS = 2000;
