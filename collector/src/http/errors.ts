/** Maps every error a route throws to the catalogue's JSON shape, and logs it with the request's context. */
import { OutpostError } from '@outpost/shared';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';

function toOutpostError(err: FastifyError | Error): OutpostError {
  if (err instanceof OutpostError) return err;
  const fe = err as FastifyError;
  if (fe.validation) {
    return new OutpostError('OUTPOST_E_BAD_REQUEST', {
      message: `Request ${fe.validationContext ?? ''} ${fe.message}`.replace(/\s+/g, ' ').trim(),
      details: { context: fe.validationContext ?? '' },
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
  const e = toOutpostError(err);
  const log = { err, code: e.code, route: request.routeOptions.url, method: request.method, actor: request.actor?.id };
  if (e.status >= 500) request.log.error(log, 'request failed');
  else request.log.info(log, 'request refused');
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

/**
 * @fastify/websocket error handler. An error the `ws` receiver raises on a peer's broken frame (over the size limit,
 * invalid UTF-8, a reserved opcode or close code: codes `WS_ERR_*`) is the peer's doing, and `ws` has already sent
 * the matching close code (1009, 1007, 1002): it is logged as a refusal, not as a collector error. Anything else (a
 * socket handler that threw) is a collector bug and is logged at error level. The socket is dropped either way.
 */
export function websocketErrorHandler(error: Error, socket: WebSocket, request: FastifyRequest): void {
  const code = (error as { code?: unknown }).code;
  const context = { route: request.routeOptions.url, ip: request.ip };
  if (typeof code === 'string' && code.startsWith('WS_ERR_'))
    request.log.warn({ ...context, code, reason: error.message }, 'websocket peer sent a broken frame');
  else request.log.error({ ...context, err: error }, 'websocket handler failed');
  socket.terminate();
}
