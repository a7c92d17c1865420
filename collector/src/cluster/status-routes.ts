/**
 * `GET /api/v1/cluster`: the operator's view of a deployment (docs/0017-nodes.md, "Operator view") — which nodes this
 * node hears, how many agents each holds, and which node holds each lease of once-only work, with its epoch and
 * expiry by the database's clock. Global and read-only: `metrics.read` on every client (a role bound to all
 * clients), like `/metrics`.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Static } from '@sinclair/typebox';
import type { Guard } from '../auth/index.js';
import { errorResponses } from '../http/schemas.js';
import type { LeaseRow } from '../leases/index.js';
import type { PresenceView } from './presence.js';
import { ClusterStatus } from './status-api.js';

/** What the view reads, each from the concern that owns it. */
export interface ClusterStatusDeps {
  guard: Guard;
  node: string;
  deployment: string;
  clustered: boolean;
  storage: 'sqlite' | 'postgres';
  presence: PresenceView;
  /** Agents with a live socket on this node. */
  localAgents(): number;
  leases(): Promise<LeaseRow[]>;
  now(): number;
}

/** The view, built from presence and the lease rows. */
export async function clusterStatus(d: Omit<ClusterStatusDeps, 'guard'>): Promise<Static<typeof ClusterStatus>> {
  const now = d.now();
  const others = d.presence
    .nodes()
    .filter((n) => n.node !== d.node)
    .map((n) => ({ node: n.node, self: false, agents: n.agents, lastHeardMsAgo: Math.max(0, now - n.lastSeen) }));
  const nodes = [{ node: d.node, self: true, agents: d.localAgents(), lastHeardMsAgo: 0 }, ...others].sort((a, b) =>
    a.node.localeCompare(b.node),
  );
  const leases = (await d.leases()).map((l) => ({
    name: l.name,
    holder: l.holder,
    epoch: Number(l.epoch),
    held: Number(l.expiresAt) > Number(l.now),
    expiresInMs: Number(l.expiresAt) - Number(l.now),
    heldForMs: Math.max(0, Number(l.now) - Number(l.acquiredAt)),
  }));
  return { node: d.node, deployment: d.deployment, clustered: d.clustered, storage: d.storage, nodes, leases };
}

/** The route plugin. */
export function clusterStatusRoutes(deps: ClusterStatusDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/api/v1/cluster', { schema: { response: { 200: ClusterStatus, ...errorResponses } } }, async (req) => {
      await deps.guard(req, 'metrics.read', { type: 'cluster', clientId: null });
      return clusterStatus(deps);
    });
  };
}
