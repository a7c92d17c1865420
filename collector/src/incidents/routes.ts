/** Routes of the incidents concern: list and filter, show with the timeline, open by hand, and every ticket action. */

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { OutpostError } from '@outpost/shared';
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { type Actor, actorOf, type Guard } from '../auth/index.js';
import { errorResponses } from '../http/schemas.js';
import type { App } from '../http/types.js';
import type { Incident, Status } from './model.js';
import {
  Bodies,
  INCIDENT_ACTIONS,
  type IncidentAction,
  IncidentDetail,
  IncidentList,
  IncidentView,
  ListQuery,
  OpenBody,
  QueuesView,
} from './schemas.js';
import type { IncidentService } from './service.js';

const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

/** The public shape of a ticket (the SLA clock's internals stay inside). */
export function incidentView(i: Incident) {
  const { nextSlaAt: _next, sla, ...rest } = i;
  return {
    ...rest,
    sla: sla && {
      contractId: sla.contractId,
      calendarId: sla.calendarId,
      responseTargetMs: sla.responseTargetMs,
      resolutionTargetMs: sla.resolutionTargetMs,
      consumedMs: sla.consumedMs,
      running: sla.runningSince !== null,
      responseDue: sla.responseDue,
      resolutionDue: sla.resolutionDue,
      responseBreachedAt: sla.responseBreachedAt,
      resolutionBreachedAt: sla.resolutionBreachedAt,
    },
  };
}

/** One ticket action: its body schema, and what it does with a body that schema has checked. */
interface Action<S extends TSchema> {
  body: S;
  run(svc: IncidentService, actor: Actor, id: string, body: Static<S>): Promise<Incident>;
}
/** Pairs a body schema with its handler so the handler's body is typed from the schema (no cast). */
const action = <S extends TSchema>(body: S, run: Action<S>['run']): Action<S> => ({ body, run });

/** Ticket actions by path segment. All need `incidents.write` on the ticket's client. */
const ACTIONS = {
  ack: action(Bodies.empty, (s, a, id) => s.acknowledge(a, id)),
  take: action(Bodies.empty, (s, a, id) => s.assign(a, id, a.id)),
  assign: action(Bodies.assign, (s, a, id, b) => s.assign(a, id, b.userId, b.reason)),
  comment: action(Bodies.comment, (s, a, id, b) => s.comment(a, id, b.text, { public: b.public === true })),
  escalate: action(Bodies.reason, (s, a, id, b) => s.escalate(a, id, b.reason)),
  deescalate: action(Bodies.reason, (s, a, id, b) => s.deescalate(a, id, b.reason)),
  pause: action(Bodies.reason, (s, a, id, b) => s.pause(a, id, b.reason)),
  resume: action(Bodies.empty, (s, a, id) => s.resume(a, id)),
  resolve: action(Bodies.resolve, (s, a, id, b) => s.resolve(a, id, b.note, b.category)),
  close: action(Bodies.empty, (s, a, id) => s.close(a, id)),
  reopen: action(Bodies.reason, (s, a, id, b) => s.reopen(a, id, b.reason)),
  retriage: action(Bodies.retriage, (s, a, id, b) =>
    s.retriage(a, id, { type: b.type, criticality: b.criticality, reason: b.reason }),
  ),
} satisfies Record<IncidentAction, Action<TSchema>>;

/** What the incidents routes are built from. */
export type IncidentsRoutesDeps = {
  incidents: IncidentService;
  guard: Guard;
  /** The assignee's display name, so people read a name, not a `us_…` id (optional: the id alone without it). */
  userName?(userId: string): Promise<string | undefined>;
};

/** The incidents routes plugin. */
export function incidentsRoutes(deps: IncidentsRoutesDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    incidentListRoutes(app, deps);
    incidentRoutes(app, deps);
  };
}

