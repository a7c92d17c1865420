/**
 * `/api/v1/detection/policies`: list, show, add, change and remove detection policies (docs/0003-detection.md,
 * "Policies in the database"). Reading needs `detection.read`, writing `detection.manage` (admins), both on the
 * policy's client (the collector default is global). Every write is audited, refused ones included; a policy of a
 * client the caller cannot see answers as an unknown id does.
 */

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { OutpostError } from '@outpost/shared';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { AuditLog } from '../audit/index.js';
import { type Action, actorOf, actorRef, can, type Guard } from '../auth/index.js';
import { errorResponses } from '../http/schemas.js';
import type { App } from '../http/types.js';
import type { PolicyAdmin, PolicyEntry } from './policy-admin.js';
import { PolicyList, PolicyRemoved, PolicyView } from './policy-api.js';

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 160 }) });
/**
 * The body is one policy document. Its fields are checked by the policy validator, not by the route schema: that one
 * names every wrong field in words (`/thresholds/0/value: Expected number`) and lists a check's allowed kinds once.
 */
const PolicyBody = Type.Object(
  {},
  { additionalProperties: true, description: 'One detection policy (docs/0003-detection.md)' },
);

/** Dependencies of the policy routes. */
export interface PolicyRouteDeps {
  admin: PolicyAdmin;
  guard: Guard;
  audit: AuditLog;
}

/** The policy routes plugin. */
export function policyRoutes(deps: PolicyRouteDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    policyReadRoutes(app, deps);
    policyWriteRoutes(app, deps);
  };
}

/** Detection policies the caller may see: list and read. */
function policyReadRoutes(app: App, deps: PolicyRouteDeps): void {
  const { admin, guard } = deps;
  const { visible, notFound } = policyTools(deps);
  app.get(
    '/api/v1/detection/policies',
    { schema: { response: { 200: PolicyList, ...errorResponses } } },
    async (req) => {
      const scope = await guard.scope(req, 'detection.read', 'detection_policy');
      const all = await admin.entries();
      return {
        policies: scope ? all.filter((e) => e.clientId === null || scope.includes(e.clientId)) : all,
      };
    },
  );

  app.get(
    '/api/v1/detection/policies/:id',
    { schema: { params: IdParams, response: { 200: PolicyView, ...errorResponses } } },
    async (req) => {
      const e = await admin.entry(req.params.id);
      if (!e || !visible(req, e)) throw notFound(req.params.id);
      await guard(req, 'detection.read', { type: 'detection_policy', id: e.id, clientId: e.clientId });
      return e;
    },
  );
}

