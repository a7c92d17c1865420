/**
 * Routes of the updates concern. Agents fetch release metadata and executables (public: everything served is
 * signed offline and verified by the agent; the bytes stream from disk). Admins upload a signed repository
 * (files streamed to a staging area, then validated whole), list what is served, and assign a version to an agent.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { OutpostError, ReleaseVersion } from '@outpost/shared';
import { Type } from '@sinclair/typebox';
import type { Guard } from '../auth/index.js';
import { errorResponses } from '../http/schemas.js';
import type { App } from '../http/types.js';
import { ReleaseList, ReleaseState, UpdateAssigned, UpdateStatuses, UploadedFile, UploadStarted } from './api.js';
import { MAX_RELEASE_FILE_BYTES } from './repository.js';
import type { Updates } from './service.js';

const UploadParams = Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_-]{16}$' }) });
const RELEASES = { type: 'release', clientId: null } as const;

/** Agent-facing routes: metadata and targets, streamed. Registered on the listener agents use. */
export function updatesAgentRoutes(deps: { updates: Updates }): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/v1/updates/metadata/:name',
      {
        config: { public: true },
        schema: { params: Type.Object({ name: Type.String({ maxLength: 64 }) }) },
      },
      async (req, reply) => {
        await deps.updates.sync();
        const file = deps.updates.repository.metadataFile(req.params.name);
        if (!file)
          throw new OutpostError('OUTPOST_E_NOT_FOUND', {
            message: `No release metadata ${req.params.name.slice(0, 64)}`,
          });
        reply.header('cache-control', 'no-store').type('application/json');
        return reply.send(createReadStream(file));
      },
    );
    app.get(
      '/v1/updates/targets/*',
      { config: { public: true }, schema: { params: Type.Object({ '*': Type.String({ maxLength: 1024 }) }) } },
      async (req, reply) => {
        await deps.updates.sync();
        const t = deps.updates.repository.targetFile(req.params['*']);
        if (!t) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: 'No such release file' });
        reply.header('content-length', t.size).type('application/octet-stream');
        // Streamed from disk: 500 agents downloading at once cost file descriptors, not 500 copies in memory.
        return reply.send(createReadStream(t.file));
      },
    );
  };
}

/** What the updates routes are built from. */
export type UpdatesRoutesDeps = {
  updates: Updates;
  guard: Guard;
  agentClient: (agentId: string) => Promise<string | undefined>;
};

/** Admin routes: upload, publish, list, assign, history. */
export function updatesRoutes(deps: UpdatesRoutesDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    releaseUploadRoutes(app, deps);
    releaseListRoutes(app, deps);
    agentUpdateRoutes(app, deps);
  };
}

/** Publishing a release: open an upload, put its metadata and targets as streams, commit it. */
function releaseUploadRoutes(app: App, deps: UpdatesRoutesDeps): void {
  const { updates, guard } = deps;
  // Uploaded files arrive as raw bytes, handed to the route as a stream (never buffered whole).
  app.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));

  app.post(
    '/api/v1/releases/uploads',
    { schema: { response: { 201: UploadStarted, ...errorResponses } } },
    async (req, reply) => {
      await guard(req, 'releases.publish', RELEASES);
      return reply.code(201).send({ id: updates.openUpload() });
    },
  );

  const put =
    (kind: 'metadata' | 'targets') =>
    async (req: { params: { id: string; name?: string; '*'?: string }; body: unknown }) => {
      const path = kind === 'metadata' ? req.params.name! : req.params['*']!;
      const size = await updates.putFile(req.params.id, kind, path, req.body as Readable);
      return { path, size };
    };

  const PutResponse = { 200: UploadedFile, ...errorResponses };

  app.put(
    '/api/v1/releases/uploads/:id/metadata/:name',
    {
      bodyLimit: 4 * 1024 * 1024,
      schema: {
        params: Type.Object({ id: UploadParams.properties.id, name: Type.String({ maxLength: 64 }) }),
        response: PutResponse,
      },
      preHandler: async (req) => {
        await guard(req, 'releases.publish', RELEASES);
      },
    },
    put('metadata'),
  );

  app.put(
    '/api/v1/releases/uploads/:id/targets/*',
    {
      bodyLimit: MAX_RELEASE_FILE_BYTES,
      schema: {
        params: Type.Object({ id: UploadParams.properties.id, '*': Type.String({ maxLength: 1024 }) }),
        response: PutResponse,
      },
      preHandler: async (req) => {
        await guard(req, 'releases.publish', RELEASES);
      },
    },
    put('targets'),
  );

  app.post(
    '/api/v1/releases/uploads/:id/commit',
    {
      schema: {
        params: UploadParams,
        response: {
          200: ReleaseList,
          ...errorResponses,
          422: errorResponses[400],
        },
      },
    },
    async (req) => {
      const actor = await guard(req, 'releases.publish', RELEASES);
      return { releases: await updates.publish(req.params.id, actor, req.ip) };
    },
  );
}

/** The published releases. */
function releaseListRoutes(app: App, deps: UpdatesRoutesDeps): void {
  const { updates, guard } = deps;
  app.get('/api/v1/releases', { schema: { response: { 200: ReleaseState, ...errorResponses } } }, async (req) => {
    await guard(req, 'releases.read', RELEASES);
    await updates.sync();
    return updates.state();
  });
}

/** One agent's updates: ask it to update, and its update history. */
function agentUpdateRoutes(app: App, deps: UpdatesRoutesDeps): void {
  const { updates, guard } = deps;
  const loadAgent = async (req: Parameters<Guard>[0], id: string, action: 'agent.update' | 'agent.read') => {
    const clientId = await deps.agentClient(id);
    if (!clientId) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No agent ${id.slice(0, 64)}` });
    return { clientId, actor: await guard(req, action, { type: 'agent', id, clientId }) };
  };

  app.post(
    '/api/v1/agents/:id/update',
    {
      schema: {
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        body: Type.Object({ version: ReleaseVersion }, { additionalProperties: false }),
        response: {
          200: UpdateAssigned,
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const { clientId, actor } = await loadAgent(req, req.params.id, 'agent.update');
      const { assignment, sent } = await updates.assign(req.params.id, clientId, req.body.version, actor);
      return { assignmentId: assignment.id, version: assignment.version, sent };
    },
  );

  app.get(
    '/api/v1/agents/:id/updates',
    {
      schema: {
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: {
          200: UpdateStatuses,
          ...errorResponses,
        },
      },
    },
    async (req) => {
      await loadAgent(req, req.params.id, 'agent.read');
      return { statuses: await updates.statuses(req.params.id) };
    },
  );
}
