/**
 * The HTTP face of detection (the engine itself never sees fastify): show the policies in force, reload the policy
 * file. A reload that fails keeps the policies in force and answers the coded reason.
 */

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { OutpostError } from '@outpost/shared';
import type { AuditLog } from '../audit/index.js';
import { actorRef, type Guard } from '../auth/index.js';
import { errorResponses } from '../http/schemas.js';
import { ActivePoliciesView } from './policy-api.js';
import type { DetectionPolicies } from './policy-file.js';

/** Dependencies of the detection routes. */
export interface DetectionRouteDeps {
  policies: DetectionPolicies;
  guard: Guard;
  audit: AuditLog;
}

/** The detection routes plugin. */
export function detectionRoutes(deps: DetectionRouteDeps): FastifyPluginAsyncTypebox {
  const { policies, guard, audit } = deps;
  return async (app) => {
    app.get(
      '/api/v1/detection/policy',
      { schema: { response: { 200: ActivePoliciesView, ...errorResponses } } },
      async (req) => {
        await guard(req, 'detection.read', { type: 'detection_policy', clientId: null });
        return policies.show();
      },
    );
    app.post(
      '/api/v1/detection/policy/reload',
      { schema: { response: { 200: ActivePoliciesView, ...errorResponses } } },
      async (req) => {
        const actor = await guard(req, 'detection.manage', { type: 'detection_policy', clientId: null });
        const base = {
          type: 'detection.policy.reload',
          actor: actorRef(actor),
          clientId: null,
          agentId: null,
          resource: 'detection_policy',
          remoteIp: req.ip,
        };
        try {
          const shown = policies.reload();
          await audit.record({ ...base, code: 'OUTPOST_I_POLICY_RELOADED', result: 'success' });
          return shown;
        } catch (err) {
          const code = err instanceof OutpostError ? err.code : 'OUTPOST_E_INTERNAL';
          await audit.record({ ...base, code, result: 'failure' });
          throw err;
        }
      },
    );
  };
}
