/**
 * The metrics concern's response schemas: what its routes answer and what the CLI checks it reads (docs/0013).
 * Imports TypeBox only, so the CLI can load it without Fastify or SQLite.
 */
import { Type } from '@sinclair/typebox';

const Point = Type.Object({
  t: Type.Integer(),
  avg: Type.Number(),
  min: Type.Number(),
  max: Type.Number(),
  n: Type.Integer(),
});
/** An agent's metric series over a period, rolled up to one resolution. */
export const SeriesResponse = Type.Object({
  agentId: Type.String(),
  from: Type.Integer(),
  to: Type.Integer(),
  resolution: Type.String(),
  resolutionMs: Type.Integer(),
  series: Type.Array(
    Type.Object({
      metric: Type.String(),
      points: Type.Array(Point),
      last: Type.Union([Type.Object({ t: Type.Integer(), value: Type.Number() }), Type.Null()]),
      min: Type.Union([Type.Number(), Type.Null()]),
      max: Type.Union([Type.Number(), Type.Null()]),
    }),
  ),
});
