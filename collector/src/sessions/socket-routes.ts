/**
 * The technician socket routes, one function each: the shell (`shell` or `shell.elevated`), a file transfer
 * (`file.read` or `file.write`) and the read-only join. Each admits in preValidation (guard first, then Origin,
 * then the agent online) and opens in the socket handler.
 */
import { OutpostError } from '@outpost/shared';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { App } from '../http/types.js';
import { sessionAction } from './access.js';
import type { LiveTransfer } from './live-transfer.js';
import type { SessionsRouteDeps, SocketTools } from './socket-tools.js';

/** The `:id` of an agent or a session. */
export const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) }, { additionalProperties: false });
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

/** GET /api/v1/agents/:id/shell (websocket): an interactive shell on a connected agent. */
export function shellRoute(app: App, deps: SessionsRouteDeps, t: SocketTools): void {
  const { sessions, agents, guard } = deps;
  app.get(
    '/api/v1/agents/:id/shell',
    {
      websocket: true,
      schema: { params: IdParams, querystring: ShellQuery },
      preValidation: async (req: FastifyRequest) => {
        const { id } = req.params as { id: string };
        const actor = t.userOf(req);
        const agent = await agents.get(id);
        if (!agent) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No agent ${id}` });
        const elevated =
          (req.query as { elevated?: unknown }).elevated === true ||
          (req.query as { elevated?: unknown }).elevated === 'true';
        // The guard first: an agent of a client the caller may not see is answered as an unknown one, whatever
        // the Origin (an origin refusal would tell that it exists).
        await guard(req, elevated ? 'shell.elevated' : 'shell', { type: 'agent', id, clientId: agent.clientId });
        await t.checkOrigin(req, agent.id, agent.clientId);
        if (!agents.isOnline(agent.id))
          throw new OutpostError('OUTPOST_E_AGENT_OFFLINE', { message: `Agent ${id} is not connected` });
        t.admitted.set(req, { actor, agent: { id: agent.id, clientId: agent.clientId, siteId: agent.siteId } });
      },
    } as never,
    (async (ws: WebSocket, req: FastifyRequest<{ Querystring: { cols: number; rows: number; elevated: boolean } }>) => {
      const a = t.admitted.get(req);
      if (!a) return t.refuseSocket(ws, new OutpostError('OUTPOST_E_FORBIDDEN'));
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
        t.wireTech(ws, s, a.actor, false, req.log);
      } catch (err) {
        t.refuseSocket(ws, err);
      }
    }) as never,
  );
}

/** GET /api/v1/agents/:id/files (websocket): an upload or download, resumable, checked by SHA-256. */
export function filesRoute(app: App, deps: SessionsRouteDeps, t: SocketTools): void {
  const { sessions, agents, guard } = deps;
  app.get(
    '/api/v1/agents/:id/files',
    {
      websocket: true,
      schema: { params: IdParams, querystring: FilesQuery },
      preValidation: async (req: FastifyRequest) => {
        const { id } = req.params as { id: string };
        const q = req.query as FilesQuery;
        const actor = t.userOf(req);
        const agent = await agents.get(id);
        if (!agent) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No agent ${id}` });
        const type = q.direction === 'upload' ? 'file.upload' : 'file.download';
        await guard(req, q.direction === 'upload' ? 'file.write' : 'file.read', {
          type: 'agent',
          id,
          clientId: agent.clientId,
        });
        await t.checkOrigin(req, agent.id, agent.clientId, type);
        if (!agents.isOnline(agent.id))
          throw new OutpostError('OUTPOST_E_AGENT_OFFLINE', { message: `Agent ${id} is not connected` });
        t.admitted.set(req, { actor, agent: { id: agent.id, clientId: agent.clientId, siteId: agent.siteId } });
      },
    } as never,
    (async (ws: WebSocket, req: FastifyRequest<{ Querystring: FilesQuery }>) => {
      const a = t.admitted.get(req);
      if (!a) return t.refuseSocket(ws, new OutpostError('OUTPOST_E_FORBIDDEN'));
      // Listen before the open completes, and know the transfer from its creation: `transfer.ready` goes out as the
      // agent's answer arrives, and the technician's first frames may arrive while the open still awaits (the
      // session-opened hook queries the database): they belong to the running transfer, not to the floor (that
      // lost them once: an upload's head missing, OUTPOST_E_CHECKSUM_MISMATCH). Frames before `transfer.ready` drop.
      let transfer: LiveTransfer | undefined;
      const allowed = t.floodCheck(ws, req.log, { agentId: a.agent.id, userId: a.actor.id }, () => {
        const err = t.floodError();
        if (transfer?.running) transfer.end({ reason: err.message, exitCode: null, code: err.code });
        else t.refuseSocket(ws, err);
      });
      ws.on('message', (data, isBinary) => {
        if (!allowed() || !transfer?.running) return;
        if (isBinary) sessions.fromTech(transfer, data as Buffer);
        else
          transfer.end({ reason: 'technician closed the transfer', exitCode: null, code: 'OUTPOST_E_SESSION_ENDED' });
      });
      try {
        await sessions.openTransfer(
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
          (created) => {
            transfer = created;
          },
        );
      } catch (err) {
        t.refuseSocket(ws, err);
      }
    }) as never,
  );
}

/** GET /api/v1/sessions/:id/join (websocket): watch a live shell, read-only. */
export function joinRoute(app: App, deps: SessionsRouteDeps, t: SocketTools): void {
  const { sessions, guard } = deps;
  app.get(
    '/api/v1/sessions/:id/join',
    {
      websocket: true,
      schema: { params: IdParams },
      preValidation: async (req: FastifyRequest) => {
        const { id } = req.params as { id: string };
        const actor = t.userOf(req);
        const rec = await sessions.store.get(id);
        if (!rec) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No session ${id}` });
        await guard(req, sessionAction(rec), { type: 'session', id, clientId: rec.clientId });
        await t.checkOrigin(req, rec.agentId, rec.clientId, 'shell.join');
        t.admitted.set(req, { actor, agent: { id: rec.agentId, clientId: rec.clientId, siteId: rec.siteId } });
      },
    } as never,
    (async (ws: WebSocket, req: FastifyRequest<{ Params: { id: string } }>) => {
      const a = t.admitted.get(req);
      if (!a) return t.refuseSocket(ws, new OutpostError('OUTPOST_E_FORBIDDEN'));
      try {
        const s = await sessions.join(req.params.id, a.actor, ws, req.ip);
        t.wireTech(ws, s, a.actor, true, req.log);
      } catch (err) {
        t.refuseSocket(ws, err);
      }
    }) as never,
  );
}
