/**
 * What the technician socket routes (shell, files, join) share: the Origin check, the user-only rule, the frame
 * flood limit, the coded refusal and the wiring of a shell socket's frames to its session.
 */
import { OutpostError } from '@outpost/shared';
import type { FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { Agents } from '../agents/index.js';
import type { AuditLog } from '../audit/index.js';
import { type Actor, actorOf, actorRef, type Guard } from '../auth/index.js';
import type { LiveShell } from './live.js';
import { type Sessions, TECH_FRAMES_PER_SECOND } from './service.js';
import { techMessages } from './wire.js';

/** A user, the only kind of actor a session belongs to. */
export type UserActor = Extract<Actor, { kind: 'user' }>;

/** Who preValidation let through, and to which agent, read back by the socket handler. */
export interface Admitted {
  actor: UserActor;
  agent: { id: string; clientId: string; siteId: string };
}

/** What the sessions routes are built from. */
export interface SessionsRouteDeps {
  sessions: Sessions;
  agents: Agents;
  audit: AuditLog;
  guard: Guard;
  allowedOrigins: readonly string[];
}

/** The helpers every technician socket route uses, bound to the routes' dependencies. */
export interface SocketTools {
  /** Admissions by request, set in preValidation and read by the socket handler. */
  admitted: WeakMap<FastifyRequest, Admitted>;
  checkOrigin(req: FastifyRequest, agentId: string | null, clientId: string | null, type?: string): Promise<void>;
  userOf(req: FastifyRequest): UserActor;
  floodCheck(ws: WebSocket, log: FastifyRequest['log'], context: object, flood: () => void): () => boolean;
  floodError(): OutpostError;
  refuseSocket(ws: WebSocket, err: unknown): void;
  wireTech(ws: WebSocket, s: LiveShell, actor: UserActor, readOnly: boolean, log: FastifyRequest['log']): void;
}

/** The user behind a request; sessions belong to users, so a token of another kind is refused. */
function userOf(req: FastifyRequest): UserActor {
  const actor = actorOf(req);
  if (actor.kind !== 'user') throw new OutpostError('OUTPOST_E_FORBIDDEN', { message: 'sessions belong to users' });
  return actor;
}

/** The coded error of a technician socket that sent too many frames. */
const floodError = (): OutpostError =>
  new OutpostError('OUTPOST_E_RATE_LIMITED', {
    message: `more than ${TECH_FRAMES_PER_SECOND} frames in a second from the technician`,
  });

/** Sends the coded refusal to a technician socket still open, then closes it with the error's close code. */
function refuseSocket(ws: WebSocket, err: unknown): void {
  const e = err instanceof OutpostError ? err : new OutpostError('OUTPOST_E_INTERNAL', { cause: err });
  if (ws.readyState === ws.OPEN) {
    ws.send(JSON.stringify({ type: 'session.error', code: e.code, message: e.message }));
    ws.close(e.wsCloseCode, e.code);
  }
}

/** Origin must be absent (a CLI, authenticated by bearer token) or exactly one of the allowed origins. */
async function checkOrigin(
  deps: SessionsRouteDeps,
  req: FastifyRequest,
  agentId: string | null,
  clientId: string | null,
  type = 'shell.open',
): Promise<void> {
  const origin = req.headers.origin;
  const bearer = req.headers.authorization?.startsWith('Bearer ');
  // The console is served by this listener: its own origin (scheme and Host, as the CSRF check reads it) is allowed.
  const own = `${req.protocol}://${req.host}`;
  if (
    (origin === undefined && bearer) ||
    (origin !== undefined && (origin === own || deps.allowedOrigins.includes(origin)))
  )
    return;
  await deps.audit.record({
    type,
    code: 'OUTPOST_E_ORIGIN_REFUSED',
    result: 'denied',
    actor: actorRef(actorOf(req)),
    clientId,
    agentId,
    resource: agentId ? `agent:${agentId}` : null,
    remoteIp: req.ip,
    details: { origin: origin ?? null },
  });
  throw new OutpostError('OUTPOST_E_ORIGIN_REFUSED', { details: { origin: origin ?? null } });
}

/** Binds the socket helpers to one set of dependencies (one per sessions plugin). */
export function socketTools(deps: SessionsRouteDeps): SocketTools {
  const { sessions } = deps;

  /**
   * Counts every frame a technician socket sends (text or binary, a read-only joiner's too, before a transfer is
   * ready as after); past TECH_FRAMES_PER_SECOND, `flood` runs once, one line is logged, nothing after is read, and
   * the socket is cut if it has not closed within half a second. True while the frame may be handled.
   */
  const floodCheck = (ws: WebSocket, log: FastifyRequest['log'], context: object, flood: () => void) => {
    const frames = sessions.techFrames();
    let flooded = false;
    return (): boolean => {
      if (flooded) return false;
      if (frames.take()) return true;
      flooded = true;
      log.warn({ ...context, code: 'OUTPOST_E_RATE_LIMITED' }, 'technician socket sent too many frames; closing it');
      flood();
      ws.pause();
      setTimeout(() => ws.terminate(), 500).unref();
      return false;
    };
  };

  const wireTech = (ws: WebSocket, s: LiveShell, actor: UserActor, readOnly: boolean, log: FastifyRequest['log']) => {
    const allowed = floodCheck(ws, log, { sessionId: s.id, userId: actor.id, readOnly }, () => {
      const err = floodError();
      if (readOnly) refuseSocket(ws, err);
      else s.end({ reason: err.message, exitCode: null, code: err.code });
    });
    ws.on('message', (data, isBinary) => {
      if (!allowed() || readOnly) return;
      if (isBinary) {
        sessions.fromTech(s, data as Buffer);
        return;
      }
      try {
        const msg = techMessages.decode(data.toString());
        if (msg.type === 'session.resize')
          // A failure to audit (the database closing at shutdown) is logged; it must never be an unhandled rejection.
          sessions
            .resize(s, actor, msg.cols, msg.rows)
            .catch((err: unknown) => log.warn({ err, sessionId: s.id }, 'session resize not recorded'));
        else s.end({ reason: 'technician closed the session', exitCode: null });
      } catch (err) {
        s.end({ reason: (err as Error).message, exitCode: null, code: 'OUTPOST_E_BAD_MESSAGE' });
      }
    });
  };

  return {
    admitted: new WeakMap(),
    checkOrigin: (req, agentId, clientId, type) => checkOrigin(deps, req, agentId, clientId, type),
    userOf,
    floodCheck,
    floodError,
    refuseSocket,
    wireTech,
  };
}
