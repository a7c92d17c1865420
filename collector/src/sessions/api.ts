/**
 * The sessions concern's response schemas: what its routes answer and what the CLI checks it reads (docs/0013).
 * Imports TypeBox and the shared HTTP schemas only, so the CLI can load it without Fastify or SQLite.
 */
import { Type } from '@sinclair/typebox';
import { NullableString, NullableTime } from '../http/schemas.js';

/** A remote session (shell, files, join) as listed. */
export const SessionView = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  agentId: Type.String(),
  clientId: Type.String(),
  siteId: Type.String(),
  userId: Type.String(),
  userEmail: Type.String(),
  elevated: Type.Boolean(),
  path: NullableString,
  startedAt: Type.Integer(),
  endedAt: NullableTime,
  exitCode: Type.Union([Type.Integer(), Type.Null()]),
  closeReason: NullableString,
  cols: Type.Union([Type.Integer(), Type.Null()]),
  rows: Type.Union([Type.Integer(), Type.Null()]),
  recordingStatus: Type.String(),
  recordingBytes: Type.Union([Type.Integer(), Type.Null()]),
  bytesOut: Type.Integer(),
  bytesIn: Type.Integer(),
  sha256: NullableString,
  /** ok, refused, failed or ended (by the collector: timeouts, restart…); null while live. */
  outcome: Type.Union([
    Type.Literal('ok'),
    Type.Literal('refused'),
    Type.Literal('failed'),
    Type.Literal('ended'),
    Type.Null(),
  ]),
  /** The code of a refusal, failure or end (`OUTPOST_E_…`); null when ok. */
  outcomeCode: NullableString,
  /** The collector node holding the session (null: recorded before nodes were); optional for older collectors. */
  node: Type.Optional(NullableString),
  live: Type.Boolean(),
});

/** A page of sessions. */
export const SessionList = Type.Object({ sessions: Type.Array(SessionView) });
