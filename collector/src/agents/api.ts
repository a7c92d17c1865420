/**
 * The agents concern's response schemas: what its routes answer and what the CLI checks it reads (docs/0013).
 * Imports TypeBox and the shared HTTP schemas only, so the CLI can load it without Fastify or SQLite.
 */
import { Type } from '@sinclair/typebox';
import { NullableString, NullableTime } from '../http/schemas.js';

/** An agent as the API shows it. */
export const AgentView = Type.Object({
  id: Type.String(),
  clientId: Type.String(),
  siteId: Type.String(),
  hostname: Type.String(),
  os: Type.Object({
    platform: Type.String(),
    distro: Type.String(),
    release: Type.String(),
    kernel: Type.String(),
    arch: Type.String(),
  }),
  cpu: Type.Object({ model: Type.String(), cores: Type.Integer() }),
  memoryBytes: Type.Integer(),
  agentVersion: Type.String(),
  status: Type.Union([Type.Literal('online'), Type.Literal('offline'), Type.Literal('revoked')]),
  enrolledAt: Type.Integer(),
  lastSeenAt: NullableTime,
  lastIp: NullableString,
  revokedAt: NullableTime,
  tags: Type.Array(Type.String()),
});

/** An enrollment token as listed (never its secret). */
export const EnrollmentTokenView = Type.Object({
  id: Type.String(),
  clientId: Type.String(),
  siteId: Type.String(),
  note: Type.String(),
  createdBy: Type.String(),
  createdAt: Type.Integer(),
  expiresAt: Type.Integer(),
  maxUses: Type.Integer(),
  uses: Type.Integer(),
  revokedAt: NullableTime,
  status: Type.String(),
});

/** A page of agents and the count of all that match. */
export const AgentList = Type.Object({ agents: Type.Array(AgentView), total: Type.Integer() });

/** An agent's event history page. */
export const AgentEvents = Type.Object({
  events: Type.Array(
    Type.Object({
      seq: Type.Integer(),
      time: Type.Integer(),
      kind: Type.String(),
      data: Type.Record(Type.String(), Type.Unknown()),
      receivedAt: Type.Integer(),
    }),
  ),
  total: Type.Integer(),
  distinctSeq: Type.Integer(),
});

/** A created enrollment token: its secret, shown once, and its record. */
export const CreatedEnrollmentToken = Type.Object({ token: Type.String(), info: EnrollmentTokenView });

/** The enrollment tokens of a scope. */
export const EnrollmentTokenList = Type.Object({ tokens: Type.Array(EnrollmentTokenView) });
