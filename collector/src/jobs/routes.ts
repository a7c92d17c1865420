/**
 * Routes of the jobs concern: `/api/v1/jobs…` and the script library `/api/v1/scripts…`. Running a job needs
 * `jobs.run` (tier 2 and up) on every client it touches; a client the caller may not see is answered as unknown.
 */

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { OutpostError } from '@outpost/shared';
import { Type } from '@sinclair/typebox';
import type { Guard } from '../auth/index.js';
import { errorResponses, Limit } from '../http/schemas.js';
import type { App } from '../http/types.js';
import { JobInput, JobList, JobView, ScriptInput, ScriptList, ScriptSummary, ScriptView } from './schemas.js';
import type { Jobs } from './service.js';
import type { ScriptRecord } from './store.js';

// Any id shape: an id that cannot exist gets the same 404 as one that does not (never a 400 that tells them apart).
const JobParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const ScriptParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const ScriptQuery = Type.Object(
  { version: Type.Optional(Type.Integer({ minimum: 1 })) },
  { additionalProperties: false },
);
const noJob = (id: string) => new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No job ${id}` });
const summary = (s: ScriptRecord) => ({
  id: s.id,
  clientId: s.clientId,
  name: s.name,
  version: s.version,
  shell: s.shell,
  description: s.description,
  sha256: s.sha256,
  signed: s.signature !== null,
  createdBy: s.createdBy,
  createdAt: s.createdAt,
});

/**
 * Authorises an action on an existing job: a job touching no client the caller sees is unknown (as an unknown
 * id); otherwise the action is needed on every client it touches. Returns the clients whose machines to show.
 */
function jobGuard(deps: JobsRoutesDeps) {
  const { jobs, guard } = deps;
  return async (req: Parameters<Guard>[0], id: string, action: 'jobs.read' | 'jobs.run') => {
    const clients = await jobs.clientsOf(id);
    if (!clients.some((c) => guard.sees(req, c))) throw noJob(id);
    if (action === 'jobs.run') for (const c of clients) await guard(req, action, { type: 'job', id, clientId: c });
    const scope = await guard.scope(req, action, 'job');
    return {
      scope,
      actor: await guard(req, action, { type: 'job', id, clientId: clients.find((c) => guard.sees(req, c)) ?? null }),
    };
  };
}

/** What the jobs routes are built from. */
export type JobsRoutesDeps = { jobs: Jobs; guard: Guard };

/** The jobs routes plugin. */
export function jobsRoutes(deps: JobsRoutesDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    jobListRoutes(app, deps);
    jobRoutes(app, deps);
    scriptRoutes(app, deps);
  };
}

/** Jobs: run one on a target, list them. */
function jobListRoutes(app: App, deps: JobsRoutesDeps): void {
  const { jobs, guard } = deps;
  app.post(
    '/api/v1/jobs',
    { schema: { body: JobInput, response: { 201: JobView, ...errorResponses } } },
    async (req, reply) => {
      const scope = await guard.scope(req, 'jobs.run', 'job');
      const targets = await jobs.resolveTargets(req.body.target, scope);
      if (targets.length === 0)
        throw new OutpostError(
          'OUTPOST_E_JOB_NO_TARGETS',
          // A tag is a label anyone may mistype: say that nobody (you may act on) carries it.
          req.body.target.tag !== undefined
            ? {
                message: `No machine you may run jobs on has tag "${req.body.target.tag}" (within the rest of the target)`,
                details: { tag: req.body.target.tag },
              }
            : {},
        );
      let actor: Awaited<ReturnType<Guard>> | undefined;
      for (const clientId of new Set(targets.map((t) => t.clientId)))
        actor = await guard(req, 'jobs.run', { type: 'job', clientId });
      return reply.status(201).send(await jobs.create(actor!, req.body, targets));
    },
  );

  app.get(
    '/api/v1/jobs',
    {
      schema: {
        querystring: Type.Object(
          { limit: Limit, agentId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) },
          { additionalProperties: false },
        ),
        response: { 200: JobList, ...errorResponses },
      },
    },
    async (req) => ({
      jobs: await jobs.list(await guard.scope(req, 'jobs.read', 'job'), req.query.limit, req.query.agentId),
    }),
  );
}

/** One job: read, cancel, retry (on the clients it touches). */
function jobRoutes(app: App, deps: JobsRoutesDeps): void {
  const { jobs } = deps;
  const guardJob = jobGuard(deps);
  app.get(
    '/api/v1/jobs/:id',
    { schema: { params: JobParams, response: { 200: JobView, ...errorResponses } } },
    async (req) => {
      const { scope } = await guardJob(req, req.params.id, 'jobs.read');
      const view = await jobs.view(req.params.id, scope);
      if (!view) throw noJob(req.params.id);
      return view;
    },
  );

  app.post(
    '/api/v1/jobs/:id/cancel',
    { schema: { params: JobParams, response: { 200: JobView, ...errorResponses } } },
    async (req) => {
      const { actor } = await guardJob(req, req.params.id, 'jobs.run');
      return jobs.cancel(actor, req.params.id);
    },
  );

  app.post(
    '/api/v1/jobs/:id/retry',
    { schema: { params: JobParams, response: { 201: JobView, ...errorResponses } } },
    async (req, reply) => {
      const { actor } = await guardJob(req, req.params.id, 'jobs.run');
      return reply.status(201).send(await jobs.retry(actor, req.params.id));
    },
  );
}

/** The script library: add, list, read. */
function scriptRoutes(app: App, deps: JobsRoutesDeps): void {
  const { jobs, guard } = deps;
  app.post(
    '/api/v1/scripts',
    { schema: { body: ScriptInput, response: { 201: ScriptSummary, ...errorResponses } } },
    async (req, reply) => {
      // A client's script needs the right there; the shared library needs it on every client (a global binding).
      const clientId = req.body.clientId ?? null;
      const actor = await guard(req, 'scripts.manage', { type: 'script', clientId });
      return reply.status(201).send(summary(await jobs.addScript(actor, req.body)));
    },
  );

  app.get('/api/v1/scripts', { schema: { response: { 200: ScriptList, ...errorResponses } } }, async (req) => ({
    scripts: (await jobs.store.scripts(await guard.scope(req, 'scripts.read', 'script'))).map(summary),
  }));

  app.get(
    '/api/v1/scripts/:id',
    { schema: { params: ScriptParams, querystring: ScriptQuery, response: { 200: ScriptView, ...errorResponses } } },
    async (req) => {
      const s = await jobs.store.script(req.params.id, req.query.version);
      const none = new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No script ${req.params.id}` });
      if (!s) {
        await guard.scope(req, 'scripts.read', 'script');
        throw none;
      }
      if (s.clientId === null) await guard.scope(req, 'scripts.read', 'script');
      else await guard(req, 'scripts.read', { type: 'script', id: s.id, clientId: s.clientId });
      return { ...summary(s), body: s.body, signature: s.signature, versions: await jobs.store.scriptVersions(s.id) };
    },
  );
}