/** Detection policy writes, each authorised on its client and audited: create, replace, delete. */
function policyWriteRoutes(app: App, deps: PolicyRouteDeps): void {
  const { admin } = deps;
  const { visible, notFound, authorise, record, audited } = policyTools(deps);
  app.post(
    '/api/v1/detection/policies',
    { schema: { body: PolicyBody, response: { 201: PolicyView, ...errorResponses } } },
    async (req, reply) => {
      const doc: unknown = req.body;
      // Who owns what the body names comes first: a client or site the caller cannot see does not exist for them,
      // and only then does a non-admin hear "forbidden" or an admin hear about a wrong field.
      const owner = await admin.owner(doc);
      const missing = () => new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No ${owner.named}` });
      if (owner.clientId === undefined) throw missing();
      const actor = await authorise(req, 'detection.manage', owner.clientId, missing);
      const added = await audited(req, 'detection.policy.add', { clientId: owner.clientId }, async () =>
        admin.add(await admin.check(doc), doc, actorRef(actor).name),
      );
      await record(req, 'detection.policy.add', 'success', 'OUTPOST_I_POLICY_ADDED', added, {
        scope: added.scope,
      });
      return reply.status(201).send(added);
    },
  );

  app.put(
    '/api/v1/detection/policies/:id',
    { schema: { params: IdParams, body: PolicyBody, response: { 200: PolicyView, ...errorResponses } } },
    async (req) => {
      const e = await admin.entry(req.params.id);
      if (!e || !visible(req, e)) throw notFound(req.params.id);
      const actor = await authorise(req, 'detection.manage', e.clientId, () => notFound(req.params.id));
      return audited(req, 'detection.policy.change', e, async () => {
        const row = admin.storedOrThrow(req.params.id, e);
        // A document without a scope keeps the policy's own.
        const body = { ...(req.body as Record<string, unknown>) };
        if (body.clientId === undefined && body.siteId === undefined) {
          if (row.siteId) body.siteId = row.siteId;
          else if (row.clientId) body.clientId = row.clientId;
        }
        const changed = await admin.replace(row, await admin.check(body), body, actorRef(actor).name);
        await record(req, 'detection.policy.change', 'success', 'OUTPOST_I_POLICY_CHANGED', changed, {
          scope: changed.scope,
        });
        return changed;
      });
    },
  );

  app.delete(
    '/api/v1/detection/policies/:id',
    {
      schema: {
        params: IdParams,
        response: { 200: PolicyRemoved, ...errorResponses },
      },
    },
    async (req) => {
      const e = await admin.entry(req.params.id);
      if (!e || !visible(req, e)) throw notFound(req.params.id);
      const actor = await authorise(req, 'detection.manage', e.clientId, () => notFound(req.params.id));
      await audited(req, 'detection.policy.remove', e, async () => {
        const row = admin.storedOrThrow(req.params.id, e);
        await admin.remove(row, actorRef(actor).name);
        await record(req, 'detection.policy.remove', 'success', 'OUTPOST_I_POLICY_REMOVED', e, { scope: e.scope });
      });
      return { removed: e.id, scope: e.scope };
    },
  );
}

/** For the CLI: the entry type the routes answer. */
export type { PolicyEntry };

/** Visibility, authorisation and auditing of policy routes, bound to the routes' dependencies. */
function policyTools(deps: PolicyRouteDeps) {
  const { guard, audit } = deps;

  /** The actor may see the policy's client at all (else the policy does not exist for them). */
  const visible = (req: FastifyRequest, e: { clientId: string | null }) =>
    e.clientId === null || can(actorOf(req), 'detection.read', e.clientId);
  const notFound = (id: string) => new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No detection policy ${id}` });

  /** Authorises a write on a client's policies; a client the actor cannot see at all answers as an unknown one. */
  const authorise = async (req: FastifyRequest, action: Action, clientId: string | null, missing: () => Error) => {
    if (clientId !== null && !can(actorOf(req), 'detection.read', clientId)) {
      await guard(req, action, { type: 'detection_policy', clientId }).catch(() => undefined); // audits the refusal
      throw missing();
    }
    return guard(req, action, { type: 'detection_policy', clientId });
  };

  const record = async (
    req: FastifyRequest,
    type: string,
    result: 'success' | 'failure',
    code: string,
    e: { id?: string; clientId: string | null },
    details?: Record<string, unknown>,
  ) =>
    audit.record({
      type,
      code,
      result,
      actor: actorRef(actorOf(req)),
      clientId: e.clientId,
      agentId: null,
      resource: `detection_policy${e.id ? `:${e.id}` : ''}`,
      remoteIp: req.ip,
      ...(details ? { details } : {}),
    });

  /** Runs a write, auditing a coded failure after authorisation as well as the success. */
  const audited = async <T>(
    req: FastifyRequest,
    type: string,
    e: { id?: string; clientId: string | null },
    fn: () => Promise<T>,
  ): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      const code = err instanceof OutpostError ? err.code : 'OUTPOST_E_INTERNAL';
      if (code !== 'OUTPOST_E_FORBIDDEN') await record(req, type, 'failure', code, e);
      throw err;
    }
  };

  return { visible, notFound, authorise, record, audited };
}