/** Tickets: list, queues, open one by hand. */
function incidentListRoutes(app: App, deps: IncidentsRoutesDeps): void {
  const { incidents, guard } = deps;
  const { view } = incidentTools(deps);
  app.get(
    '/api/v1/incidents',
    {
      schema: {
        querystring: ListQuery,
        response: {
          200: IncidentList,
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const clientIds = await guard.scope(req, 'incidents.read', 'incident');
      const r = await incidents.list({ ...req.query, status: req.query.status as Status[] | undefined, clientIds });
      const names = new Map<string, Promise<string | undefined>>();
      return { incidents: await Promise.all(r.incidents.map((i) => view(i, names))), total: r.total };
    },
  );

  app.get('/api/v1/incident-queues', { schema: { response: { 200: QueuesView, ...errorResponses } } }, async (req) => ({
    queues: await incidents.queues(await guard.scope(req, 'incidents.read', 'incident')),
  }));

  app.post(
    '/api/v1/incidents',
    { schema: { body: OpenBody, response: { 201: IncidentView, ...errorResponses } } },
    async (req, reply) => {
      const actor = await guard(req, 'incidents.write', { type: 'incident', clientId: req.body.clientId });
      return reply.status(201).send(await view(await incidents.open(actor, req.body)));
    },
  );
}

/** One ticket: read it with its timeline, and the actions on it (assign, comment, resolve…). */
function incidentRoutes(app: App, deps: IncidentsRoutesDeps): void {
  const { incidents } = deps;
  const { view, authorised } = incidentTools(deps);
  app.get(
    '/api/v1/incidents/:id',
    {
      schema: {
        params: IdParams,
        response: {
          200: IncidentDetail,
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const { inc } = await authorised(req, req.params.id, 'incidents.read');
      const timeline = (await incidents.timeline(inc.id)).map(({ incidentId: _i, ...e }) => e);
      // These ids are people `assign` accepted for this ticket's client (its members): naming them tells the reader
      // nothing the assignee field would not.
      const names: Record<string, string> = {};
      if (deps.userName) {
        const ids = new Set<string>();
        for (const e of timeline)
          for (const k of ['to', 'from'] as const) {
            const v = e.data[k];
            if (typeof v === 'string' && v.startsWith('us_')) ids.add(v);
          }
        for (const id of [...ids].slice(0, 50)) {
          const n = await deps.userName(id);
          if (n !== undefined) names[id] = n;
        }
      }
      return { incident: await view(inc), timeline, names };
    },
  );

  for (const name of INCIDENT_ACTIONS) actionRoute(app, deps, name, ACTIONS[name]);
}

/** `POST /api/v1/incidents/:id/<name>`: the action's body checked by its own schema, the ticket answered. */
function actionRoute<S extends TSchema>(
  app: App,
  deps: IncidentsRoutesDeps,
  name: IncidentAction,
  act: Action<S>,
): void {
  const { view, authorised } = incidentTools(deps);
  app.post(
    `/api/v1/incidents/:id/${name}`,
    { schema: { params: IdParams, body: act.body, response: { 200: IncidentView, ...errorResponses } } },
    async (req) => {
      const { actor } = await authorised(req, req.params.id, 'incidents.write');
      if (name === 'take' && actor.kind !== 'user')
        throw new OutpostError('OUTPOST_E_BAD_REQUEST', { message: 'Only a user can take an incident' });
      return view(await act.run(deps.incidents, actor, req.params.id, req.body));
    },
  );
}

/** The public view of a ticket (with its assignee's name) and the loader that authorises an action on one. */
function incidentTools(deps: IncidentsRoutesDeps) {
  const { incidents, guard } = deps;
  /** The public view with the assignee's name; `names` caches lookups within one request. */
  const view = async (i: Incident, names = new Map<string, Promise<string | undefined>>()) => {
    let assigneeName: string | null = null;
    if (i.assignee && deps.userName) {
      if (!names.has(i.assignee)) names.set(i.assignee, deps.userName(i.assignee));
      assigneeName = (await names.get(i.assignee)) ?? null;
    }
    return { ...incidentView(i), assigneeName };
  };
  /** Loads a ticket and checks the action on its client (the guard audits a refusal; another client's ticket is a 404). */
  const authorised = async (req: FastifyRequest, id: string, action: 'incidents.read' | 'incidents.write') => {
    const inc = await incidents.get(id);
    const actor = actorOf(req);
    if (!inc) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No incident ${id}` });
    await guard(req, action, { type: 'incident', id, clientId: inc.clientId });
    return { inc, actor };
  };
  return { view, authorised };
}
