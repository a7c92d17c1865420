/**
 * What `GET /api/v1/cluster` answers (docs/0017-nodes.md, "Operator view"): the nodes this node hears on the bus and
 * the agents each holds, and who holds each lease of once-only work. Imports TypeBox only, so the CLI reads it
 * without loading Fastify or SQLite.
 */
import { Type } from '@sinclair/typebox';

/** One collector node as the answering node sees it. */
export const ClusterNodeView = Type.Object({
  node: Type.String(),
  /** The node answering this request. */
  self: Type.Boolean(),
  /** Agents with a live socket on that node (this node's own count; another's as heard through presence). */
  agents: Type.Integer({ minimum: 0 }),
  /** Milliseconds since that node was last heard (0 for the answering node). */
  lastHeardMsAgo: Type.Integer({ minimum: 0 }),
});

/** One lease row, its instants turned into durations by the database's clock. */
export const LeaseView = Type.Object({
  name: Type.String(),
  holder: Type.String(),
  epoch: Type.Integer({ minimum: 1 }),
  /** Whether the holder's lease is still current: false once it expired or was released (anyone may take it). */
  held: Type.Boolean(),
  /** Milliseconds until it expires (negative: expired that long ago). */
  expiresInMs: Type.Integer(),
  /** Milliseconds since this holder took it. */
  heldForMs: Type.Integer({ minimum: 0 }),
});

/** The deployment as one node sees it. */
export const ClusterStatus = Type.Object({
  node: Type.String(),
  deployment: Type.String(),
  /** False for a single `outpost serve` without a `cluster` section. */
  clustered: Type.Boolean(),
  storage: Type.Union([Type.Literal('sqlite'), Type.Literal('postgres')]),
  nodes: Type.Array(ClusterNodeView),
  leases: Type.Array(LeaseView),
});
