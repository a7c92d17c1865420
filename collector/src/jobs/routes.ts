/**
 * Routes of the jobs concern: `/api/v1/jobs…` and the script library `/api/v1/scripts…`. Running a job needs
 * `jobs.run` (tier 2 and up) on every client it touches; a client the caller may not see is answered as unknown.
 */
import { OutpostError } from '@outpost/shared';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Guard } from '../auth/index.js';
import { errorResponses, Limit } from '../http/schemas.js';
import type { App } from '../http/types.js';
import { JobInput, JobSummary, JobView, ScriptInput, ScriptName, ScriptSummary, ScriptView } from './schemas.js';
import type { Jobs } from './service.js';
import type { ScriptRecord } from './store.js';

const JobParams = Type.Object({ id: Type.String({ pattern: '^jb_[0-9a-f]{24}$' }) });
const ScriptParams = Type.Object({ name: ScriptName });
const ScriptQuery = Type.Object(
  { version: Type.Optional(Type.Integer({ minimum: 1 })) },
  { additionalProperties: false },
);
const noJob = (id: string) => new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No job ${id}` });
const summary = (s: ScriptRecord) => ({
  name: s.name,
  version: s.version,
  shell: s.shell,
  description: s.description,
  sha256: s.sha256,
  signed: s.signature !== null,
  createdBy: s.createdBy,
  createdAt: s.createdAt,
});

/** The jobs routes plugin. */
export function jobsRoutes(deps: { jobs: Jobs; guard: Guard }): FastifyPluginAsync {
  const { jobs, guard } = deps;
  return async (fastify) => {
    const app = fastify as unknown as App;

    /** Authorises an action on an existing job: every client it touches; one the caller cannot see hides it. */
    const guardJob = async (req: Parameters<Guard>[0], id: string, action: 'jobs.read' | 'jobs.run') => {
      const clients = await jobs.clientsOf(id);
      if (clients.length === 0 && !(await jobs.store.job(id))) throw noJob(id);
      const scope = await guard.scope(req, action, 'job');
      if (scope && clients.some((c) => !scope.includes(c))) {
        if (!clients.some((c) => guard.sees(req, c))) throw noJob(id);
        for (const c of clients) await guard(req, action, { type: 'job', id, clientId: c });
      }
      return scope;
    };

    app.post(
      '/api/v1/jobs',
      { schema: { body: JobInput, response: { 201: JobView, ...errorResponses } } },
      async (req, reply) => {
        const scope = await guard.scope(req, 'jobs.run', 'job');
        const targets = await jobs.resolveTargets(req.body.target, scope);
        if (targets.length === 0) throw new OutpostError('OUTPOST_E_JOB_NO_TARGETS');
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
          querystring: Type.Object({ limit: Limit }, { additionalProperties: false }),
          response: { 200: Type.Object({ jobs: Type.Array(JobSummary) }), ...errorResponses },
        },
      },
      async (req) => ({ jobs: await jobs.list(await guard.scope(req, 'jobs.read', 'job'), req.query.limit) }),
    );

    app.get(
      '/api/v1/jobs/:id',
      { schema: { params: JobParams, response: { 200: JobView, ...errorResponses } } },
      async (req) => {
        const scope = await guardJob(req, req.params.id, 'jobs.read');
        const view = await jobs.view(req.params.id, scope);
        if (!view) throw noJob(req.params.id);
        return view;
      },
    );

    app.post(
      '/api/v1/jobs/:id/cancel',
      { schema: { params: JobParams, response: { 200: JobView, ...errorResponses } } },
      async (req) => {
        await guardJob(req, req.params.id, 'jobs.run');
        const clients = await jobs.clientsOf(req.params.id);
        const actor = await guard(req, 'jobs.run', { type: 'job', id: req.params.id, clientId: clients[0] ?? null });
        return jobs.cancel(actor, req.params.id);
      },
    );

    app.post(
      '/api/v1/jobs/:id/retry',
      { schema: { params: JobParams, response: { 201: JobView, ...errorResponses } } },
      async (req, reply) => {
        await guardJob(req, req.params.id, 'jobs.run');
        const clients = await jobs.clientsOf(req.params.id);
        const actor = await guard(req, 'jobs.run', { type: 'job', id: req.params.id, clientId: clients[0] ?? null });
        return reply.status(201).send(await jobs.retry(actor, req.params.id));
      },
    );

    app.post(
      '/api/v1/scripts',
      { schema: { body: ScriptInput, response: { 201: ScriptSummary, ...errorResponses } } },
      async (req, reply) => {
        // The library is shared by every client: adding to it needs the right on every client (a global binding).
        const actor = await guard(req, 'scripts.manage', { type: 'script', id: req.body.name, clientId: null });
        return reply.status(201).send(summary(await jobs.addScript(actor, req.body)));
      },
    );

    app.get(
      '/api/v1/scripts',
      { schema: { response: { 200: Type.Object({ scripts: Type.Array(ScriptSummary) }), ...errorResponses } } },
      async (req) => {
        await guard.scope(req, 'scripts.read', 'script');
        return { scripts: (await jobs.store.scripts()).map(summary) };
      },
    );

    app.get(
      '/api/v1/scripts/:name',
      { schema: { params: ScriptParams, querystring: ScriptQuery, response: { 200: ScriptView, ...errorResponses } } },
      async (req) => {
        await guard.scope(req, 'scripts.read', 'script');
        const s = await jobs.store.script(req.params.name, req.query.version);
        if (!s) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No script ${req.params.name}` });
        const versions = (await jobs.store.scriptVersions(s.name)).map((v) => v.version);
        return { ...summary(s), body: s.body, signature: s.signature, versions };
      },
    );
  };
}
