/**
 * The audit concern's response schemas: what its routes answer and what the CLI checks it reads (docs/0013).
 * Imports TypeBox and the shared HTTP schemas only, so the CLI can load it without Fastify or SQLite.
 */
import { Type } from '@sinclair/typebox';
import { NullableString } from '../http/schemas.js';

/** One audit event as the API shows it. */
export const AuditEventView = Type.Object({
  index: Type.Integer(),
  time: Type.Integer(),
  type: Type.String(),
  code: Type.String(),
  result: Type.String(),
  actor: Type.Object({ kind: Type.String(), id: NullableString, name: NullableString }),
  clientId: NullableString,
  agentId: NullableString,
  sessionId: NullableString,
  resource: NullableString,
  remoteIp: NullableString,
  details: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
});

/** A page of audit events. */
export const AuditEventList = Type.Object({ events: Type.Array(AuditEventView) });
