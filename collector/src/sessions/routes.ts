/**
 * Routes of the sessions concern: the technician shell socket (Origin allow-list, `shell` or `shell.elevated`
 * on the agent's client), the read-only join socket, the session list and the recording download.
 */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { OutpostError } from '@outpost/shared';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { Agents } from '../agents/index.js';
import type { AuditLog } from '../audit/index.js';
import { type Action, type Actor, actorOf, actorRef, clientScope, type Guard } from '../auth/index.js';
import { errorResponses, Limit, NullableString, NullableTime } from '../http/schemas.js';
import type { LiveShell } from './live.js';
import type { LiveTransfer } from './live-transfer.js';
import { type Sessions, TECH_FRAMES_PER_SECOND } from './service.js';
import type { SessionKindKey, SessionRecord, SessionScopes } from './store.js';
import { techMessages } from './wire.js';

const SessionSchema = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  agentId: Type.String(),
  clientId: Type.String(),
  siteId: Type.String(),
  userId: Type.String(),
  userEmail: Type.String(),
  elevated: Type.Boolean(),
  path: NullableString,
  startedAt: Type.Integer(),
  endedAt: NullableTime,
  exitCode: Type.Union([Type.Integer(), Type.Null()]),
  closeReason: NullableString,
  cols: Type.Union([Type.Integer(), Type.Null()]),
  rows: Type.Union([Type.Integer(), Type.Null()]),
  recordingStatus: Type.String(),
  recordingBytes: Type.Union([Type.Integer(), Type.Null()]),
  bytesOut: Type.Integer(),
  bytesIn: Type.Integer(),
  sha256: NullableString,
  /** ok, refused, failed or ended (by the collector: timeouts, restart…); null while live. */
  outcome: Type.Union([
    Type.Literal('ok'),
    Type.Literal('refused'),
    Type.Literal('failed'),
    Type.Literal('ended'),
    Type.Null(),
  ]),
  /** The code of a refusal, failure or end (`OUTPOST_E_…`); null when ok. */
  outcomeCode: NullableString,
  live: Type.Boolean(),
});
const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) }, { additionalProperties: false });
const ShellQuery = Type.Object(
  {
    cols: Type.Integer({ minimum: 1, maximum: 1000, default: 80 }),
    rows: Type.Integer({ minimum: 1, maximum: 1000, default: 24 }),
    elevated: Type.Boolean({ default: false }),
  },
  { additionalProperties: false },
);
const FilesQuery = Type.Object(
  {
    direction: Type.Union([Type.Literal('upload'), Type.Literal('download')]),
    path: Type.String({ minLength: 1, maxLength: 4096 }),
    /** Download: resume from this byte; upload: write from here (unless `resume`). */
    offset: Type.Integer({ minimum: 0, default: 0 }),
    /** Upload: the whole file's size. */
    size: Type.Integer({ minimum: 0, default: 0 }),
    /** Upload: keep what the agent already holds and continue after it. */
    resume: Type.Boolean({ default: false }),
    /** Upload: SHA-256 (hex) of the whole local file, checked against the agent's at the end. */
    sha256: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
  },
  { additionalProperties: false },
);
type FilesQuery = {
  direction: 'upload' | 'download';
  path: string;
  offset: number;
  size: number;
  resume: boolean;
  sha256?: string;
};

type UserActor = Extract<Actor, { kind: 'user' }>;

/** The permission each kind of session needed to open; watching, listing or replaying it needs the same. */
const KIND_ACTIONS: Record<SessionKindKey, Action> = {
  shell: 'shell',
  elevated: 'shell.elevated',
  download: 'file.read',
  upload: 'file.write',
};

/**
 * The permission a session needed when it was opened, which seeing it (its row, a live join, its recording) needs
 * too: a tier-1 technician must not watch an administrator's root shell or read what was typed in it.
 */
export function sessionAction(r: Pick<SessionRecord, 'kind' | 'elevated'>): Action {
  return KIND_ACTIONS[r.kind === 'shell' ? (r.elevated ? 'elevated' : 'shell') : r.kind];
}
interface Admitted {
  actor: UserActor;
  agent: { id: string; clientId: string; siteId: string };
}

/** The sessions routes plugin. */
export function sessionsRoutes(deps: {
  sessions: Sessions;
  agents: Agents;
  audit: AuditLog;
  guard: Guard;
  allowedOrigins: readonly string[];
}): FastifyPluginAsyncTypebox {
  const { sessions, agents, audit, guard } = deps;
  const admitted = new WeakMap<FastifyRequest, Admitted>();
  const view = (r: SessionRecord) => ({ ...r, live: sessions.live.has(r.id) || sessions.transfers.has(r.id) });

  /** Origin must be absent (a CLI, authenticated by bearer token) or exactly one of the allowed origins. */
  const checkOrigin = async (
    req: FastifyRequest,
    agentId: string | null,
    clientId: string | null,
    type = 'shell.open',
  ) => {
    const origin = req.headers.origin;
    const bearer = req.headers.authorization?.startsWith('Bearer ');
    // The console is served by this listener: its own origin (scheme and Host, as the CSRF check reads it) is allowed.
    const own = `${req.protocol}://${req.host}`;
    if (
      (origin === undefined && bearer) ||
      (origin !== undefined && (origin === own || deps.allowedOrigins.includes(origin)))
    )
      return;
    await audit.record({
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
  };

  const userOf = (req: FastifyRequest): UserActor => {
    const actor = actorOf(req);
    if (actor.kind !== 'user') throw new OutpostError('OUTPOST_E_FORBIDDEN', { message: 'sessions belong to users' });
    return actor;
  };

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
  const floodError = () =>
    new OutpostError('OUTPOST_E_RATE_LIMITED', {
      message: `more than ${TECH_FRAMES_PER_SECOND} frames in a second from the technician`,
    });

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

  const refuseSocket = (ws: WebSocket, err: unknown) => {
    const e = err instanceof OutpostError ? err : new OutpostError('OUTPOST_E_INTERNAL', { cause: err });
    if (ws.readyState === ws.OPEN) {
      ws.send(JSON.stringify({ type: 'session.error', code: e.code, message: e.message }));
      ws.close(e.wsCloseCode, e.code);
    }
  };

  return async (app) => {
    app.get(
      '/api/v1/agents/:id/shell',
      {
        websocket: true,
        schema: { params: IdParams, querystring: ShellQuery },
        preValidation: async (req: FastifyRequest) => {
          const { id } = req.params as { id: string };
          const actor = userOf(req);
          const agent = await agents.get(id);
          if (!agent) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No agent ${id}` });
          const elevated =
            (req.query as { elevated?: unknown }).elevated === true ||
            (req.query as { elevated?: unknown }).elevated === 'true';
          // The guard first: an agent of a client the caller may not see is answered as an unknown one, whatever
          // the Origin (an origin refusal would tell that it exists).
          await guard(req, elevated ? 'shell.elevated' : 'shell', { type: 'agent', id, clientId: agent.clientId });
          await checkOrigin(req, agent.id, agent.clientId);
          if (!agents.isOnline(agent.id))
            throw new OutpostError('OUTPOST_E_AGENT_OFFLINE', { message: `Agent ${id} is not connected` });
          admitted.set(req, { actor, agent: { id: agent.id, clientId: agent.clientId, siteId: agent.siteId } });
        },
      } as never,
      (async (
        ws: WebSocket,
        req: FastifyRequest<{ Querystring: { cols: number; rows: number; elevated: boolean } }>,
      ) => {
        const a = admitted.get(req);
        if (!a) return refuseSocket(ws, new OutpostError('OUTPOST_E_FORBIDDEN'));
        try {
          const s = await sessions.openShell(
            {
              actor: a.actor,
              agentId: a.agent.id,
              clientId: a.agent.clientId,
              siteId: a.agent.siteId,
              cols: req.query.cols,
              rows: req.query.rows,
              elevated: req.query.elevated,
              ip: req.ip,
            },
            ws,
          );
          wireTech(ws, s, a.actor, false, req.log);
        } catch (err) {
          refuseSocket(ws, err);
        }
      }) as never,
    );

    app.get(
      '/api/v1/agents/:id/files',
      {
        websocket: true,
        schema: { params: IdParams, querystring: FilesQuery },
        preValidation: async (req: FastifyRequest) => {
          const { id } = req.params as { id: string };
          const q = req.query as FilesQuery;
          const actor = userOf(req);
          const agent = await agents.get(id);
          if (!agent) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No agent ${id}` });
          const type = q.direction === 'upload' ? 'file.upload' : 'file.download';
          await guard(req, q.direction === 'upload' ? 'file.write' : 'file.read', {
            type: 'agent',
            id,
            clientId: agent.clientId,
          });
          await checkOrigin(req, agent.id, agent.clientId, type);
          if (!agents.isOnline(agent.id))
            throw new OutpostError('OUTPOST_E_AGENT_OFFLINE', { message: `Agent ${id} is not connected` });
          admitted.set(req, { actor, agent: { id: agent.id, clientId: agent.clientId, siteId: agent.siteId } });
        },
      } as never,
      (async (ws: WebSocket, req: FastifyRequest<{ Querystring: FilesQuery }>) => {
        const a = admitted.get(req);
        if (!a) return refuseSocket(ws, new OutpostError('OUTPOST_E_FORBIDDEN'));
        // Listen before the open completes so no early frame is lost; frames before `transfer.ready` are dropped.
        let transfer: LiveTransfer | undefined;
        const allowed = floodCheck(ws, req.log, { agentId: a.agent.id, userId: a.actor.id }, () => {
          const err = floodError();
          if (transfer) transfer.end({ reason: err.message, exitCode: null, code: err.code });
          else refuseSocket(ws, err);
        });
        ws.on('message', (data, isBinary) => {
          if (!allowed() || !transfer) return;
          if (isBinary) sessions.fromTech(transfer, data as Buffer);
          else
            transfer.end({ reason: 'technician closed the transfer', exitCode: null, code: 'OUTPOST_E_SESSION_ENDED' });
        });
        try {
          transfer = await sessions.openTransfer(
            {
              actor: a.actor,
              agentId: a.agent.id,
              clientId: a.agent.clientId,
              siteId: a.agent.siteId,
              ip: req.ip,
              direction: req.query.direction,
              path: req.query.path,
              offset: req.query.offset,
              size: req.query.size,
              resume: req.query.resume,
              sha256: req.query.sha256,
            },
            ws,
          );
        } catch (err) {
          refuseSocket(ws, err);
        }
      }) as never,
    );

    app.get(
      '/api/v1/sessions/:id/join',
      {
        websocket: true,
        schema: { params: IdParams },
        preValidation: async (req: FastifyRequest) => {
          const { id } = req.params as { id: string };
          const actor = userOf(req);
          const rec = await sessions.store.get(id);
          if (!rec) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No session ${id}` });
          await guard(req, sessionAction(rec), { type: 'session', id, clientId: rec.clientId });
          await checkOrigin(req, rec.agentId, rec.clientId, 'shell.join');
          admitted.set(req, { actor, agent: { id: rec.agentId, clientId: rec.clientId, siteId: rec.siteId } });
        },
      } as never,
      (async (ws: WebSocket, req: FastifyRequest<{ Params: { id: string } }>) => {
        const a = admitted.get(req);
        if (!a) return refuseSocket(ws, new OutpostError('OUTPOST_E_FORBIDDEN'));
        try {
          const s = await sessions.join(req.params.id, a.actor, ws, req.ip);
          wireTech(ws, s, a.actor, true, req.log);
        } catch (err) {
          refuseSocket(ws, err);
        }
      }) as never,
    );

    app.get(
      '/api/v1/sessions',
      {
        schema: {
          querystring: Type.Object(
            { agentId: Type.Optional(Type.String({ maxLength: 64 })), limit: Limit },
            { additionalProperties: false },
          ),
          response: { 200: Type.Object({ sessions: Type.Array(SessionSchema) }), ...errorResponses },
        },
      },
      async (req) => {
        const actor = actorOf(req);
        const scopes: SessionScopes = {};
        for (const [kind, action] of Object.entries(KIND_ACTIONS) as [SessionKindKey, Action][]) {
          const scope = clientScope(actor, action);
          if (scope === 'all') scopes[kind] = undefined;
          else if (scope.length > 0) scopes[kind] = scope;
        }
        // Someone who may open no kind of session anywhere is refused (403, audited), not shown an empty list.
        if (Object.keys(scopes).length === 0) await guard.scope(req, 'shell', 'session');
        const rows = await sessions.store.list({ scopes, agentId: req.query.agentId, limit: req.query.limit });
        return { sessions: rows.map(view) };
      },
    );

    app.get(
      '/api/v1/sessions/:id',
      { schema: { params: IdParams, response: { 200: SessionSchema, ...errorResponses } } },
      async (req) => {
        const rec = await sessions.store.get(req.params.id);
        if (!rec) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No session ${req.params.id}` });
        await guard(req, sessionAction(rec), { type: 'session', id: rec.id, clientId: rec.clientId });
        return view(rec);
      },
    );

    app.get(
      '/api/v1/sessions/:id/recording',
      {
        schema: {
          params: IdParams,
          querystring: Type.Object({ gzip: Type.Boolean({ default: false }) }, { additionalProperties: false }),
          response: {
            200: Type.String({ description: 'asciicast v2 (newline-delimited JSON), or gzip of it' }),
            ...errorResponses,
          },
        },
      },
      async (req, reply) => {
        const rec = await sessions.store.get(req.params.id);
        if (!rec) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No session ${req.params.id}` });
        await guard(req, sessionAction(rec), { type: 'session', id: rec.id, clientId: rec.clientId });
        if (!rec.recordingFile || rec.recordingStatus === 'recording' || rec.recordingStatus === 'none')
          throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `Session ${rec.id} has no finished recording` });
        const file = createReadStream(join(sessions.dataDir, rec.recordingFile));
        reply.header('content-disposition', `attachment; filename="${rec.id}.cast${req.query.gzip ? '.gz' : ''}"`);
        if (req.query.gzip) return reply.type('application/gzip').send(file as never);
        return reply.type('application/x-asciicast').send(file.pipe(createGunzip()) as never);
      },
    );
  };
}
